#!/usr/bin/env bash
# Style gate: checkpatch --strict on overlay sources and on each patch, kernel-doc on our kernel C files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$TREE/scripts/checkpatch.pl" ] || "$ROOT/scripts/prepare-tree.sh" >/dev/null
cp=$TREE/scripts/checkpatch.pl
kd=$TREE/scripts/kernel-doc
pass=0 fail=0
cd "$ROOT"
check() { # check NAME CMD...: one lint test; fails when CMD prints anything or fails.
	local name=$1 out
	shift
	if out=$("$@" 2>&1) && [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "[lint] FAILED $name"
		printf '%s\n' "$out" | head -40 | sed 's/^/[lint]   /'
	fi
}
quiet_cp() { perl "$cp" --strict --no-tree --quiet --show-types "$@" | grep -v '^total:' || true; }

src=$(git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS | grep -E '\.[ch]$' || true)
# Per-file exceptions, each with its reason:
#  map_file_dmabuf.c calls libdrm, whose API names are CamelCase.
extra_ignore() {
	case "$1" in
	tools/testing/selftests/p2p/map_file_dmabuf.c) echo ,CAMELCASE ;;
	esac
}
for f in $src; do
	check "checkpatch $f" quiet_cp --ignore "FILE_PATH_CHANGES,SPDX_LICENSE_TAG$(extra_ignore "$f")" -f "$f"
	case "$f" in
	tools/*) ;;
	*) check "kernel-doc $f" perl "$kd" -none -Wall "$f" ;;
	esac
done
for p in patches/*.patch; do
	[ -f "$p" ] || continue
	# Read from stdin: given a path inside a git work tree, checkpatch
	# takes the patch for a tracked file and checks its text as added lines.
	check "checkpatch $p" bash -c "perl $cp --strict --no-tree --quiet --show-types - < $p | grep -v '^total:' || true"
done

# sparse (make C=2) on our objects, against the debug build.  C=2 checks
# every source of the given directories whether or not it needs a rebuild.
# Only reports on our lines count: any line of an overlay file, and the
# lines that a hook patch adds to a base file.  Reports on other lines of
# base files (the base's own vfio-pci code, headers every object
# includes) are not ours and are left out by file and line.
sparse_objs="drivers/iommu/iommufd/ drivers/vfio/pci/ drivers/dma-buf/dma-buf-phys.o lib/test_p2p_importer.o
	drivers/iommu/amd/io_pgtable_kunit.o"
run_sparse() {
	local log=$WORK/lint-sparse.log
	command -v sparse >/dev/null || { echo "sparse is not installed (apt-get install sparse)"; return 1; }
	FLAVOR=debug BUILD=$WORK/build-debug "$ROOT/scripts/prepare-tree.sh" >/dev/null
	[ -f "$WORK/build-debug/.config" ] ||
		FLAVOR=debug BUILD=$WORK/build-debug "$ROOT/scripts/build-kernel.sh" >/dev/null
	(
		BUILD=$WORK/build-debug
		build_lock
		# shellcheck disable=SC2086
		kmake C=2 $sparse_objs
	) > "$log" 2>&1 || { tail -20 "$log"; return 1; }
	git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS > "$WORK/lint-sparse.files"
	git -C "$TREE" diff -U0 base HEAD > "$WORK/lint-sparse.diff"
	python3 - "$log" "$WORK/lint-sparse.files" "$WORK/lint-sparse.diff" <<'PY'
import re, sys
log, files, diff = sys.argv[1:]
ours = set(open(files).read().split())
added, cur = {}, None
for l in open(diff, errors="replace"):
    if l.startswith("+++ "):
        cur = l[6:].strip() if l.startswith("+++ b/") else None
    m = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", l)
    if m and cur:
        a, n = int(m.group(1)), int(m.group(2) or 1)
        added.setdefault(cur, set()).update(range(a, a + n))
for l in open(log, errors="replace"):
    m = re.match(r"(?:\S*/)?linux/(\S+?):(\d+):\d+: (warning|error):", l) or \
        re.match(r"(\S+?):(\d+):\d+: (warning|error):", l)
    if not m:
        continue
    f, n = m.group(1), int(m.group(2))
    if f in ours or n in added.get(f, ()):
        print(l.rstrip())
PY
}
check "sparse $(echo $sparse_objs)" run_sparse

echo "P2P-LINT $pass passed, $fail failed"
[ "$fail" -eq 0 ]
