#!/usr/bin/env python3
"""Add up the results of one test run and print the closing summary line."""
import glob
import json
import os
import re
import sys

d = sys.argv[1]
passed = failed = skipped = 0
for name in ('lint.txt', 'rig-selftest.txt'):
    path = os.path.join(d, name)
    if os.path.exists(path):
        m = re.search(r'^P2P-\S+ (\d+) passed, (\d+) failed', open(path).read(), re.M)
        if m:
            passed += int(m.group(1))
            failed += int(m.group(2))
for path in sorted(glob.glob(os.path.join(d, 'vm-*.json'))):
    res = json.load(open(path))
    for s in res['suites'].values():
        passed += s['passed']
        failed += s['failed']
        skipped += s['skipped']
        for t in s['skips']:
            print(f'[rig] skipped: {t}')
    if res['problems'] or res['guest_rc'] is None:
        failed += 1
stages = os.path.join(d, 'failed-stages')
if os.path.exists(stages):
    bad = open(stages).read().split()
    print('[rig] failed stages: ' + ', '.join(bad))
    failed = max(failed, 1)
print(f'{passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed else 0)
