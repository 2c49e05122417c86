#!/usr/bin/env bash
# Build the selftests (base iommu suite and ours) as static binaries against the built kernel's headers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/prepare-tree.sh" >/dev/null
[ -d "$BUILD/usr/include/linux" ] || die "no kernel headers in $BUILD/usr/include: run 'make kernel' first"
out=$BUILD/kselftest
rm -rf "$out"
for t in iommu p2p; do build_selftest "$TREE" "$BUILD" "$t" "$out/$t"; done
say "selftests built in $out"
