#!/usr/bin/env bash
# Fetch one Debian QEMU (11.1, 10.0 or 7.2) with a private apt, unpack its closure into a rootfs (cached by version).
#
# vmm-fetch.sh [11.1|10.0|7.2]: prints the rootfs directory on stdout.
#   11.1  qemu-system-x86 1:11.1.x from trixie-backports (the default)
#   10.0  qemu-system-x86 1:10.0.x from bookworm-backports
#   7.2   qemu-system-x86 1:7.2.x from bookworm
# The apt state, the .debs and the unpacked tree live in the cache
# ($P2P_CACHE, default ~/.cache/p2p-rig), never in the repo; the system's apt
# configuration is not touched. The mirror is the one the machine already
# uses for Debian.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vmm=${1:-11.1}
case "$vmm" in
11.1) dist=trixie suite=trixie-backports ;;
10.0) dist=bookworm suite=bookworm-backports ;;
7.2) dist=bookworm suite=bookworm ;;
*) die "vmm-fetch: unknown QEMU $vmm (11.1, 10.0 or 7.2)" ;;
esac
cache=${P2P_CACHE:-$HOME/.cache/p2p-rig}/vmm
pkg=${P2P_VMM_PACKAGE:-qemu-system-x86}
mkdir -p "$cache"

private_apt "$dist" "$cache"
# The newest $vmm.x of $pkg in $suite (madison lists newest first)
ver=$(apt-cache "${aptopts[@]}" madison "$pkg" |
	awk -F' *[|] *' -v s="$suite/main" -v v="1:$vmm" \
		'index($3, " " s " ") && index($2, v) == 1 {print $2; exit}')
[ -n "$ver" ] || die "vmm-fetch: $pkg $vmm.x not found in $suite"
key=$(echo "$pkg-$ver" | tr ':~+' '___')
root=$cache/$key/root
if [ -f "$cache/$key/done" ]; then
	echo "$root"
	exit 0
fi

say "vmm: downloading the closure of $pkg $ver ($suite)" >&2
rm -rf "${cache:?}/$key"
debs=$cache/$key/debs
mkdir -p "$debs/partial" "$root"
apt-get "${aptopts[@]}" -o "Dir::Cache::archives=$debs" -qq -y -t "$suite" \
	--download-only install "$pkg=$ver" >&2
n=0
for deb in "$debs"/*.deb; do
	dpkg-deb -x "$deb" "$root"
	n=$((n + 1))
done
# Merged /usr: the loader and libraries are found through /lib and /lib64.
# Bookworm's packages still ship real /lib, /lib64, /bin and /sbin
# directories: move what they hold under usr/ and link them there.
for d in bin sbin lib lib64; do
	if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
		mkdir -p "$root/usr/$d"
		cp -a "$root/$d/." "$root/usr/$d/"
		rm -rf "${root:?}/$d"
	fi
	[ -e "$root/$d" ] || ln -s "usr/$d" "$root/$d"
done
[ -L "$root/usr/lib64/ld-linux-x86-64.so.2" ] || [ -f "$root/usr/lib64/ld-linux-x86-64.so.2" ] || die "vmm-fetch: no dynamic loader in $root"
ls "$debs"/*.deb | sed 's|.*/||' > "$cache/$key/packages"
rm -rf "$debs"
touch "$cache/$key/done"
say "vmm: $n packages, $(du -sh "$root" | cut -f1) unpacked in $root" >&2
echo "$root"
