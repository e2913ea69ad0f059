#!/bin/sh
# ptx.sh IN.cu OUT.ptx: compiles one kernel file to PTX with $NVCC
# $NVCCFLAGS, then makes the output independent of where the checkout lives:
# nvcc names internal-linkage symbols (anonymous namespaces, statics)
# _INTERNAL_<8 hex digits>_<file> (and anonymous namespaces
# _GLOBAL__N__<8 hex digits>_<file>), the hex digits hashed from the source's
# absolute path; they are replaced by zeros (same length, so the mangled
# names stay well-formed; each module is loaded on its own, so the names
# stay unique where they are used).
set -eu
in=$1
out=$2
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
${NVCC:-nvcc} ${NVCCFLAGS:?} -o "$tmp" "$in"
sed -E 's/(_INTERNAL_|_GLOBAL__N__)[0-9a-f]{8}_/\100000000_/g' "$tmp" > "$out"
