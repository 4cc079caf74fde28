#!/usr/bin/env python3
"""Error curves of the inference experiment (docs/MATH.md §6, docs/INFERENCE.md), plotted like the paper.

Input: the curves CSV of `dgeval experiment inference` (one row per size, distribution,
estimator, measure and checkpoint, with the mean error over games, its 90% interval and
quantiles). With --run, the script first runs the experiment itself, so one command reproduces
the data and the figures:

    python3 scripts/plots/inference.py --run --dgeval build/dgeval --games 25 \
        --curves docs/figures/inference_curves.csv --out docs/figures

Figures (one per measure, as in the paper: x = samples on a log scale, y = absolute error,
one line per game size with a 90% band):
    inference_ia.png, inference_ca.png  distribution `all`; panels: authors | corrected
    inference_ic.png                    distribution `eps_ne`; rows: nominal IC | realised IC
    inference_cc.png                    distribution `played`; rows: target CC | realised CC
Lines and bands: the mean with the 90% interval of the mean over games (the paper's seaborn
band), or with --band quantile the median with the 5%-95% range of the games' errors (robust
to the heavy tail of the corrected CC, whose observed span w* - w_0 can be tiny early on).
"""

import argparse
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# The paper's y limits (docs/MATH.md §6 step 6).
YMAX = {"ia": 0.1, "ca": 0.1, "ic": 0.6, "cc": 0.6}
DISTRIBUTION = {"ia": "all", "ca": "all", "ic": "eps_ne", "cc": "played"}
TITLE = {"ia": "IA (mean over players)", "ca": "CA (agents)", "ic": "IC (mean over players)", "cc": "CC"}


def run_experiment(args):
    cmd = [args.dgeval, "experiment", "inference", "--games", str(args.games), "--samples", str(args.samples),
           "--every", str(args.every), "--seed", str(args.seed), "-o", args.curves]
    if args.sizes:
        cmd += ["--sizes", args.sizes]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    print("running:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def panel(ax, df, measure, estimator, band, ymax, title):
    sub = df[(df.measure == measure) & (df.estimator == estimator)]
    for size, g in sub.groupby("size", sort=False):
        g = g.sort_values("samples")
        outcomes = int(g.outcomes.iloc[0])
        centre = g["mean"] if band == "ci" else g["q50"]
        line, = ax.plot(g.samples, centre, label=f"{size} ({outcomes})", lw=1.4)
        if band == "ci":
            ax.fill_between(g.samples, g.mean_lo.clip(lower=0), g.mean_hi, color=line.get_color(), alpha=0.2, lw=0)
        else:  # the 5%-95% range is wide: its edges as thin dotted lines rather than a fill
            ax.plot(g.samples, g.q95, color=line.get_color(), lw=0.7, ls=":")
            ax.plot(g.samples, g.q05, color=line.get_color(), lw=0.7, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(10, df.samples.max())
    ax.set_ylim(0, ymax)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3, lw=0.5)
    ax.tick_params(labelsize=8)


def figure(df, measure, band, out, suffix, note):
    d = df[df.distribution == DISTRIBUTION[measure]]
    realised = measure in ("ic", "cc")
    rows = 2 if realised else 1
    fig, axes = plt.subplots(rows, 2, figsize=(8, 3.1 * rows), sharex=True, squeeze=False)
    truth = {"ic": ("nominal IC", "realised IC"), "cc": ("target CC", "realised CC")}.get(measure, ("truth",))
    for r in range(rows):
        m = measure if r == 0 else measure + "_realised"
        for c, est in enumerate(("authors", "corrected")):
            panel(axes[r][c], d, m, est, band, YMAX[measure],
                  f"{est}, error against the {truth[r]}" if realised else f"{est}")
        axes[r][0].set_ylabel("absolute error", fontsize=8)
    for c in range(2):
        axes[rows - 1][c].set_xlabel("samples", fontsize=8)
    axes[0][0].legend(title="size (outcomes)", fontsize=7, title_fontsize=7, loc="upper right")
    band_text = "mean, 90% interval of the mean over games" if band == "ci" else "median (solid) and 5%, 95% quantiles (dotted) over games"
    fig.suptitle(f"Inference of {TITLE[measure]} from samples of `{DISTRIBUTION[measure]}`{note}\n{band_text}",
                 fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, f"inference_{measure}{suffix}.png")
    fig.savefig(path, dpi=args_dpi)
    plt.close(fig)
    print("wrote", path, file=sys.stderr)


args_dpi = 80


def main():
    global args_dpi
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("curves", nargs="?", help="curves CSV of `dgeval experiment inference` (or --curves with --run)")
    p.add_argument("--curves", dest="curves_out", help="with --run: where the experiment writes its CSV")
    p.add_argument("--out", default="docs/figures", help="folder of the figures")
    p.add_argument("--suffix", default="", help="appended to the figure names, e.g. _1000x")
    p.add_argument("--band", choices=("ci", "quantile"), default="ci")
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--run", action="store_true", help="run `dgeval experiment inference` first")
    p.add_argument("--dgeval", default="build/dgeval", help="the dgeval binary (with --run)")
    p.add_argument("--games", type=int, default=25)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--seed", type=int, default=1282)
    p.add_argument("--sizes", default="")
    p.add_argument("--threads", type=int)
    args = p.parse_args()
    args_dpi = args.dpi
    if args.run:
        args.curves = args.curves_out or args.curves or "inference_curves.csv"
        run_experiment(args)
    if not args.curves:
        p.error("give the curves CSV, or --run")
    df = pd.read_csv(args.curves)
    games = int((df.games + df.undefined).max())
    os.makedirs(args.out, exist_ok=True)
    for m in ("ia", "ca", "ic", "cc"):
        figure(df, m, args.band, args.out, args.suffix, f"; {games} games per size")


if __name__ == "__main__":
    main()
