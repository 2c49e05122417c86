#!/usr/bin/env bash
# Export the work as a git format-patch series against the base (out/), then prove it applies with git am.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$ROOT/out
wt=$WORK/series-tree
check=$WORK/series-check
rm -rf "$out" && mkdir -p "$out"
for d in "$wt" "$check"; do
	git -C "$TREE" worktree remove --force "$d" >/dev/null 2>&1 || rm -rf "$d"
done
git -C "$TREE" worktree prune
git -C "$TREE" worktree add -q --detach "$wt" base

shopt -s nullglob
cd "$ROOT"
files=$(git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS)
covered=""

# commit_area AREA MSG: one commit with the overlay files under AREA.
commit_area() {
	local area=$1 msg=$2 mine f
	mine=$(printf '%s\n' $files | grep -E "^$area(/|$)" || true)
	[ -n "$mine" ] || return 0
	[ -f "$ROOT/series/$msg" ] || die "no commit message series/$msg for overlay area $area"
	for f in $mine; do
		mkdir -p "$wt/$(dirname "$f")"
		cp -p "$ROOT/$f" "$wt/$f"
	done
	(cd "$wt" && git add -f $mine && git commit -q -s -F "$ROOT/series/$msg")
	covered="$covered $(echo $mine)"
}

# areas_after N: commit the areas that series/areas places after patch N
# ("-" = after all patches), in file order.
areas_after() {
	local area msg after
	while read -r area msg after; do
		case "$area" in '#'* | '') continue ;; esac
		if [ "${after:--}" = "$1" ]; then commit_area "$area" "$msg"; fi
	done < "$ROOT/series/areas"
}

# Patches in order, each overlay area right after the patch it needs, so
# that every commit of the series builds.
for p in "$ROOT"/patches/*.patch; do
	(cd "$wt" && git am -q "$p") || die "patch $(basename "$p") does not apply to the base"
	n=$(basename "$p" | cut -c1-4)
	areas_after "$n"
done
areas_after -
for f in $files; do
	case " $covered " in *" $f "*) ;; *) die "overlay file $f is in no area of series/areas" ;; esac
done

cd "$wt"
git format-patch -q -o "$out" base..HEAD
n=$(ls "$out"/*.patch 2>/dev/null | wc -l)

# Proof: the series applies with git am on a clean base and gives the same tree.
git -C "$TREE" worktree add -q --detach "$check" base
(cd "$check" && git am -q "$out"/*.patch) || die "the series does not apply to a clean base"
[ "$(git -C "$check" rev-parse 'HEAD^{tree}')" = "$(git -C "$wt" rev-parse 'HEAD^{tree}')" ] ||
	die "the applied series differs from the work tree"
git -C "$TREE" worktree remove --force "$check"
git -C "$TREE" worktree remove --force "$wt"
say "series: $n patch(es) in out/, applied with git am to a clean $(base_version): OK"
ls "$out"
