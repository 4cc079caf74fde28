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

It prints two Markdown tables. The first: median times, and in parentheses dgeval's speed-up over
the faster baseline (for dgeval on the CPU, the faster CPU baseline; on the GPU, the fastest
baseline of all). The second: each CPU implementation against this machine's limits, measured at
the start of the run by dgeval_bench --fp64-peak (vector fused multiply-adds on every thread, and a
multi-threaded memory copy): games/s, the FP64 operations per second the baseline's columns
take by their definitions (ops_per_game below) as a fraction of the peak, and dgeval's input and
output bytes per second as a fraction of the copy bandwidth. Usually run through
bench/compare_baseline.sh, which picks the Python.

    compare_baseline.py [--bench build/bench/dgeval_bench] [--lib DIR] [--peak-bench PATH] [--quick] [--mib 64]
                        [--repeats 3] [--md FILE]
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
            if "output_bytes" in row:  # (dgeval_bench before 2026-12-06 did not print it)
                rows[row["backend"] + ":bytes"] = row["input_bytes"] + row["output_bytes"]
            print(json.dumps(dict(row, source="dgeval_bench")), flush=True)
    return rows


def ops_per_game(dims):
    """FP64 operations one game's baseline columns take by their definitions (docs/MATH.md), the same
    count for every implementation: an addition, subtraction, multiplication, minimum, maximum or
    comparison counts 1, a fused multiply-add 2. Per outcome, with n players:

    - each of the 2n utility vectors: its minimum and maximum (the constant test) 2, the mean 1,
      the centred value 1 and its square summed 2, the standardised value (times 1/m) 1: 7 each;
    - IA, per player: the difference of the two standardised values 1, its square summed 2;
    - CA, per side: the weighted mean mu, n multiply-adds (2n), and per player the difference from
      mu 1 and its square summed 2;
    - welfare, per side: n - 1 additions and one multiplication (the average), its maximum and
      minimum 2;
    - the pure-NE mask, per player: the best reply (one maximum per value), the tolerance added and
      the comparison: 3; the worst NE, one comparison.

    That is N (32n + 5) per game; the per-game scalar work (square roots, divisions: a few dozen
    operations) is left out. dgeval's fused 2-player path reaches the same columns by fewer,
    different operations (the centred Gram matrix, docs/MATH.md), so for it the figure is an
    effective rate, the definitions' work per second."""
    n = len(dims)
    outcomes = 1
    for k in dims:
        outcomes *= k
    return outcomes * (32 * n + 5)


def machine_limits(bench, lib):
    """(FP64 peak in operations/s, copy bandwidth in bytes/s, SIMD target) from dgeval_bench --fp64-peak."""
    env = dict(os.environ)
    if lib:
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    cmd = [bench, "--fp64-peak", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    row = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps(dict(row, source="dgeval_bench")), flush=True)
    return row["fp64_peak_flops"], row["copy_bytes_per_s"], row["simd_target"]


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
    ap.add_argument("--peak-bench", help="the dgeval_bench that measures the FP64 peak and the copy bandwidth "
                    "(default: --bench; give another when --bench is an older build without --fp64-peak)")
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
    peak, copy, target = machine_limits(args.peak_bench or args.bench, args.lib)
    limits = [
        f"This machine's limits, measured at the start of the run by dgeval_bench --fp64-peak: FP64 peak "
        f"{peak / 1e9:.1f} GFLOP/s ({target} fused multiply-adds, every thread), memory copy {copy / 1e9:.1f} GB/s "
        f"(read + write). GFLOP/s: the operations the baseline's columns take by their definitions "
        f"(compare_baseline.py, ops_per_game), per second; for every implementation the same count. "
        f"dgeval CPU with the baseline's columns.",
        "",
        "| workload | FP64 ops/game | NumPy GFLOP/s (% peak) | JAX CPU GFLOP/s (% peak) | dgeval CPU games/s "
        "| dgeval CPU GFLOP/s | % of FP64 peak | dgeval CPU GB/s | % of copy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
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
            ops = ops_per_game(dims) * a.shape[0]

            def rate(seconds):
                return "-" if seconds is None else f"{ops / seconds / 1e9:.3g} ({100 * ops / seconds / peak:.2g}%)"

            t = same.get("dgeval-cpu")
            if t is not None:
                moved = same.get("dgeval-cpu:bytes")
                moved = "- | -" if moved is None else f"{moved / t / 1e9:.3g} | {100 * moved / t / copy:.2g}%"
                limits.append(
                    f"| {w} | {ops_per_game(dims):,} | {rate(base.get('numpy'))} | {rate(base.get('jax-cpu'))} "
                    f"| {a.shape[0] / t:.3g} | {ops / t / 1e9:.3g} | {100 * ops / t / peak:.2g}% | {moved} |")
            del a, p
    table = "\n".join(lines) + "\n\n" + "\n".join(limits) + "\n"
    print()
    print(table, end="")
    if args.md:
        with open(args.md, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
