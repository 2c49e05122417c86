#!/usr/bin/env bash
# Build the selftests (base iommu suite and ours) as static binaries against the built kernel's headers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$BUILD/usr/include/linux" ] || die "no kernel headers in $BUILD/usr/include: run 'make kernel' first"
out=$BUILD/kselftest
for t in iommu p2p; do
	mkdir -p "$out/$t"
	make -C "$TREE/tools/testing/selftests/$t" -s -j"$JOBS" OUTPUT="$out/$t" \
		KHDR_INCLUDES="-isystem $BUILD/usr/include -include $ROOT/scripts/guest/selftest-compat.h" \
		LDFLAGS=-static CC=gcc
done
say "selftests built in $out"
