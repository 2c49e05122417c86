#!/usr/bin/env python3
"""Add up the results of one test run and print the closing summary line."""
import glob
import json
import os
import re
import sys

d = sys.argv[1]
passed = failed = skipped = 0
per_vm = []
for name in ('lint.txt', 'rig-selftest.txt', 'series.txt'):
    path = os.path.join(d, name)
    if os.path.exists(path):
        m = re.search(r'^P2P-\S+ (\d+) passed, (\d+) failed', open(path).read(), re.M)
        if m:
            passed += int(m.group(1))
            failed += int(m.group(2))
for path in sorted(glob.glob(os.path.join(d, 'vm-*.json'))):
    res = json.load(open(path))
    stage = os.path.basename(path)[:-len('.json')]
    label = f"{stage} ({res.get('profile') or 'unknown IOMMU'})"
    p = f = s_ = 0
    for name, s in res['suites'].items():
        p += s['passed']
        f += s['failed']
        s_ += s['skipped']
        for t in s['skips']:
            print(f'[rig] skipped [{label}]: {name}: {t}')
        for t in s['failures']:
            print(f'[rig] FAILED [{label}]: {name}: {t}')
    if res['problems'] or res['guest_rc'] is None:
        f += 1
    per_vm.append(f'[rig] {label}: {p} passed, {f} failed, {s_} skipped')
    passed += p
    failed += f
    skipped += s_
for line in per_vm:
    print(line)
stages = os.path.join(d, 'failed-stages')
if os.path.exists(stages):
    bad = open(stages).read().split()
    print('[rig] failed stages: ' + ', '.join(bad))
    failed = max(failed, 1)
print(f'{passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed else 0)
