#!/usr/bin/env bash
# Fetch QEMU 11.x from Debian trixie-backports with a private apt, unpack its closure into a rootfs (cached by version).
#
# vmm-fetch.sh: prints the rootfs directory on stdout.
# The apt state, the .debs and the unpacked tree live in the cache
# ($P2P_CACHE, default ~/.cache/p2p-rig), never in the repo; the system's apt
# configuration is not touched. The mirror is the one the machine already
# uses for Debian.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cache=${P2P_CACHE:-$HOME/.cache/p2p-rig}/vmm
pkg=${P2P_VMM_PACKAGE:-qemu-system-x86}
suite=trixie-backports
mkdir -p "$cache"

mirror=$(grep -rhE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
	grep -oE 'https?://[^ ]*debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
[ -n "$mirror" ] || die "vmm-fetch: no Debian mirror in the apt sources"

apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/preferences.d"
: > "$apt/status"
printf 'Types: deb\nURIs: %s\nSuites: trixie %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	"$mirror" "$suite" > "$apt/etc/trixie.sources"
aptopts=(-o "Dir::State=$apt" -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
	-o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
	-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/etc"
	-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
	-o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "APT::Install-Recommends=false"
	-o "Debug::NoLocking=true" -o "APT::Sandbox::User=root")

if [ -z "$(find "$apt/lists" -newermt '-1 day' -name '*Packages*' 2>/dev/null | head -1)" ]; then
	say "vmm: apt update (trixie, $suite) from the configured mirror" >&2
	apt-get "${aptopts[@]}" -qq update >&2
fi
ver=$(apt-cache "${aptopts[@]}" madison "$pkg" | awk -v s="$suite" '$0 ~ s {print $3; exit}')
[ -n "$ver" ] || die "vmm-fetch: $pkg not found in $suite"
key=$(echo "$pkg-$ver" | tr ':~+' '___')
root=$cache/$key/root
if [ -f "$cache/$key/done" ]; then
	echo "$root"
	exit 0
fi

say "vmm: downloading the closure of $pkg $ver" >&2
apt-get "${aptopts[@]}" -qq -y -t "$suite" --download-only install "$pkg=$ver" >&2
rm -rf "$cache/$key"
mkdir -p "$root"
n=0
for deb in "$apt"/archives/*.deb; do
	dpkg-deb -x "$deb" "$root"
	n=$((n + 1))
done
# merged /usr: the loader and libraries are found through /lib and /lib64
for d in bin sbin lib lib64; do
	[ -e "$root/$d" ] || ln -s "usr/$d" "$root/$d"
done
ls "$apt"/archives/*.deb | sed 's|.*/||' > "$cache/$key/packages"
touch "$cache/$key/done"
say "vmm: $n packages, $(du -sh "$root" | cut -f1) unpacked in $root" >&2
echo "$root"
