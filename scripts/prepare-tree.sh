#!/usr/bin/env bash
# Unpack the base kernel as a git tree, apply patches/*.patch in order, copy the overlay over it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK"

# 1. The base source tarball: given by BASE_TARBALL, or Debian's package.
if [ -z "$BASE_TARBALL" ]; then
	BASE_TARBALL=/usr/src/$BASE_PKG.tar.xz
	if [ ! -f "$BASE_TARBALL" ]; then
		"$ROOT/scripts/setup-host.sh"
		say "installing $BASE_PKG"
		if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
		install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$BASE_PKG" >/dev/null; }
		# Package lists may be stale or missing on a new machine: refresh once.
		install || { $SUDO apt-get update -qq && install; } || die "cannot install $BASE_PKG"
	fi
	pkgver=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || true)
else
	# base-fetch.sh keeps the Debian version next to the tarball
	pkgver="tarball $(basename "$BASE_TARBALL")"
	[ -f "$(dirname "$BASE_TARBALL")/version" ] && pkgver=$(cut -d' ' -f1 "$(dirname "$BASE_TARBALL")/version")
fi
[ -f "$BASE_TARBALL" ] || die "base tarball $BASE_TARBALL not found"

base_id="$(basename "$BASE_TARBALL") $(stat -c '%s %Y' "$BASE_TARBALL")"
if [ ! -d "$TREE/.git" ] || [ "$(cat "$TREE/.p2p-base-id" 2>/dev/null)" != "$base_id" ]; then
	say "unpacking $BASE_TARBALL into $TREE"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	tar -xf "$BASE_TARBALL" -C "$TREE" --strip-components=1
	(
		cd "$TREE"
		v=$(make -s kernelversion)
		echo "$v (Debian $BASE_PKG $pkgver)" > .p2p-base-version
		printf '/.p2p-*\n' >> .git-info-exclude.tmp
		git init -q
		git config user.name "P2P Team"
		git config user.email "p2p@example.org"
		git config core.autocrlf false
		git config gc.auto 0
		mv .git-info-exclude.tmp .git/info/exclude
		git add -A -f .
		git commit -q -m "base: $(cat .p2p-base-version)"
		git tag base
		echo "$base_id" > .p2p-base-id
	)
fi
say "base kernel: $(base_version)"

# 2. Patches: re-applied from the base commit whenever the series changes.
cd "$TREE"
shopt -s nullglob
# A base that needs a variant of a hook patch has it in
# series/base/VERSION/, under the name of the patch it replaces.
basever=$(make -s kernelversion)
patches=()
for p in "$ROOT"/patches/*.patch; do
	v=$ROOT/series/base/$basever/${p##*/}
	[ -f "$v" ] && p=$v
	patches+=("$p")
done
series_id=$(cat /dev/null "${patches[@]}" | sha256sum | cut -c1-16)
if [ "$(cat .p2p-series-id 2>/dev/null)" != "$series_id" ]; then
	git am --abort >/dev/null 2>&1 || true
	git reset -q --hard base
	for p in "${patches[@]}"; do
		if ! git am -q --keep-cr "$p" >/dev/null 2>&1; then
			git am --abort >/dev/null 2>&1 || true
			printf '[rig] ERROR: patch %s does not apply:\n' "$(basename "$p")" >&2
			git apply --check --verbose "$p" 2>&1 | grep -E 'error|Checking|Hunk|while searching' >&2 || true
			rm -f .p2p-series-id
			exit 1
		fi
	done
	echo "$series_id" > .p2p-series-id
	say "applied ${#patches[@]} patch(es)"
else
	say "patches up to date (${#patches[@]})"
fi

# 3. Overlay: copy changed files only (content compare), so incremental builds stay small.
new_manifest=$(mktemp)
for d in $OVERLAY_DIRS; do
	[ -d "$ROOT/$d" ] || continue
	(cd "$ROOT" && find "$d" -type f) >> "$new_manifest"
	rsync -rcp "$ROOT/$d/" "$TREE/$d/"
done
sort -o "$new_manifest" "$new_manifest"
if [ -f .p2p-overlay ]; then
	comm -23 .p2p-overlay "$new_manifest" | while read -r f; do
		if git cat-file -e "HEAD:$f" 2>/dev/null; then git checkout -q HEAD -- "$f"; else rm -f "$f"; fi
	done
fi
mv "$new_manifest" .p2p-overlay
say "overlay: $(wc -l < .p2p-overlay) file(s)"
