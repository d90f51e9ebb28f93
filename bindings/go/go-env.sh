# bindings/go/go-env.sh: sourced by run-tests.sh and bench.sh with the
# install prefix as $1 and the name of the work directory as $2. Checks the
# prefix and Go, sets $prefix, $src (the source tree) and $work (a fixed
# per-user directory: Go's build cache keys include the source directory of
# cgo packages, so a fixed one makes a second run quick; a lock keeps two
# runs apart), copies bindings/go and examples/go there, and sets the
# environment: only the prefix on the search paths (PKG_CONFIG_PATH and an
# rpath), offline (GOPROXY=off), Go's default build cache (a temporary one
# when neither HOME nor XDG_CACHE_HOME is set).
if [ $# -lt 2 ] || [ ! -d "$1" ]; then
    echo "usage: $0 <prefix>   (a jitcore install prefix)" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v go >/dev/null 2>&1; then
    echo "go: not installed (apt-get install golang-go, or scripts/install-deps.sh)" >&2
    exit 1
fi
if [ ! -f "$prefix/lib/pkgconfig/jitcore.pc" ]; then
    echo "go: no $prefix/lib/pkgconfig/jitcore.pc: is jitcore installed there?" >&2
    exit 1
fi
work="${TMPDIR:-/tmp}/$2.$(id -u)"
mkdir -p "$work" || exit 1
if command -v flock >/dev/null 2>&1; then
    exec 9>"$work.lock"
    flock 9
fi
trap 'rm -rf "$work"' EXIT
rm -rf "$work" && mkdir -p "$work/bindings" "$work/examples" || exit 1
cp -r "$src/bindings/go" "$work/bindings/go" && cp -r "$src/examples/go" "$work/examples/go" || exit 1

unset LD_LIBRARY_PATH CGO_CFLAGS CGO_CPPFLAGS PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR GOFLAGS
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export CGO_LDFLAGS="-Wl,-rpath,$prefix/lib"
export CGO_ENABLED=1 GO111MODULE=on GOPROXY=off GOFLAGS=-mod=mod GONOSUMDB='*' GOWORK=off
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
    export GOCACHE="$work/gocache"
fi
if [ -z "${GOPATH:-}" ] && [ -z "${HOME:-}" ]; then
    export GOPATH="$work/gopath"
fi
