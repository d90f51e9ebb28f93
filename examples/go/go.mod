module jitcore-example-job

go 1.19

require jitcore v0.0.0

// The binding is used from its source folder: no module is downloaded.
replace jitcore => ../../bindings/go
