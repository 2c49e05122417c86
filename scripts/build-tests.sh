#!/usr/bin/env bash
# Build the selftests (base iommu suite and ours) as static binaries against the built kernel's headers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/prepare-tree.sh" >/dev/null
[ -d "$BUILD/usr/include/linux" ] || die "no kernel headers in $BUILD/usr/include: run 'make kernel' first"
out=$BUILD/kselftest
rm -rf "$out"
for t in iommu p2p; do
	mkdir -p "$out/$t"
	make -C "$TREE/tools/testing/selftests/$t" -s -j"$JOBS" OUTPUT="$out/$t" \
		KHDR_INCLUDES="-isystem $BUILD/usr/include -include $TREE/tools/testing/selftests/p2p/compat.h" \
		LDFLAGS=-static CC=gcc
done
say "selftests built in $out"
