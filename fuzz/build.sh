#!/usr/bin/env bash
# Build the libFuzzer harnesses with clang, ASan and UBSan, compiling the
# library's sources directly (the meson build is left alone).
#
#   fuzz/build.sh [OUT_DIR]        (default: build-hard-fuzz in the repository)
#
# Produces OUT_DIR/fuzz_graph, OUT_DIR/fuzz_idx and OUT_DIR/fuzz_model.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/build-hard-fuzz}"
CC="${CC:-clang}"
mkdir -p "$OUT/obj"

# The library's sources, as lib/meson.build lists them.
mapfile -t SOURCES < <(sed -n '/tapegrad_sources = files(/,/)/p' "$ROOT/lib/meson.build" |
                       grep -o "'[^']*\.c'" | tr -d "'")
[ "${#SOURCES[@]}" -gt 0 ] || { echo "build.sh: no sources found in lib/meson.build" >&2; exit 1; }

BLAS_CFLAGS="$(pkg-config --cflags openblas 2>/dev/null || true)"
BLAS_LIBS="$(pkg-config --libs openblas 2>/dev/null || echo -lblas)"
CFLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer
        -fsanitize=address,undefined -fno-sanitize-recover=undefined
        -Wall -Wextra -I"$ROOT/include" -I"$ROOT/lib" $BLAS_CFLAGS)

OBJS=()
for s in "${SOURCES[@]}"; do
  o="$OUT/obj/${s%.c}.o"
  "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$ROOT/lib/$s" -o "$o"
  OBJS+=("$o")
done

for h in "$ROOT"/fuzz/fuzz_*.c; do
  name="$(basename "${h%.c}")"
  "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer "$h" "${OBJS[@]}" -o "$OUT/$name" -lz $BLAS_LIBS -lm
done
echo "fuzzers in $OUT: $(cd "$OUT" && ls fuzz_* | tr '\n' ' ')"
