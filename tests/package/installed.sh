#!/bin/sh
# Install the build into a scratch prefix (DESTDIR) and build against it
# with pkg-config only, as a program outside the tree would:
#   c:   the README's first program, run, its output compared
#        with the README's;
#   c++: cxx_program.cpp on every public header, as C++11 with
#        -pedantic-errors (g++, and clang++ when present).
# The libraries are found at run time by the rpath the README suggests.
# Skipped (77) when the compiler or pkg-config is missing.
#
# usage: installed.sh MESON BUILD_DIR SOURCE_DIR c|c++ COMPILER [FLAGS...]
# (FLAGS: what a sanitized build's libraries need its programs to have.)
set -eu
meson=$1 build=$2 src=$3 lang=$4 compiler=$5
shift 5
for tool in pkg-config "$compiler"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "skipping: no $tool"; exit 77; }
done
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapegrad-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install"; }
pc=$(find "$root" -name tapegrad.pc)
[ -n "$pc" ] || fail "tapegrad.pc was not installed"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$root"
libdir=$(pkg-config --variable=libdir tapegrad)   # already under $root

if [ "$lang" = c ]; then
    # The README's first program: the first ```c block after "## A first
    # program", and the ```text block after it.
    awk '/^## A first program/ { on = 1 } on && /^```c$/ { code = 1; next }
         code && /^```$/ { exit } code' "$src/README.md" >"$tmp/first.c"
    awk '/^## A first program/ { on = 1 } on && /^```text$/ { text = 1; next }
         text && /^```$/ { exit } text && !/^\$ / { print }' "$src/README.md" >"$tmp/expected"
    [ -s "$tmp/first.c" ] && [ -s "$tmp/expected" ] || fail "no first program and output in README.md"
    # shellcheck disable=SC2046 # pkg-config's words are meant to split
    "$compiler" -std=c11 -Wall -Wextra -Wpedantic -Werror "$@" -o "$tmp/first" "$tmp/first.c" \
        $(pkg-config --cflags --libs tapegrad) -Wl,-rpath,"$libdir" ||
        fail "the README's first program does not build with pkg-config tapegrad"
    "$tmp/first" >"$tmp/got" || fail "the README's first program exits $?"
    diff -u "$tmp/expected" "$tmp/got" || fail "the README's first program prints something else"
    echo "the README's first program builds with pkg-config tapegrad alone and prints what the README shows"
else
    # shellcheck disable=SC2046
    "$compiler" -std=c++11 -pedantic-errors -Wall -Wextra -Werror "$@" -o "$tmp/cxx" \
        "$src/tests/package/cxx_program.cpp" $(pkg-config --cflags --libs tapegrad-nn) \
        -Wl,-rpath,"$libdir" || fail "the public headers do not build as C++11 with $compiler"
    out=$("$tmp/cxx") || fail "the C++ program exits $?: $out"
    echo "$out" | grep -q ' ok price 220 grad 2.2$' || fail "the C++ program printed '$out'"
    echo "$compiler -std=c++11 -pedantic-errors: every public header compiles, links and runs ($out)"
fi
