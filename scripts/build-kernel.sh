#!/usr/bin/env bash
# Configure (tinyconfig + configs/ fragments) and build the kernel, headers and selftests out of tree.
# FLAVOR=debug (default: base + debug fragments), FLAVOR=fast (base only),
# FLAVOR=compat (base with iommufd's type1 compatible container instead of
# vfio's container and type1 driver) or FLAVOR=stock (the unpatched base
# kernel, base fragment without our options, and iommufd's compatible
# container as in FLAVOR=compat: one control kernel for every VMM of
# make vmm-test, the iommufd ones and the legacy container one).
# FLAVOR=upstream: Debian's linux-source-7.3, unpatched, the peer of
# make bench (scripts/build-upstream.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$FLAVOR" = upstream ] && exec "$ROOT/scripts/build-upstream.sh"

FLAVOR=$([ "$FLAVOR" = stock ] && echo fast || echo "$FLAVOR") "$ROOT/scripts/prepare-tree.sh"

mkdir -p "$BUILD"
case "$FLAVOR" in
debug) frags=("$ROOT/configs/base.config" "$ROOT/configs/debug.config") ;;
fast) frags=("$ROOT/configs/base.config") ;;
compat)
	# iommufd's type1 compatible container replaces vfio's container
	grep -vE 'CONFIG_VFIO_CONTAINER|CONFIG_VFIO_IOMMU_TYPE1' "$ROOT/configs/base.config" > "$BUILD/compat-base.config"
	frags=("$BUILD/compat-base.config" "$ROOT/configs/compat.config")
	;;
stock)
	if [ ! -e "$TREE/.git" ]; then
		git -C "$WORK/linux" worktree prune
		git -C "$WORK/linux" worktree add -q --detach "$TREE" base
	fi
	git -C "$TREE" checkout -q --detach -f base
	grep -vE 'CONFIG_VFIO_PCI_DMABUF|CONFIG_TEST_P2P_IMPORTER|CONFIG_VFIO_CONTAINER|CONFIG_VFIO_IOMMU_TYPE1' \
		"$ROOT/configs/base.config" > "$BUILD/stock.config"
	frags=("$BUILD/stock.config" "$ROOT/configs/compat.config")
	;;
*) die "unknown FLAVOR=$FLAVOR (debug, fast, compat, stock or upstream)" ;;
esac
say "flavor $FLAVOR: $BUILD"

# Regenerate .config only when a fragment changed.
kconfig_apply "$(config_id "${frags[@]}")" "${frags[@]}"

build_lock
t0=$(date +%s)
# build-kernel.sh TARGET...: build only these kbuild targets (objects,
# directories), not the kernel.
if [ "$#" -gt 0 ]; then
	kmake "$@"
	say "built in $(($(date +%s) - t0)) s: $*"
	exit 0
fi
# What was linked, for make series-check's quick mode: the source id, the
# config and the number of warnings of this build.
rm -f "$BUILD/.p2p-built"
{ kmake bzImage 2>&1 1>&3 | tee "$BUILD/.p2p-build.err" >&2; } 3>&1
kmake headers >/dev/null
[ "$FLAVOR" = stock ] ||
	echo "source $(source_id) config $(cat "$BUILD/.p2p-config-id") warnings $(grep -ci 'warning:' "$BUILD/.p2p-build.err" || true)" > "$BUILD/.p2p-built"
say "kernel built in $(($(date +%s) - t0)) s: $BUILD/arch/x86/boot/bzImage"
