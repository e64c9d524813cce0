#!/bin/sh
# The API reference's gate, shown to work on a copy of tapegrad.h: a
# declaration documented the house way (a plain comment above it, or after
# it on its line) passes, and one without a comment fails the build naming
# it.  Runs Doxygen with the project's Doxyfile, only INPUT redirected.
#
# usage: docs_gate.sh DOXYGEN DOXYFILE HEADER
set -eu
doxygen=$1 doxyfile=$2 header=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapegrad-docs-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# header with `decls` inserted before its last #ifdef __cplusplus, the
# closing of its extern "C" block.
with() {
    awk -v decls="$1" 'NR == FNR { if ($0 == "#ifdef __cplusplus") last = FNR; next }
                       FNR == last { print decls } { print }' "$header" "$header" >"$tmp/tapegrad.h"
    grep -q 'tg_probe' "$tmp/tapegrad.h" || fail "could not place the probe in $header"
}
run() {
    { cat "$doxyfile"
      echo "INPUT = $tmp/tapegrad.h"
      echo "USE_MDFILE_AS_MAINPAGE ="
      echo "OUTPUT_DIRECTORY = $tmp/out"
      echo "GENERATE_HTML = NO"
      echo "GENERATE_XML = YES"; } | "$doxygen" - >"$tmp/log" 2>&1
}

with '/* A probe, documented above. */
int tg_probe_above(void);
int tg_probe_after(void);   /* a probe, documented after */'
run || { cat "$tmp/log" >&2; fail "documented declarations were refused"; }
[ ! -s "$tmp/log" ] || { cat "$tmp/log" >&2; fail "documented declarations gave warnings"; }

with 'int tg_probe_bare(void);'
if run; then
    cat "$tmp/log" >&2
    fail "an undocumented declaration passed"
fi
grep -q 'tg_probe_bare.*not documented' "$tmp/log" || { cat "$tmp/log" >&2; fail "the failure does not name tg_probe_bare"; }
echo "documented declarations pass; an undocumented one fails the docs build, named"
