#!/usr/bin/env bash
# Build Debian's linux-source-7.3, unpatched, as the benchmarks' peer kernel (FLAVOR=upstream).
#
# The source package is fetched by version with a private apt state from
# the mirror the machine already uses (lib.sh: private_apt), cached in
# ${P2P_CACHE:-~/.cache/p2p-rig}/upstream, unpacked to work/linux-upstream
# and built out of tree in work/build-upstream with tinyconfig +
# configs/base.config (the options 7.3 knows) + configs/upstream.config.
# None of patches/ or the overlay is applied: this is the upstream ABI as
# Debian ships it.
set -euo pipefail
export FLAVOR=upstream
. "$(dirname "$0")/lib.sh"

series=${P2P_UPSTREAM_SERIES:-7.3}
pkg=linux-source-$series
cache=${P2P_CACHE:-$HOME/.cache/p2p-rig}/upstream
mkdir -p "$cache"

private_apt trixie "$cache"
# The newest $pkg in trixie-backports (madison lists newest first)
ver=$(apt-cache "${aptopts[@]}" madison "$pkg" |
	awk -F' *[|] *' 'index($3, " trixie-backports/main ") {print $2; exit}')
[ -n "$ver" ] || die "upstream: $pkg not found in trixie-backports"
key=$(echo "$pkg-$ver" | tr ':~+' '___')
tarball=$cache/$key/$pkg.tar.xz
if [ ! -f "$cache/$key/done" ]; then
	say "upstream: downloading $pkg $ver (trixie-backports)"
	rm -rf "${cache:?}/$key"
	mkdir -p "$cache/$key/deb"
	(cd "$cache/$key/deb" && apt-get "${aptopts[@]}" -qq download "$pkg=$ver")
	dpkg-deb --fsys-tarfile "$cache/$key"/deb/*.deb |
		tar -xf - -O "./usr/src/$pkg.tar.xz" > "$tarball"
	rm -rf "$cache/$key/deb"
	touch "$cache/$key/done"
fi

src_id="$key $(stat -c '%s' "$tarball")"
if [ "$(cat "$TREE/.p2p-base-id" 2>/dev/null)" != "$src_id" ]; then
	say "upstream: unpacking $pkg $ver into $TREE"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	tar -xf "$tarball" -C "$TREE" --strip-components=1
	echo "$(make -s -C "$TREE" kernelversion) (Debian $pkg $ver)" > "$TREE/.p2p-base-version"
	echo "$src_id" > "$TREE/.p2p-base-id"
fi
say "upstream kernel: $(base_version)"

mkdir -p "$BUILD"
# base.config minus what 7.3's Kconfig does not define (our own options)
# and what upstream.config sets itself
syms=$BUILD/kconfig-symbols
find "$TREE" -name 'Kconfig*' -print0 | xargs -0 grep -hoE '^[[:space:]]*(menu)?config [A-Z0-9_]+' |
	awk '{print "CONFIG_" $2}' | sort -u > "$syms"
: > "$BUILD/upstream-base.config"
dropped=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) k=${line%%=*} ;;
	"# CONFIG_"*" is not set") k=${line#\# }; k=${k%% *} ;;
	*) continue ;;
	esac
	grep -qE "^(# )?${k}[= ]" "$ROOT/configs/upstream.config" && continue
	if grep -qxF "$k" "$syms"; then echo "$line" >> "$BUILD/upstream-base.config"; else dropped+=("${k#CONFIG_}"); fi
done < "$ROOT/configs/base.config"
[ ${#dropped[@]} -eq 0 ] || say "upstream: base.config options 7.3 does not have: ${dropped[*]}"
frags=("$BUILD/upstream-base.config" "$ROOT/configs/upstream.config")

kconfig_apply "$( (cat "${frags[@]}"; echo "$src_id") | sha256sum | cut -c1-16)" "${frags[@]}"

build_lock
t0=$(date +%s)
kmake bzImage
say "upstream kernel built in $(($(date +%s) - t0)) s: $BUILD/arch/x86/boot/bzImage"
