#!/bin/sh
# The two packages as a program outside this tree sees them: install the
# build into a scratch DESTDIR, build installed_core.c (tapegrad.h and
# tensor.h only) with `pkg-config tapegrad` and installed_nn.c with
# `pkg-config tapegrad-nn`, run both, and check that the first needs
# neither zlib nor libtapegrad-nn, directly or through libtapegrad.
#
# usage: installed.sh MESON BUILD_DIR SOURCE_DIR CC [CFLAGS...]
# (CFLAGS: what a sanitized build's libraries need its programs to have.)
set -eu
meson=$1 build=$2 src=$3 cc=$4
shift 4
for tool in pkg-config readelf ldd; do
    command -v "$tool" >/dev/null 2>&1 || { echo "skipping: no $tool"; exit 77; }
done
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapegrad-installed-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "meson install"; }

# The .pc files name the final prefix; the sysroot maps it into DESTDIR.
for pc in tapegrad tapegrad-nn; do
    found=$(find "$root" -name "$pc.pc")
    [ -n "$found" ] || fail "$pc.pc was not installed"
done
pcdir=$(dirname "$(find "$root" -name tapegrad.pc)")
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"

# shellcheck disable=SC2046 # pkg-config's words are meant to split
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror "$@" -o "$tmp/core" "$src/tests/nn/installed_core.c" $(pkg-config --cflags --libs tapegrad) ||
    fail "a program on tapegrad.h and tensor.h does not build with pkg-config tapegrad"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror "$@" -o "$tmp/nn" "$src/tests/nn/installed_nn.c" $(pkg-config --cflags --libs tapegrad-nn) ||
    fail "a program on nn.h does not build with pkg-config tapegrad-nn"

out=$(LD_LIBRARY_PATH="$libdir" "$tmp/core") || fail "installed_core exits $?"
[ "$out" = "loss 3.5 dW 4 0 6 0" ] || fail "installed_core printed '$out'"
LD_LIBRARY_PATH="$libdir" "$tmp/nn" >/dev/null || fail "installed_nn failed"

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
needed "$tmp/core" | grep -qx 'libtapegrad\.so\.[0-9]*' || fail "installed_core does not link libtapegrad"
needed "$tmp/nn" | grep -qx 'libtapegrad-nn\.so\.[0-9]*' || fail "installed_nn does not link libtapegrad-nn"
closure=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/core")
if echo "$closure" | grep -Eq 'libz\.so|libtapegrad-nn'; then
    echo "$closure" >&2
    fail "a program on tapegrad alone loads zlib or the nn library"
fi
LD_LIBRARY_PATH="$libdir" ldd "$tmp/nn" | grep -q 'libz\.so' ||
    fail "the nn program does not load zlib: the check above proves nothing"
echo "tapegrad.pc and tapegrad-nn.pc: both programs build and run; tapegrad alone needs no zlib"
