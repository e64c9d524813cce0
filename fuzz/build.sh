#!/usr/bin/env bash
# Configure and build the libFuzzer harnesses through meson: clang, ASan and
# UBSan, libFuzzer's coverage in the library (-Dfuzzing=true, see
# fuzz/meson.build).
#
#   fuzz/build.sh [BUILD_DIR]      (default: build-fuzz in the repository)
#
# Produces BUILD_DIR/fuzz/fuzz_graph, fuzz_idx, fuzz_model and fuzz_parse.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/build-fuzz}"

# -O1 with debug information and assertions on, as libFuzzer and ASan advise.
OPTIONS=(-Dfuzzing=true -Doptimization=1 -Ddebug=true -Db_ndebug=false -Db_sanitize=address,undefined -Db_lundef=false)
if [ -f "$OUT/build.ninja" ]; then
  # not setup --reconfigure: it ignores b_ options (meson issue 11732)
  meson configure "$OUT" "${OPTIONS[@]}"
else
  CC="${CC:-clang}" meson setup "$OUT" "$ROOT" "${OPTIONS[@]}"
fi
meson compile -C "$OUT" fuzz/fuzz_graph fuzz/fuzz_idx fuzz/fuzz_model fuzz/fuzz_parse
echo "fuzzers in $OUT/fuzz: fuzz_graph fuzz_idx fuzz_model fuzz_parse"
