module jitcore

go 1.19
