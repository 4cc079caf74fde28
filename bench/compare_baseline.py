#!/usr/bin/env python3
"""dgeval against the vectorised baseline (bench/baseline.py) in one run, on the same inputs.

For each workload (3x3, 5x5x4, 6x7x4x6 and one large 2-player game; about 64 MiB of float32
input each, both sides) it writes random games to agents.npy / principals.npy, then times:

- the baseline on those arrays in memory: NumPy, and JAX (jit, float64) on the CPU and on the GPU
  where JAX finds them; JAX's compilation is in the warm-up, not in the timings;
- dgeval_bench --agents ... --principals ... on the same files, in memory: the CPU backend and,
  with a GPU, the batch resident on the device (dgeval-cuda: evaluate() alone, like JAX's arrays
  already on the device) and the CUDA backend from host memory to host memory; once restricted
  to the baseline's columns (--columns) and once with every column.

It prints one Markdown table: median times, and in parentheses dgeval's speed-up over the faster
baseline (for dgeval on the CPU, the faster CPU baseline; on the GPU, the fastest baseline of
all). Usually run through bench/compare_baseline.sh, which picks the Python.

    compare_baseline.py [--bench build/bench/dgeval_bench] [--lib DIR] [--quick] [--mib 64] [--repeats 3] [--md FILE]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave the GPU's memory to dgeval

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baseline  # noqa: E402

WORKLOADS = ["3x3", "5x5x4", "6x7x4x6", "2048x2048"]


def make_games(dims, mib, seed):
    n = len(dims)
    per_game = 2 * n * int(np.prod(dims)) * 4
    count = max(1, int(mib * 1048576 // per_game))
    rng = np.random.default_rng(seed)
    shape = (count, n) + tuple(dims)
    return rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)


def run_dgeval(bench, lib, a_path, p_path, columns, repeats):
    env = dict(os.environ)
    if lib:
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    cmd = [bench, "--agents", a_path, "--principals", p_path, "--json", "--columns", columns,
           "--repeats", str(repeats), "--cpu-repeats", str(repeats), "--warmup", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    rows = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["backend"]] = row["median_s"]
            print(json.dumps(dict(row, source="dgeval_bench")), flush=True)
    return rows


def cell(seconds, best):
    if seconds is None:
        return "-"
    text = f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"
    return text if best is None else f"{text} ({best / seconds:.2g}x)"


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=os.path.join(here, "..", "build", "bench", "dgeval_bench"))
    ap.add_argument("--lib", help="a folder of shared libraries for dgeval_bench alone (.device/lib)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--mib", type=float, default=64.0, help="input per workload, both sides (default 64)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="16 MiB per workload, 1024x1024 for 2048x2048, 2 repeats")
    ap.add_argument("--md", help="also write the table to this file")
    args = ap.parse_args(argv)
    workloads = args.workloads.split(",")
    if args.quick:
        args.mib, args.repeats = min(args.mib, 16.0), min(args.repeats, 2)
        workloads = ["1024x1024" if w == "2048x2048" else w for w in workloads]

    found = baseline.backends()
    lines = [
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, {platform.node()}, {os.cpu_count()} CPUs; baselines: "
        f"{', '.join(b[0] for b in found)}; median of {args.repeats} after 1 warm-up, inputs in memory; "
        f"float32 input, float64 arithmetic. In parentheses: dgeval's speed-up over the faster baseline "
        f"(CPU: of the CPU baselines; GPU: of all).",
        "",
        "| workload | games | input MiB | NumPy | JAX CPU | JAX GPU | dgeval CPU, same columns | dgeval CPU, all columns "
        "| dgeval GPU, same columns | dgeval GPU, all columns | dgeval GPU from host, same columns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="dgeval-compare-") as tmp:
        for k, w in enumerate(workloads):
            dims = tuple(int(x) for x in w.split("x"))
            a, p = make_games(dims, args.mib, 1000 + k)
            a_path, p_path = os.path.join(tmp, "agents.npy"), os.path.join(tmp, "principals.npy")
            np.save(a_path, a)
            np.save(p_path, p)
            same = run_dgeval(args.bench, args.lib, a_path, p_path, baseline.COLUMNS, args.repeats)
            every = run_dgeval(args.bench, args.lib, a_path, p_path, "all", args.repeats)
            base = {}
            for b in found:
                try:
                    base[b[0]] = baseline.time_backend(b, a, p, args.repeats, 1)[0]
                except Exception as e:  # e.g. out of memory: the row says "-"
                    print(f"compare_baseline.py: {b[0]} on {w}: {e}", file=sys.stderr)
                    continue
                print(json.dumps({"dims": w, "games": int(a.shape[0]), "backend": b[0], "median_s": base[b[0]],
                                  "source": "baseline.py"}), flush=True)
            cpu_best = min((base[n] for n in ("numpy", "jax-cpu") if n in base), default=None)
            all_best = min(base.values(), default=None)
            lines.append(
                f"| {w} | {a.shape[0]} | {(a.nbytes + p.nbytes) / 1048576:.1f} | {cell(base.get('numpy'), None)} "
                f"| {cell(base.get('jax-cpu'), None)} | {cell(base.get('jax-gpu'), None)} "
                f"| {cell(same.get('dgeval-cpu'), cpu_best)} | {cell(every.get('dgeval-cpu'), cpu_best)} "
                f"| {cell(same.get('dgeval-cuda'), all_best)} | {cell(every.get('dgeval-cuda'), all_best)} "
                f"| {cell(same.get('dgeval-cuda-from-host'), all_best)} |")
            del a, p
    table = "\n".join(lines) + "\n"
    print()
    print(table, end="")
    if args.md:
        with open(args.md, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
