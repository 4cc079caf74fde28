#!/usr/bin/env python3
"""One Markdown table from Nsight Compute's raw CSV pages, one page per workload.

bench/device_check.sh profiles one evaluation of each bench workload with ncu (the SpeedOfLight,
Occupancy and LaunchStats sections and the DRAM byte counters), then prints each report with
`ncu --import R --csv --page raw --print-units base` into ncu-WORKLOAD.csv. This script turns
those files into the table docs/PERFORMANCE.md needs to say why a workload is below the copy
bandwidth: per workload and kernel, the launches profiled, their summed time, the DRAM bytes read
and written, DRAM and SM throughput as a percentage of peak, the achieved occupancy and the
registers per thread (time-weighted means where several launches of a kernel were profiled).

    ncu_summary.py ncu-3x3.csv ncu-5x5x4.csv ...   # the workload is the file name after "ncu-"
    ncu_summary.py --self-test

A metric missing from a page prints as "-" (another ncu version may name it otherwise); a file
that is not a raw page is reported on stderr and left out, with exit status 1.
"""
import csv
import io
import os
import sys

TIME = "gpu__time_duration.sum"
COLUMNS = [  # (metric, heading, scale, format); time-weighted means except the byte sums
    ("dram__bytes_read.sum", "DRAM read MB", 1e-6, "sum"),
    ("dram__bytes_write.sum", "DRAM written MB", 1e-6, "sum"),
    ("dram__throughput.avg.pct_of_peak_sustained_elapsed", "DRAM % of peak", 1.0, "mean"),
    ("sm__throughput.avg.pct_of_peak_sustained_elapsed", "SM % of peak", 1.0, "mean"),
    ("sm__warps_active.avg.pct_of_peak_sustained_active", "achieved occupancy %", 1.0, "mean"),
    ("launch__registers_per_thread", "registers", 1.0, "mean"),
]
TIME_SCALE = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6}  # to microseconds


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def read_page(text):
    """Rows of a raw page as dicts, and the units row; None when the text is not a raw page."""
    lines = [l for l in text.splitlines() if l.startswith('"')]  # ncu's own ==PROF== lines are left out
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if len(rows) < 2 or "Kernel Name" not in rows[0] or TIME not in rows[0]:
        return None
    head = rows[0]
    units = dict(zip(head, rows[1]))
    return [dict(zip(head, r)) for r in rows[2:] if len(r) == len(head)], units


def summarise(workload, rows, units):
    """Table rows of one workload: one per kernel, in order of first launch."""
    scale = TIME_SCALE.get(units.get(TIME, "nsecond"), 1e-3)
    kernels = {}
    for r in rows:
        t = number(r.get(TIME, ""))
        if t is None:
            continue
        k = kernels.setdefault(r["Kernel Name"], {"n": 0, "time": 0.0, "sums": {}, "weights": {}})
        k["n"] += 1
        k["time"] += t * scale
        for metric, _, _, kind in COLUMNS:
            v = number(r.get(metric, ""))
            if v is not None:
                k["sums"][metric] = k["sums"].get(metric, 0.0) + (v if kind == "sum" else v * t)
                k["weights"][metric] = k["weights"].get(metric, 0.0) + t
    out = []
    for name, k in kernels.items():
        cells = []
        for metric, _, mult, kind in COLUMNS:
            if metric not in k["sums"]:
                cells.append("-")
                continue
            v = k["sums"][metric] if kind == "sum" else k["sums"][metric] / max(k["weights"][metric], 1e-300)
            cells.append(f"{v * mult:.4g}")
        out.append(f"| {workload} | {name} | {k['n']} | {k['time']:.4g} | " + " | ".join(cells) + " |")
    return out


def table(paths):
    lines = ["| workload | kernel | launches | time us | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---|---|---:|---:|" + "---:|" * len(COLUMNS)]
    bad = 0
    for p in paths:
        base = os.path.basename(p)
        workload = base[4:-4] if base.startswith("ncu-") and base.endswith(".csv") else base
        with open(p, errors="replace") as f:
            page = read_page(f.read())
        if page is None:
            print(f"ncu_summary.py: {p}: not a raw page of ncu --csv (no 'Kernel Name' and {TIME} columns)",
                  file=sys.stderr)
            bad += 1
            continue
        lines += summarise(workload, *page)
    return "\n".join(lines) + "\n", bad


SAMPLE = '''==PROF== Disconnected from process 1
"ID","Kernel Name","gpu__time_duration.sum","dram__bytes_read.sum","dram__bytes_write.sum","dram__throughput.avg.pct_of_peak_sustained_elapsed","sm__throughput.avg.pct_of_peak_sustained_elapsed","launch__registers_per_thread"
"","","nsecond","byte","byte","%","%","register/thread"
"0","tiled_stats_kernel","1,000","2000000","0","50","10","79"
"1","tiled_align_kernel","3000","6000000","1000000","90","20","64"
"2","tiled_stats_kernel","3000","2000000","0","70","30","79"
'''


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        good, bad = os.path.join(d, "ncu-4096x4096.csv"), os.path.join(d, "ncu-x.csv")
        with open(good, "w") as f:
            f.write(SAMPLE)
        with open(bad, "w") as f:
            f.write("==ERROR== the profiler could not start\n")
        text, n_bad = table([good, bad])
    rows = [l for l in text.splitlines() if l.startswith("| 4096x4096 |")]
    expect = ["| 4096x4096 | tiled_stats_kernel | 2 | 4 | 4 | 0 | 65 | 25 | - | 79 |",
              "| 4096x4096 | tiled_align_kernel | 1 | 3 | 6 | 1 | 90 | 20 | - | 64 |"]
    if rows != expect or n_bad != 1:
        print("ncu_summary.py: self-test failed:\n" + text + f"bad files: {n_bad}", file=sys.stderr)
        return 1
    print("ncu_summary.py: self-test passed")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    text, bad = table(argv)
    sys.stdout.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
