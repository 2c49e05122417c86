#!/usr/bin/env bash
# Fetch Debian's linux-source-6.12 at a given upstream version with a private apt; print the tarball path.
#
# base-fetch.sh 6.12.N: the newest Debian linux-source-6.12 package whose
# upstream version is 6.12.N, from the Debian suites that carry 6.12
# (bookworm-backports, bookworm-security, trixie, trixie-security).  The
# apt state, the .deb and the extracted source tarball live in the cache
# ($P2P_CACHE, default ~/.cache/p2p-rig/base), never in the repo; the
# system's apt configuration is not touched.  The mirrors are the ones the
# machine already uses for Debian and for Debian security updates.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

want=${1:?usage: base-fetch.sh 6.12.N}
pkg=$BASE_PKG
cache=${P2P_CACHE:-$HOME/.cache/p2p-rig}/base
mkdir -p "$cache"

uris=$(grep -rhE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
	grep -oE 'https?://[^ ]*debian(-security)?/?( |$)' | tr -d ' ' || true)
mirror=$(printf '%s\n' "$uris" | grep -v security | head -n1 || true)
secmirror=$(printf '%s\n' "$uris" | grep security | head -n1 || true)
[ -n "$mirror" ] || die "base-fetch: no Debian mirror in the apt sources"

apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/etc/preferences.d" "$apt/archives/partial"
: > "$apt/status"
{
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror"
	if [ -n "$secmirror" ]; then
		printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security trixie-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$secmirror"
	fi
} > "$apt/etc/debian.sources"
aptopts=(-o "Dir::State=$apt" -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
	-o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
	-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/etc"
	-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
	-o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
	-o "Debug::NoLocking=true" -o "APT::Sandbox::User=root")

# A version already fetched needs no network.
for d in "$cache"/"$want"-*; do
	[ -f "$d/done" ] && { echo "$d/$pkg.tar.xz"; exit 0; }
done

if [ -z "$(find "$apt/lists" -newermt '-1 day' -name '*Packages*' 2>/dev/null | head -1)" ]; then
	say "base: apt update (bookworm-backports, bookworm-security, trixie, trixie-security)" >&2
	apt-get "${aptopts[@]}" -qq update >&2
fi
# madison: "pkg | version | suite/component arch"; take the newest
# Debian revision of the wanted upstream version.
line=$(apt-cache "${aptopts[@]}" madison "$pkg" |
	awk -F' *[|] *' -v v="$want" '{ split($2, a, "-"); if (a[1] == v) { print $2 " " $3; exit } }')
[ -n "$line" ] || die "base-fetch: $pkg $want not found; the mirrors carry: $(apt-cache "${aptopts[@]}" madison "$pkg" | awk -F' *[|] *' '{printf "%s (%s) ", $2, $3}')"
ver=${line%% *}
key="$want-$(echo "$ver" | tr ':~+' '___')"
say "base: $pkg $ver from ${line#* }" >&2
rm -rf "${cache:?}/$key"
mkdir -p "$cache/$key"
(cd "$apt/archives" && apt-get "${aptopts[@]}" -qq download "$pkg=$ver" >&2)
deb=$(ls "$apt/archives/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_"*.deb | head -n1)
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" > "$cache/$key/$pkg.tar.xz"
rm -f "$deb"
echo "$ver ${line#* }" > "$cache/$key/version"
touch "$cache/$key/done"
echo "$cache/$key/$pkg.tar.xz"
