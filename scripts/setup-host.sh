#!/usr/bin/env bash
# Install the host packages the rig needs and enable bookworm-backports from the configured mirror.
set -euo pipefail

PKGS=(build-essential flex bison bc libelf-dev libssl-dev cpio dwarves ccache
      busybox-static qemu-system-x86 rsync python3 perl zstd xz-utils kmod
      sparse git libdrm-dev pkg-config)

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null; then echo sudo; else
			echo "setup-host: must run as root (or with sudo)" >&2; exit 1
		fi
	fi
}
SUDO=$(need_root)

# Find the URI of the mirror that already serves the bookworm suite, in either
# the deb822 (*.sources) or the one-line (*.list) format. No host is hard-coded.
mirror_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN{RS=""; FS="\n"}
		     { uri=""; suites=""
		       for (i = 1; i <= NF; i++) {
			 if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); uri=$i }
			 if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=$i }
		       }
		       n = split(suites, s, /[ \t]+/)
		       for (j = 1; j <= n; j++) if (s[j] == "bookworm") { split(uri, u, /[ \t]+/); print u[1]; exit }
		     }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == "bookworm") print $i; break } }' "$f"
	done
}

BP=/etc/apt/sources.list.d/p2p-rig-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
	uri=$(mirror_uri | head -n1)
	if [ -z "$uri" ]; then
		echo "setup-host: no apt source serves 'bookworm'; cannot derive a mirror for bookworm-backports" >&2
		exit 1
	fi
	echo "setup-host: enabling bookworm-backports from the configured bookworm mirror"
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" | $SUDO tee "$BP" >/dev/null
	$SUDO apt-get update -qq
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "setup-host: installing ${missing[*]}"
	[ -n "$(find /var/lib/apt/lists -name '*backports*Packages*' 2>/dev/null | head -1)" ] || $SUDO apt-get update -qq
	install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
	install || { $SUDO apt-get update -qq && install; }
fi
