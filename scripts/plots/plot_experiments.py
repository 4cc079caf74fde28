#!/usr/bin/env python3
"""Figures of the dgeval experiments (docs/EXPERIMENTS.md), as PNG and PDF.

  plot_experiments.py grid    GRID.csv [GRID2.csv ...]   --out DIR   one figure per (dims, others)
  plot_experiments.py surface BINS.csv [--points P.csv]  --out DIR [--name NAME]

grid: principal welfare, normalised per game to [ŵ⁻ (Min), ŵ⁺ (Max)], against each swept
measure (IA, IC, CA, CC), like the paper's Figure: ŵ* and ŵ_min (teal), ŵ over the played set
(red), bound 1 = ŵ* − R3 (orange), bound 2 = ŵ⁺ − R5 (blue) and ŵ* − R2 (grey); lines are means
over the games of a point, bands the 5%–95% range of the games (the 90% confidence interval of
the mean is narrower than the line at these counts).

surface: the R2 bound surface over (agents' welfare regret, total misalignment), with the largest
principals' regret of each 2-D bin as points (and a sample of games if --points is given).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LABELS = {"ia": "Individual alignment (IA)", "ic": "Individual capabilities (IC)",
          "ca": "Collective alignment (CA)", "cc": "Collective capabilities (CC)"}
SERIES = [  # column prefix, label, colour, line style, band
    ("w_hat_max", r"$\hat w^*$ (best outcome)", "#1b9e77", "-", False),
    ("w_hat_min", r"$\hat w_{\min}$ (worst outcome)", "#1b9e77", ":", False),
    ("w_hat_avg", r"$\hat w$ over the played set", "#d62728", "-", True),
    ("bound_1", r"bound 1: $\hat w^* - $R3", "#ff7f0e", "-", True),
    ("bound_2", r"bound 2: $\hat w^+ - $R5", "#1f77b4", "-", True),
    ("bound_r2", r"$\hat w^* - $R2 (theorem)", "#7f7f7f", "--", False),
]


def save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    for ext in ("png", "pdf"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=80 if ext == "png" else 150, bbox_inches="tight")
        print(path)
    plt.close(fig)


def plot_grid(paths, out):
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    for (dims, others), g in df.groupby(["dims", "others"], sort=False):
        variables = [v for v in ("ia", "ic", "ca", "cc") if v in set(g["variable"])]
        fig, axes = plt.subplots(1, len(variables), figsize=(3.3 * len(variables), 3.0), sharey=True,
                                 squeeze=False)
        for ax, var in zip(axes[0], variables):
            d = g[g["variable"] == var].sort_values("value")
            x = d["value"].to_numpy()
            for col, label, colour, style, band in SERIES:
                ax.plot(x, d[f"{col}_mean"], style, color=colour, lw=1.4, label=label)
                if band:
                    ax.fill_between(x, d[f"{col}_q05"], d[f"{col}_q95"], color=colour, alpha=0.12, lw=0,
                                    rasterized=True)
            ax.set_xlim(0, 1)
            ax.set_ylim(-0.05, 1.05)
            ax.set_xlabel(LABELS[var])
            ax.set_yticks([0, 0.5, 1])
            ax.set_yticklabels(["Min", "", "Max"])
            fails = int(d["r2_fail"].sum() + d["r5_fail"].sum() + d["r3_fail"].sum())
            ax.set_title(f"{fails} bound failures", fontsize=8)
        axes[0][0].set_ylabel("Principal welfare")
        games = int(g["games"].iloc[0])
        fig.suptitle(f"{dims}, other measures at {others:g}, {games:,} games per point", fontsize=10)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        fig.legend(handles, labels, loc="lower center", ncol=len(SERIES), fontsize=7.5, frameon=False)
        save(fig, out, f"grid_{dims}_others{others:g}".replace(".", "p"))


def plot_surface(bins_path, points_path, out, name):
    b = pd.read_csv(bins_path)
    nx, ny = b["ix"].max() + 1, b["iy"].max() + 1
    wr = 0.5 * (b["wr_low"] + b["wr_high"]).to_numpy().reshape(nx, ny)
    tm = 0.5 * (b["tm_low"] + b["tm_high"]).to_numpy().reshape(nx, ny)
    bound = b["bound_centre"].to_numpy().reshape(nx, ny)
    fig = plt.figure(figsize=(10.5, 4.2))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    ax.plot_surface(wr, tm, bound, cmap="viridis", alpha=0.35, linewidth=0, antialiased=True, rasterized=True)
    filled = b[b["count"] > 0]
    cx = 0.5 * (filled["wr_low"] + filled["wr_high"])
    cy = 0.5 * (filled["tm_low"] + filled["tm_high"])
    gap = filled["bound_upper"] - filled["pwr_max"]
    sc = ax.scatter(cx, cy, filled["pwr_max"], c=gap, cmap="plasma", s=5, depthshade=False, rasterized=True)
    if points_path:
        p = pd.read_csv(points_path)
        ax.scatter(p["agents_welfare_regret"], p["total_misalignment"], p["principals_welfare_regret"],
                   s=0.5, c="k", alpha=0.25, depthshade=False, rasterized=True)
    ax.set_xlabel("agents' welfare regret")
    ax.set_ylabel("total misalignment")
    ax.set_zlabel("principals' welfare regret")
    ax.view_init(elev=22, azim=-128)
    fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.1, label="bound − largest regret in bin")
    ax2 = fig.add_subplot(1, 2, 2)
    ratio = np.full((nx, ny), np.nan)
    for _, r in filled.iterrows():
        ratio[int(r["ix"]), int(r["iy"])] = r["pwr_max"] / r["bound_upper"] if r["bound_upper"] > 0 else np.nan
    im = ax2.imshow(ratio.T, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="magma",
                    extent=[b["wr_low"].min(), b["wr_high"].max(), b["tm_low"].min(), b["tm_high"].max()])
    fig.colorbar(im, ax=ax2, label="largest regret / bound (≤ 1)")
    ax2.set_xlabel("agents' welfare regret")
    ax2.set_ylabel("total misalignment")
    games = int(b["count"].sum())
    above = int(b["above_bound"].sum())
    simple = int(b["above_simple"].sum())
    ax2.set_title(f"{games:,} games: {above} above R2, {simple} above the simple bound", fontsize=9)
    fig.tight_layout()
    save(fig, out, name)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    g = sub.add_parser("grid")
    g.add_argument("csv", nargs="+")
    g.add_argument("--out", default="docs/figures")
    s = sub.add_parser("surface")
    s.add_argument("csv")
    s.add_argument("--points")
    s.add_argument("--out", default="docs/figures")
    s.add_argument("--name", default="bound_surface")
    a = ap.parse_args(argv)
    if a.what == "grid":
        plot_grid(a.csv, a.out)
    else:
        plot_surface(a.csv, a.points, a.out, a.name)


if __name__ == "__main__":
    main(sys.argv[1:])
