#!/usr/bin/env bash
# Build the series of series/series.list on the base in work/linux, write it to out/ with git format-patch, prove it with git am.
#
# series.sh [--out DIR]: DIR defaults to out/.  The last commit is left as
# refs/p2p/series in work/linux.
# Fails, naming them, if an overlay file, hook patch, split diff or message
# is not placed exactly once in the list, or if the series does not end in
# the tree that make tree prepares (base + patches/ + overlay).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$ROOT/out
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift ;;
	*) die "series.sh: unknown argument $1" ;;
	esac
	shift
done
list=$ROOT/series/series.list
stage=$WORK/series-stage
[ -d "$TREE/.git" ] || "$ROOT/scripts/prepare-tree.sh" >/dev/null
basever=$(cd "$TREE" && make -s kernelversion)

# 1. Read the list: stanza i has MSG[i], PATCHES[i], FILES[i], GROWS[i].
declare -a MSG PATCHES FILES GROWS
n=-1 bad=""
lineno=0
while read -r kw arg rest; do
	lineno=$((lineno + 1))
	case "$kw" in '' | '#'*) continue ;; esac
	[ -z "$rest" ] || bad="$bad\n  series.list:$lineno: one argument expected"
	if [ "$kw" = commit ]; then
		n=$((n + 1))
		MSG[n]=$arg PATCHES[n]="" FILES[n]="" GROWS[n]=""
		continue
	fi
	[ "$n" -ge 0 ] || { bad="$bad\n  series.list:$lineno: $kw before the first commit"; continue; }
	case "$kw" in
	patch) PATCHES[n]="${PATCHES[n]} $arg" ;;
	file) FILES[n]="${FILES[n]} $arg" ;;
	grow) GROWS[n]="${GROWS[n]} $arg" ;;
	*) bad="$bad\n  series.list:$lineno: unknown keyword $kw" ;;
	esac
done < "$list"
ncommits=$((n + 1))

# 2. Everything placed exactly once, everything placed exists.
cd "$ROOT"
overlay=$(git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS | sort)
placed() { # placed KIND: every item of that kind in the list, one a line
	local i
	for ((i = 0; i < ncommits; i++)); do
		case "$1" in
		patch) printf '%s\n' ${PATCHES[i]} ;;
		file) printf '%s\n' ${FILES[i]} ;;
		grow) printf '%s\n' ${GROWS[i]} ;;
		msg) [ "${MSG[i]}" = - ] || printf '%s\n' "${MSG[i]}" ;;
		esac
	done
}
once() { # once KIND WHERE AVAILABLE: names what is unplaced, twice placed or missing
	local kind=$1 where=$2 available=$3 all
	all=$(placed "$kind" | sort)
	for x in $(comm -23 <(printf '%s\n' $available | sort) <(printf '%s\n' $all | sort -u)); do
		bad="$bad\n  $where$x is not placed in series/series.list"
	done
	for x in $(printf '%s\n' $all | uniq -d); do
		bad="$bad\n  $where$x is placed more than once in series/series.list"
	done
	for x in $(comm -13 <(printf '%s\n' $available | sort) <(printf '%s\n' $all | sort -u)); do
		bad="$bad\n  $where$x is in series/series.list but does not exist"
	done
}
once file "overlay file " "$overlay"
once patch "patches/" "$(cd patches && ls *.patch)"
once grow "series/split/" "$(cd series/split 2>/dev/null && ls *.diff 2>/dev/null || true)"
once msg "series/msg/" "$(cd series/msg && ls *.msg)"
for ((i = 0; i < ncommits; i++)); do
	if [ "${MSG[i]}" = - ] && [ -z "${PATCHES[i]}" ]; then
		bad="$bad\n  commit $((i + 1)) has neither a message file nor a patch to take one from"
	fi
	[ -n "${PATCHES[i]}${FILES[i]}${GROWS[i]}" ] || bad="$bad\n  commit $((i + 1)) (${MSG[i]}) is empty"
done
[ -z "$bad" ] || die "series/series.list:$(printf '%b' "$bad")"

# patch_for NAME: the hook patch for this base (series/base/VERSION/NAME
# when the base needs a variant of it).
patch_for() {
	if [ -f "$ROOT/series/base/$basever/$1" ]; then echo "$ROOT/series/base/$basever/$1"; else echo "$ROOT/patches/$1"; fi
}
grow_path() { sed -n 's|^+++ b/||p' "$ROOT/series/split/$1" | head -n1; }

# 3. Grown files: the version a "file" line adds is the overlay file with
# the split diffs of its later "grow" lines taken back, last one first.
rm -rf "$stage" && mkdir -p "$stage"
for ((i = ncommits - 1; i >= 0; i--)); do
	for g in ${GROWS[i]}; do
		f=$(grow_path "$g")
		[ -n "$f" ] || die "series/split/$g names no file"
		found=0
		for ((j = 0; j < i; j++)); do case " ${FILES[j]} " in *" $f "*) found=1 ;; esac; done
		[ "$found" = 1 ] || die "series/split/$g (commit $((i + 1))) grows $f, which no earlier file line adds"
		[ -f "$stage/$f" ] || { mkdir -p "$stage/$(dirname "$f")" && cp "$ROOT/$f" "$stage/$f"; }
		(cd "$stage" && git apply -R "$ROOT/series/split/$g") ||
			die "series/split/$g does not come off $f: regenerate it against the overlay file"
	done
done

# 4. The commits, built in a private index of the base repository: no
# work tree is checked out.  A stanza's patches, files and grown lines
# make one commit.
g() { GIT_INDEX_FILE=$idx git -C "$TREE" "$@"; }
idx=$WORK/series.index
add_file() { # add_file SRC PATH
	local mode=100644 blob
	[ -x "$1" ] && mode=100755
	blob=$(git -C "$TREE" hash-object -w "$1")
	g update-index --add --cacheinfo "$mode,$blob,$2"
}
rm -f "$idx"
g read-tree base
parent=$(git -C "$TREE" rev-parse base)
info=$WORK/series.info
for ((i = 0; i < ncommits; i++)); do
	first=""
	for p in ${PATCHES[i]}; do
		g apply --cached "$(patch_for "$p")" 2> "$info.err" || {
			sed 's/^/[rig]   /' "$info.err" >&2
			die "commit $((i + 1)): patch $p does not apply to $(base_version)"
		}
		[ -n "$first" ] || first=$(patch_for "$p")
	done
	for f in ${FILES[i]}; do
		if [ -f "$stage/$f" ]; then add_file "$stage/$f" "$f"; else add_file "$ROOT/$f" "$f"; fi
	done
	for d in ${GROWS[i]}; do
		g apply --cached "$ROOT/series/split/$d" || die "commit $((i + 1)): series/split/$d does not apply"
	done
	tree=$(g write-tree)
	# Author and date of the first patch (a fixed date without one), so
	# that the series is the same from run to run.
	export GIT_AUTHOR_NAME="P2P Team" GIT_AUTHOR_EMAIL="p2p@example.org" GIT_AUTHOR_DATE="2026-12-01T00:00:00Z"
	if [ -n "$first" ]; then
		git mailinfo "$info.body" /dev/null < "$first" > "$info.head"
		GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' "$info.head")
		GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' "$info.head")
		GIT_AUTHOR_DATE=$(sed -n 's/^Date: //p' "$info.head")
	fi
	export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
	if [ "${MSG[i]}" = - ]; then
		{ sed -n 's/^Subject: //p' "$info.head"; echo; cat "$info.body"; } > "$info.msg"
	else
		cp "$ROOT/series/msg/${MSG[i]}" "$info.msg"
	fi
	parent=$(git -C "$TREE" commit-tree "$tree" -p "$parent" -F "$info.msg")
done
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_COMMITTER_DATE
head=$parent
git -C "$TREE" update-ref refs/p2p/series "$head"

# 5. The end of the series is base + patches/ + overlay (what make tree
# prepares and make check tests), file for file.
rm -f "$idx"
g read-tree base
for p in "$ROOT"/patches/*.patch; do
	g apply --cached "$(patch_for "$(basename "$p")")" || die "patch $(basename "$p") does not apply"
done
for f in $overlay; do add_file "$ROOT/$f" "$f"; done
want=$(g write-tree)
if [ "$want" != "$(git -C "$TREE" rev-parse "$head^{tree}")" ]; then
	git -C "$TREE" diff --stat "$head" "$want" | sed 's/^/[rig]   /' >&2
	die "the series does not end in base + patches/ + overlay (differences above)"
fi

# The commit list: number, changed lines, subject
say "series on $(base_version): commit, changed lines, subject"
k=0
for c in $(git -C "$TREE" rev-list --reverse "base..$head"); do
	k=$((k + 1))
	lines=$(git -C "$TREE" show --format= --numstat "$c" | awk '{ a += $1 + $2 } END { print a + 0 }')
	printf '[rig]   %2d %5d  %s\n' "$k" "$lines" "$(git -C "$TREE" log -1 --format=%s "$c")"
done

rm -rf "$out" && mkdir -p "$out"
git -C "$TREE" format-patch -q -o "$out" "base..$head"
count=$(ls "$out"/*.patch | wc -l)

# 6. Proof: the patches of out/ apply, in order, to a clean base and give
# the same tree (make series-check applies them with git am and builds
# every commit).
rm -f "$idx"
g read-tree base
for p in "$out"/*.patch; do
	g apply --cached "$p" || die "out/$(basename "$p") does not apply to a clean $(base_version)"
done
[ "$(g write-tree)" = "$want" ] || die "the patches in out/ do not give the tree of the series"
rm -rf "$stage" "$idx" "$info".*
say "series: $count commits in ${out#"$ROOT"/}/, applied to a clean $(base_version): OK"
