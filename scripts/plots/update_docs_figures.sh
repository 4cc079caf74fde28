#!/usr/bin/env bash
# Maintainers only: regenerates the figures committed in docs/figures (shown by docs/EXPERIMENTS.md
# and docs/INFERENCE.md) from fresh runs at the scale those pages state. The experiments' CSVs
# go to a temporary folder (kept with --keep); only the committed PNGs are written into the
# repository. Users plot into their own folder instead (the scripts' default is ./figures).
#
#   scripts/plots/update_docs_figures.sh [--dgeval build/dgeval] [--python python3] [--keep] [PART ...]
#
# PART: grid (3x3 main text, 15 s; 5x5x4 and 6x7x4x6 appendix, 80 s), surface (20 s),
# inference (25 games per size, 1 s), inference-2500 (2,500 games per size, about 3 min);
# default: these, the figures committed today (about 5 minutes on this project's 2-core machine).
# inference-25000 (25,000 games per size, about 25 min on 2 cores) adds inference_*_25000.png,
# which are not committed; on a GPU, plot the CSV of bench/device_check.sh with inference.py.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dgeval=$root/build/dgeval
python=python3
keep=0
parts=()
while [ $# -gt 0 ]; do
  case $1 in
    --dgeval) dgeval=$(realpath "$2"); shift 2 ;;
    --python) python=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    grid|surface|inference|inference-2500|inference-25000) parts+=("$1"); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -gt 0 ] || parts=(grid surface inference inference-2500)
[ -x "$dgeval" ] || { echo "no dgeval binary at $dgeval (build it, or --dgeval PATH)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dgeval-docs-figures.XXXXXX")
if [ $keep -eq 1 ]; then echo "CSVs kept in $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
docs=$root/docs/figures
plot_experiments=("$python" "$here/plot_experiments.py")
inference=("$python" "$here/inference.py")

for part in "${parts[@]}"; do
  echo "== $part" >&2
  case $part in
    grid)
      "$dgeval" experiment grid-scan --preset main --scale 1000 -o "$work/grid_main.csv"
      "$dgeval" experiment grid-scan --preset appendix --pure-ne plant --sizes 5x5x4 --games-per-point 1000 \
        -o "$work/grid_app_5x5x4.csv"
      "$dgeval" experiment grid-scan --preset appendix --pure-ne plant --sizes 6x7x4x6 --games-per-point 100 \
        -o "$work/grid_app_6x7x4x6.csv"
      "${plot_experiments[@]}" grid "$work"/grid_*.csv --out "$work/grid"
      # the script draws one figure per (size, others); docs/EXPERIMENTS.md shows these three
      for f in grid_3x3_others0p9 grid_5x5x4_others0p5 grid_6x7x4x6_others0p5; do
        cp "$work/grid/$f.png" "$docs/$f.png"
      done ;;
    surface)
      "$dgeval" experiment bound-surface --games 5000000 --bins 30x30 --calibration 2,1,1,0.5 \
        -o "$work/surface_miscalibrated.csv" --points "$work/points_miscalibrated.csv" --keep-points 2000
      "${plot_experiments[@]}" surface "$work/surface_miscalibrated.csv" --points "$work/points_miscalibrated.csv" \
        --name bound_surface_miscalibrated --out "$docs" ;;
    inference)
      "${inference[@]}" --run --dgeval "$dgeval" --games 25 --curves "$work/inference_curves.csv" --out "$docs" ;;
    inference-2500)
      "${inference[@]}" --run --dgeval "$dgeval" --games 2500 --curves "$work/inference_curves_2500.csv" \
        --out "$docs" --suffix _2500 --band quantile ;;
    inference-25000)
      "${inference[@]}" --run --dgeval "$dgeval" --games 25000 --curves "$work/inference_curves_25000.csv" \
        --out "$docs" --suffix _25000 --band quantile ;;
  esac
done
