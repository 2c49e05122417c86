#!/usr/bin/env python3
"""Combine the benchmark CSVs of our kernel and the upstream one: table and SVG plot.

bench-report.py --ours CSV --upstream CSV [--md FILE] [--svg FILE] [--title TEXT]

Each CSV has the columns round,row,unit,value: one timed sample per line, or
value "n/a (reason)" for a row the kernel cannot measure (bench_util.h).
Prints row | ours | upstream | ratio, medians over every sample of every
round. The ratio is oriented so that > 1.0 means ours is better: ours /
upstream for GiB/s (higher is better), upstream / ours for ms (lower is
better). Rows derived from other rows of the same kernel (the by-address
path's targets) follow. Standard library only.
"""
import argparse
import csv
import html
import math
import statistics

# (name, numerator row, denominator row, target text, target test)
DERIVED = [
    ("whole BAR map, by VA / MAP_FILE (x, target <= 1.2)",
     "BAR whole by IOAS_MAP of the BAR address at an aligned IOVA: map",
     "BAR whole by MAP_FILE of a dma-buf at an aligned IOVA: map",
     lambda x: x <= 1.2),
    ("whole BAR map, by VA / (dma-buf export + MAP_FILE) (x, what a VMM pays)",
     "BAR whole by IOAS_MAP of the BAR address at an aligned IOVA: map",
     "BAR whole by dma-buf export and MAP_FILE at an aligned IOVA: map",
     lambda x: x <= 1.2),
    ("whole BAR map, type1 / by VA (x, target >= 1000)",
     "BAR whole by type1 MAP_DMA of the BAR address: map",
     "BAR whole by IOAS_MAP of the BAR address at an aligned IOVA: map",
     lambda x: x >= 1000),
    ("whole BAR map, type1 / MAP_FILE (x)",
     "BAR whole by type1 MAP_DMA of the BAR address: map",
     "BAR whole by MAP_FILE of a dma-buf at an aligned IOVA: map",
     None),
]


def load(path):
    """{row: (unit, [samples], na reason or None)}, in first-seen order."""
    rows = {}
    try:
        f = open(path, newline="")
    except OSError:
        return rows
    with f:
        for rec in csv.reader(f):
            if len(rec) < 4 or rec[0] == "round":
                continue
            _, row, unit, value = rec[0], rec[1], rec[2], ",".join(rec[3:])
            unit_, samples, na = rows.setdefault(row, (unit, [], None))
            try:
                samples.append(float(value))
            except ValueError:
                # A kernel message on the console can run into the line
                if value.startswith("n/a (") and ")" in value:
                    value = value[:value.index(")") + 1]
                rows[row] = (unit_, samples, na or value)
    return rows


def median(entry):
    if entry is None or not entry[1]:
        return None
    return statistics.median(entry[1])


def cell(entry):
    if entry is None:
        return "n/a (not run)"
    m = median(entry)
    if m is None:
        return entry[2] or "n/a"
    return fmt(m)


def fmt(v):
    if v >= 1000:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 0.1:
        return "%.3f" % v
    return "%.4f" % v


def ratio(unit, ours, up):
    if ours is None or up is None or ours <= 0 or up <= 0:
        return None
    return ours / up if unit == "GiB/s" else up / ours


def build(ours, up):
    names = list(ours) + [r for r in up if r not in ours]
    table = []
    for name in names:
        unit = (ours.get(name) or up.get(name))[0]
        o, u = ours.get(name), up.get(name)
        table.append((name, unit, cell(o), cell(u),
                      ratio(unit, median(o), median(u)), ""))
    for name, num, den, target in DERIVED:
        vals = []
        for k in (ours, up):
            n, d = median(k.get(num)), median(k.get(den))
            vals.append(n / d if n and d else None)
        note = ""
        if target and vals[0] is not None:
            note = "ours: target %s" % ("met" if target(vals[0]) else "missed")
        table.append((name, "x",
                      fmt(vals[0]) if vals[0] is not None else "n/a (a row is n/a)",
                      fmt(vals[1]) if vals[1] is not None else "n/a (a row is n/a)",
                      None, note))
    return table


def markdown(table):
    out = ["| row | unit | ours | upstream | ratio (>1: ours better) |",
           "| --- | --- | --- | --- | --- |"]
    for name, unit, o, u, r, note in table:
        rs = ("%.2f" % r) if r is not None else (note or "-")
        out.append("| %s | %s | %s | %s | %s |" % (name, unit, o, u, rs))
    return "\n".join(out) + "\n"


def text(table):
    w = max(len(t[0]) for t in table)
    lines = ["%-*s | %-6s | %-12s | %-12s | %s" %
             (w, "row", "unit", "ours", "upstream", "ratio (>1.0: ours better)")]
    lines.append("-" * (w + 60))
    for name, unit, o, u, r, note in table:
        rs = ("%.2f" % r) if r is not None else (note or "-")
        lines.append("%-*s | %-6s | %-12s | %-12s | %s" % (w, name, unit, o, u, rs))
    return "\n".join(lines) + "\n"


def svg_ratios(table, y0):
    """The ratio panel: one bar a row, log scale, ours better to the right."""
    bars = [(n, r) for n, _, _, _, r, _ in table if r is not None]
    rowh, left, mid_w = 18, 470, 440
    top = y0 + 30
    bottom = top + rowh * max(len(bars), 1)
    span = math.ceil(max([abs(math.log10(r)) for _, r in bars] + [1.0]))
    cx = left + mid_w / 2
    scale = (mid_w / 2) / span
    e = html.escape
    out = ['<text x="10" y="%d" font-size="13">ratio ours vs upstream 7.3, log scale: '
           'right of the line (green) ours is better, left (red) upstream is better</text>'
           % (y0 + 12)]
    for k in range(-span, span + 1):
        x = cx + k * scale
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' %
                   (x, top - 6, x, bottom, "#000" if k == 0 else "#ddd"))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%sx</text>' %
                   (x, bottom + 14, fmt(10.0 ** k)))
    for i, (name, r) in enumerate(bars):
        y = top + i * rowh
        v = math.log10(r) * scale
        x0, w = (cx, v) if v >= 0 else (cx + v, -v)
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' %
                   (left - 8, y + 12, e(short(name))))
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' %
                   (x0, y + 2, max(w, 1), rowh - 5, "#3a3" if v >= 0 else "#c33"))
        out.append('<text x="%d" y="%d">%s</text>' %
                   (left + mid_w + 8, y + 12, "%.2fx" % r))
    return out, bottom + 30


def svg_values(table, unit, y0):
    """Both kernels' medians in @unit, a pair of bars a row, log scale."""
    def num(v):
        try:
            return float(v)
        except ValueError:
            return None

    rows = []
    for name, u, o, up, _, _ in table:
        if u != unit:
            continue
        o, up = num(o), num(up)
        if o is not None or up is not None:
            rows.append((name, o, up))
    vals = [v for _, o, up in rows for v in (o, up) if v]
    if not vals:
        return [], y0
    rowh, left, w = 24, 470, 440
    top = y0 + 30
    bottom = top + rowh * len(rows)
    lo = math.floor(math.log10(min(vals)))
    hi = math.ceil(math.log10(max(vals)))
    hi = hi if hi > lo else lo + 1
    scale = w / (hi - lo)
    e = html.escape
    better = "higher" if unit == "GiB/s" else "lower"
    out = ['<text x="10" y="%d" font-size="13">%s per row, log scale (%s is better): '
           'ours (blue) and upstream 7.3 (grey)</text>' % (y0 + 12, e(unit), better)]
    for k in range(lo, hi + 1):
        x = left + (k - lo) * scale
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' %
                   (x, top - 6, x, bottom))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                   (x, bottom + 14, fmt(10.0 ** k)))
    for i, (name, o, up) in enumerate(rows):
        y = top + i * rowh
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' %
                   (left - 8, y + 15, e(short(name))))
        for j, (v, colour) in enumerate(((o, "#36c"), (up, "#999"))):
            yy = y + 2 + j * 10
            if not v:
                out.append('<text x="%d" y="%d" font-size="9">n/a</text>' % (left + 2, yy + 8))
                continue
            bw = max((math.log10(v) - lo) * scale, 1)
            out.append('<rect x="%d" y="%d" width="%.1f" height="9" fill="%s"/>' %
                       (left, yy, bw, colour))
            out.append('<text x="%.1f" y="%d" font-size="9">%s</text>' %
                       (left + bw + 4, yy + 8, fmt(v)))
    return out, bottom + 30


def short(name):
    return name if len(name) <= 78 else name[:75] + "..."


def svg(table, title):
    width = 1000
    body, y = svg_ratios(table, 30)
    for unit in ("GiB/s", "ms"):
        part, y = svg_values(table, unit, y)
        body += part
    e = html.escape
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, y + 10),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14">%s</text>' % e(title)]
    out += body
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--md")
    ap.add_argument("--svg")
    ap.add_argument("--title", default="dma-buf P2P benchmarks")
    a = ap.parse_args()
    table = build(load(a.ours), load(a.upstream))
    print(text(table), end="")
    if a.md:
        with open(a.md, "w") as f:
            f.write(markdown(table))
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(table, a.title))


if __name__ == "__main__":
    main()
