#!/usr/bin/env python3
"""bench/baseline.py against dgeval on the same random games (the same .npy files).

    python bench/check_baseline.py [--cli build/dgeval] [--backend numpy,jax-cpu,...]

For several shapes (2 to 4 players, one player, a 64x48 game), uniform float32 games and games
on a coarse grid (ties between replies, several equilibria of equal welfare, constant utilities,
games without a pure NE), it writes agents.npy / principals.npy, runs
`dgeval evaluate --agents ... --principals ... --columns <baseline.COLUMNS> --list-equilibria
-o r.npz --backend cpu`, runs the baseline on the same files with every backend found (NumPy;
JAX on the CPU and GPU when importable), and compares:

- exactly: the NE count, the NE mask (against dgeval's pure_ne list), where regrets are NaN;
- welfare extrema and the worst-NE regrets to 1e-14 absolute: the inputs are float32 multiples
  of 2^-24 in [0, 1), so the sums over players are exact in float64 on both sides, the same
  outcome is the worst NE (ties go to the first in C order on both), and only the division by
  n and one subtraction round;
- offsets and magnitudes to 1e-12 relative (plus 1e-14 absolute): means and norms of up to
  3072 values summed in different orders differ by a few ulps times log2(N);
- IA and CA to 1e-11 absolute: both take them from explicit differences of standardised
  vectors, whose rounding is a few ulps per outcome, summed in quadrature.

Exit status 0 when every comparison holds; the first mismatches are printed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baseline  # noqa: E402

SHAPES = [(3, 3), (5, 5, 4), (2, 3, 2, 2), (6, 7, 4, 6), (13,), (1, 7), (64, 48)]


def games(rng, dims, count, grid):
    """[count, n, *dims] float32 pairs: uniform in [0, 1) (multiples of 2^-24), or on a grid of
    `grid` levels (many ties)."""
    shape = (count, len(dims)) + tuple(dims)
    if grid:
        draw = lambda: (rng.integers(0, grid, size=shape) / grid).astype(np.float32)  # noqa: E731
    else:
        draw = lambda: rng.random(shape, dtype=np.float32)  # noqa: E731
    a, p = draw(), draw()
    if grid:
        p[: count // 4] = a[: count // 4]  # aligned games: IA = 1 exactly
    return a, p


def dgeval_results(cli, a_path, p_path, out):
    subprocess.run([cli, "evaluate", "--agents", a_path, "--principals", p_path, "--columns", baseline.COLUMNS,
                    "--list-equilibria", "-o", out, "--backend", "cpu", "-q"], check=True)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def dgeval_mask(d, dims):
    games_ = d["pure_ne_count"].shape[0]
    mask = np.zeros((games_,) + tuple(dims), dtype=bool)
    offsets, ne = d["pure_ne_offsets"], d["pure_ne"]
    game = np.repeat(np.arange(games_), np.diff(offsets))
    mask[(game,) + tuple(ne[:, i] for i in range(len(dims)))] = True
    return mask


def compare(label, b, d, dims, problems):
    def check(name, ok, detail):
        if not ok:
            problems.append(f"{label}: {name}: {detail}")

    def close(name, rtol, atol):
        x, y = np.asarray(b[name], dtype=np.float64), np.asarray(d[name], dtype=np.float64).reshape(np.shape(b[name]))
        same_nan = np.array_equal(np.isnan(x), np.isnan(y))
        err = np.abs(x - y) - (atol + rtol * np.abs(y))
        err = np.where(np.isnan(x) | np.isnan(y), 0.0, err)
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape)) if err.size else None
        check(name, same_nan and (err.size == 0 or err[worst] <= 0),
              "NaN positions differ" if not same_nan else
              f"at {worst}: baseline {float(x[worst])!r}, dgeval {float(y[worst])!r} "
              f"(|diff| {abs(float(x[worst]) - float(y[worst])):.3g})")

    for name in ("offset_agents", "offset_principals", "magnitude_agents", "magnitude_principals"):
        close(name, 1e-12, 1e-14)
    for name in ("ia", "ca_principals", "ca_agents"):
        close(name, 0.0, 1e-11)
    for name in ("welfare_agents_max", "welfare_agents_min", "welfare_principals_max", "welfare_principals_min",
                 "agents_welfare_regret", "principals_welfare_regret"):
        close(name, 0.0, 1e-14)
    count = np.asarray(b["pure_ne_count"])
    check("pure_ne_count", np.array_equal(count, d["pure_ne_count"]),
          f"{int(np.sum(count != d['pure_ne_count']))} games differ")
    mask = np.asarray(b["pure_ne_mask"])
    check("pure_ne_mask", np.array_equal(mask, dgeval_mask(d, dims)), "the equilibria differ")


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=os.environ.get("DGEVAL_CLI", os.path.join(here, "..", "build", "dgeval")))
    ap.add_argument("--backend", help="comma-separated backends (default: every one found)")
    ap.add_argument("--seed", type=int, default=20261206)
    args = ap.parse_args(argv)
    names = args.backend.split(",") if args.backend else None
    found = baseline.backends(names)
    if not found:
        sys.exit("check_baseline.py: no baseline backend found")
    rng = np.random.default_rng(args.seed)
    problems = []
    summary = {}
    with tempfile.TemporaryDirectory(prefix="dgeval-baseline-") as tmp:
        for dims in SHAPES:
            outcomes = int(np.prod(dims))
            count = max(4, min(400, 20000 // outcomes))
            for grid in (0, 2, 3):
                a, p = games(rng, dims, count, grid)
                a_path, p_path = os.path.join(tmp, "agents.npy"), os.path.join(tmp, "principals.npy")
                np.save(a_path, a)
                np.save(p_path, p)
                d = dgeval_results(args.cli, a_path, p_path, os.path.join(tmp, "r.npz"))
                for name, fn, put, wait in found:
                    r = wait(fn(put(a), put(p)))
                    b = {k: np.asarray(v) for k, v in r.items()}
                    label = f"{name} {'x'.join(map(str, dims))} x{count} {'uniform' if not grid else f'grid {grid}'}"
                    before = len(problems)
                    compare(label, b, d, dims, problems)
                    s = summary.setdefault(name, [0, 0, 0, 0])
                    s[0] += 1
                    s[1] += count
                    s[2] += int(np.sum(d["pure_ne_count"] == 0))
                    s[3] += len(problems) > before
    for name, (cases, total, no_ne, bad) in summary.items():
        print(f"check_baseline.py: {name}: {cases} cases, {total} games ({no_ne} without a pure NE), "
              f"{cases - bad} agree with dgeval")
    for line in problems[:20]:
        print("  MISMATCH", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
