#!/usr/bin/env bash
# Configure (tinyconfig + configs/ fragments) and build the kernel, headers and selftests out of tree.
# FLAVOR=debug (default: base + debug fragments) or FLAVOR=fast (base only).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/prepare-tree.sh"

case "$FLAVOR" in
debug) frags=("$ROOT/configs/base.config" "$ROOT/configs/debug.config") ;;
fast) frags=("$ROOT/configs/base.config") ;;
*) die "unknown FLAVOR=$FLAVOR (debug or fast)" ;;
esac
mkdir -p "$BUILD"
say "flavor $FLAVOR: $BUILD"

# Regenerate .config only when a fragment changed; keep it byte-identical otherwise.
cfg_id=$(cat "${frags[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$BUILD/.p2p-config-id" 2>/dev/null)" != "$cfg_id" ] || [ ! -f "$BUILD/.config" ]; then
	say "configuring: tinyconfig + ${frags[*]##*/}"
	kmake tinyconfig >/dev/null
	(cd "$TREE" && scripts/kconfig/merge_config.sh -m -O "$BUILD" "$BUILD/.config" "${frags[@]}" >/dev/null)
	kmake olddefconfig >/dev/null
	# Every option a fragment asks for must survive olddefconfig.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$BUILD/.config" || { echo "[rig]   wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$BUILD/.config" || echo unset)" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set") k=${line#\# }; k=${k%% *}; grep -q "^$k=y" "$BUILD/.config" && { echo "[rig]   wanted $k off, it is on" >&2; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}")
	[ "$bad" -eq 0 ] || die "config fragments did not apply (see above)"
	echo "$cfg_id" > "$BUILD/.p2p-config-id"
fi

t0=$(date +%s)
kmake bzImage
kmake headers >/dev/null
say "kernel built in $(($(date +%s) - t0)) s: $BUILD/arch/x86/boot/bzImage"
