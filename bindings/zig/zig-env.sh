# bindings/zig/zig-env.sh: sourced by run-tests.sh and bench.sh. Given a
# jitcore prefix in $prefix, sets PKG_CONFIG_PATH to its pkg-config
# directory (and clears the other search paths), and defines `zig`, Zig 0.17
# from PyPI (`ziglang==0.17.1`, run as `python3 -m ziglang`), installing it
# with pip when missing: into python3's environment, or, where that is
# refused (Debian's externally managed python3), into a directory of its own
# (${JITCORE_ZIGLANG_DIR:-~/.cache/jitcore-ziglang-0.17.1}) that PYTHONPATH
# names. Zig's global cache is its default (~/.cache/zig) unless
# ZIG_GLOBAL_CACHE_DIR (Zig's own variable; `zig build` has no flag for it)
# names another.
zig_version=0.17.1

pcdir=$prefix/lib/pkgconfig
[[ -f $pcdir/jitcore.pc ]] || pcdir=$(dirname "$(find "$prefix" -path '*/pkgconfig/jitcore.pc' -print -quit)")
[[ -f $pcdir/jitcore.pc ]] || { echo "bindings/zig: no jitcore.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=$pcdir
unset PKG_CONFIG_LIBDIR LD_LIBRARY_PATH CPATH C_INCLUDE_PATH LIBRARY_PATH ZIG_LOCAL_CACHE_DIR

zig_pip_dir=${JITCORE_ZIGLANG_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jitcore-ziglang-$zig_version}
zig() { python3 -m ziglang "$@"; }
zig_is_017() { [[ $(zig version 2> /dev/null) == 0.17.* ]]; }
if ! zig_is_017 && [[ -d $zig_pip_dir/ziglang ]]; then
  export PYTHONPATH=$zig_pip_dir${PYTHONPATH:+:$PYTHONPATH}
fi
if ! zig_is_017; then
  python3 -m pip --version > /dev/null 2>&1 ||
    { echo "bindings/zig: python3 has no pip (Debian: apt-get install python3-pip)" >&2; exit 1; }
  echo "bindings/zig: installing ziglang==$zig_version with pip" >&2
  if ! pip_out=$(python3 -m pip install --quiet "ziglang==$zig_version" 2>&1) || ! zig_is_017; then
    # Typically PEP 668 (Debian's python3 is externally managed).
    echo "bindings/zig: pip refused ($(grep -m1 -o 'externally-managed-environment' <<< "$pip_out" || echo "see below"));" \
      "installing ziglang==$zig_version into $zig_pip_dir instead" >&2
    grep -q externally-managed-environment <<< "$pip_out" || echo "$pip_out" >&2
    python3 -m pip install --quiet --upgrade --target "$zig_pip_dir" "ziglang==$zig_version" >&2 ||
      { echo "bindings/zig: pip could not install ziglang==$zig_version" >&2; exit 1; }
    export PYTHONPATH=$zig_pip_dir${PYTHONPATH:+:$PYTHONPATH}
  fi
fi
zig_is_017 || { echo "bindings/zig: python3 -m ziglang is Zig '$(zig version 2>&1)', not 0.17" >&2; exit 1; }
true
