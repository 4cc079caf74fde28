"""The paper's experiments (dgeval/experiments.hpp, ``dgeval experiment grid-scan |
bound-surface | inference``), as tables of NumPy columns named as the CLI's CSVs."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._arrays import _float_list, _name_list, _size_list
from ._base import Error


def _column_dict(raw: Dict[str, Any]) -> Dict[str, np.ndarray]:
    """The compiled layer's columns (arrays, or lists of str) as NumPy arrays."""
    return {k: (np.array(v, dtype=str) if isinstance(v, list) else v) for k, v in raw.items()}


class Table(dict):
    """A dict of equal-length 1-D NumPy columns, named and ordered as the columns of the CSV the
    CLI writes (``table.to_frame()``, :func:`to_frame` or ``pandas.DataFrame(table)`` make the
    DataFrame), with more results as attributes: ``summary`` (a dict of totals) and, depending
    on the function, further tables."""

    summary: Dict[str, Any]

    def __init__(self, columns: Dict[str, Any], summary: Optional[Dict[str, Any]] = None, **extra: Any) -> None:
        super().__init__(columns)
        self.summary = dict(summary or {})
        for name, value in extra.items():
            setattr(self, name, value)

    @property
    def rows(self) -> int:
        """The number of rows (0 for no columns)."""
        return len(next(iter(self.values()))) if self else 0

    def to_frame(self):
        """``pandas.DataFrame(self)``."""
        import pandas as pd

        return pd.DataFrame(dict(self))


def grid_scan(
    *,
    preset: str = "main",
    scale: int = 1000,
    games_per_point: Optional[int] = None,
    sizes: Any = None,
    variables: Any = "ia,ic,ca,cc",
    others: Any = None,
    increments: int = 25,
    seed: int = 1282,
    distribution: str = "normal",
    pure_ne: str = "reject",
    welfare: str = "average",
    cc_window: str = "code",
    threads: int = 0,
    backend: str = "auto",
    device: int = 0,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Table:
    """The grid scan of docs/MATH.md §7.1 as ``dgeval experiment grid-scan`` runs it, with its flags as
    keywords: principal welfare against each measure with the bounds R3, R5, R2.

    ``preset`` "main" (3x3, others 0.9, 25 games per point) or "appendix" (5x5x4, 6x7x4x6,
    7x3x8x5x12, others 0, 0.25, 0.5, 0.75, 1, 10 games per point); ``scale`` multiplies the
    paper's games per point (default 1000, as the CLI); ``games_per_point``, ``sizes``
    ("3x3,5x5x4" or a list of dims) and ``others`` override them. ``variables``: the measures
    to sweep; the swept values are linspace(0, 1, increments + 1). ``backend``: "auto" (the GPU
    when usable), "cpu" or "cuda" (the same games generated and evaluated on the device).

    Returns a :class:`Table`: one row per grid point, the columns of the CLI's CSV (dims,
    variable, others, value, ..., w_hat_max_mean, ..., r2_fail, r5_fail, r3_fail, ...), and
    ``summary``: totals of games, evaluated, r2_fail, r5_fail, r3_fail, fallback,
    r3_fail_fallback, eps_tol_raised and the largest ia_error_max, ca_error_max. A failed
    theorem bound (R2, R5, or R3 with a non-empty played window; the CLI's exit status 3) also
    issues a RuntimeWarning. The GIL is released while it runs; ``progress(games_done,
    games_total)`` returning False stops it with :class:`Cancelled`, Ctrl-C with
    KeyboardInterrupt.
    """
    if preset == "main":
        p_sizes, p_others, paper_games = [[3, 3]], [0.9], 25
    elif preset == "appendix":
        p_sizes, p_others, paper_games = [[5, 5, 4], [6, 7, 4, 6], [7, 3, 8, 5, 12]], [0.0, 0.25, 0.5, 0.75, 1.0], 10
    else:
        raise Error("preset: expected main or appendix")
    if int(scale) < 1:
        raise Error("scale must be at least 1")
    gpp = int(games_per_point) if games_per_point is not None else paper_games * int(scale)
    raw = _core.grid_scan(
        _size_list(sizes) if sizes is not None else p_sizes,
        _name_list(variables),
        _float_list(others, "others") if others is not None else p_others,
        int(increments),
        gpp,
        int(seed),
        str(distribution),
        str(pure_ne),
        str(welfare),
        str(cc_window),
        int(threads),
        str(backend),
        int(device),
        progress,
    )
    cols = _column_dict(raw)
    summary: Dict[str, Any] = {
        name: int(np.sum(cols[name]))
        for name in ("games", "evaluated", "r2_fail", "r5_fail", "r3_fail", "fallback", "r3_fail_fallback",
                     "eps_tol_raised")
    }
    for name in ("ia_error_max", "ca_error_max"):
        summary[name] = float(np.max(cols[name])) if cols[name].size else 0.0
    failed = summary["r2_fail"] + summary["r5_fail"] + summary["r3_fail"]
    if failed:
        warnings.warn(
            f"grid scan: theorem bounds failed: R2 {summary['r2_fail']}, R5 {summary['r5_fail']}, R3 with a "
            f"non-empty played window {summary['r3_fail']} (a bug: please report)",
            RuntimeWarning,
            stacklevel=2,
        )
    return Table(cols, summary)


class BoundSurfaceShard:
    """One shard of a bound-surface run (``dgeval.bound_surface(..., shard=(index, count))``):
    the games ``[first_game, first_game + games)``, the ``index``-th of ``count`` contiguous
    near-equal ranges, with the exact integer accumulators of its bins (``accumulators``, uint64,
    6 x bins: count, the low and high words of the 128-bit fixed-point sum of the principals'
    regret, the largest regret's orderable bits, the two counts above the bounds) and its games
    among the first ``keep_points`` (``points``). Plain data: it pickles, so ``mpi4py``'s
    ``comm.gather`` carries it; :func:`merge_bound_surface` of every shard of a run gives that
    run's table, bit for bit."""

    def __init__(
        self, config: Dict[str, Any], index: int, count: int, first_game: int, games: int,
        accumulators: np.ndarray, points: Dict[str, np.ndarray],
    ) -> None:
        self.config = config
        self.index = index
        self.count = count
        self.first_game = first_game
        self.games = games
        self.accumulators = accumulators
        self.points = points

    def __repr__(self) -> str:
        return (f"BoundSurfaceShard({self.index} of {self.count}: games [{self.first_game}, "
                f"{self.first_game + self.games}))")


# The arguments that define a bound-surface run (what every shard of one run shares), in
# _core's order; threads, backend, device and chunk only say how a shard is computed.
_SURFACE_RUN = ("games", "players", "outcomes", "calibration", "standardisation", "welfare", "distribution",
                "bins_x", "bins_y", "seed", "keep_points")


def _surface_table(raw: Any) -> Table:
    bins_raw, points_raw, summary = raw
    summary = dict(summary)
    if summary["above_bound"] + summary["bin_bound_exceeded"] > 0:
        warnings.warn(
            f"bound surface: {summary['above_bound']} games above the R2 bound and {summary['bin_bound_exceeded']} "
            "bins above the surface at their upper corner (a theorem: a bug, please report)",
            RuntimeWarning,
            stacklevel=3,
        )
    return Table(_column_dict(bins_raw), summary, points=Table(_column_dict(points_raw)))


def bound_surface(
    *,
    games: int = 100000,
    players: int = 4,
    outcomes: int = 4,
    calibration: Any = 1.0,
    standardisation: str = "max",
    welfare: str = "sum",
    distribution: str = "uniform",
    bins: Any = (40, 40),
    seed: int = 9622709,
    keep_points: int = 0,
    threads: int = 0,
    backend: str = "auto",
    device: int = 0,
    chunk: int = 0,
    shard: Optional[Tuple[int, int]] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Any:
    """The bound surface of docs/MATH.md §7.3 as ``dgeval experiment bound-surface`` computes it:
    agents' welfare regret × total misalignment × principals' regret, binned, with the R2
    surface. ``calibration``: ratios r_i (one, or one per player); ``bins``: (x, y), one int
    for both, or "40x40". ``backend``: "auto" (the GPU when usable), "cpu" or "cuda" (games
    generated, evaluated and binned on the device); ``chunk``: games at once (0:
    2^16 on the CPU, 2^21 on a GPU).

    Returns a :class:`Table` with one row per bin, the columns of the CLI's bins CSV (ix, iy,
    wr_low, wr_high, tm_low, tm_high, count, pwr_mean, pwr_max, bound_centre, bound_upper,
    above_simple, above_bound); ``points``: a :class:`Table` of the first ``keep_points`` games
    (the columns of ``--points``); and ``summary``: games, above_simple, above_bound,
    bin_bound_exceeded, wr_max, tm_max. A failed theorem bound (above_bound or
    bin_bound_exceeded; the CLI's exit status 3) issues a RuntimeWarning. The GIL is released;
    ``progress`` and Ctrl-C as for :func:`grid_scan`.

    ``shard=(index, count)`` computes only the ``index``-th of ``count`` shards of the run (one
    per MPI rank, say) and returns a :class:`BoundSurfaceShard`; :func:`merge_bound_surface` of
    all of them is the table above, bit for bit (docs/SCALING.md).
    """
    if isinstance(bins, str):
        try:
            b = _core.parse_dims(bins)
        except Error as e:
            raise Error(str(e)) from None
    elif np.ndim(bins) == 0:
        b = [int(bins), int(bins)]
    else:
        b = [int(k) for k in bins]
    if len(b) != 2:
        raise Error("bins: expected AxB")
    run = dict(zip(_SURFACE_RUN, (
        int(games), int(players), int(outcomes), _float_list(calibration, "calibration"), str(standardisation),
        str(welfare), str(distribution), int(b[0]), int(b[1]), int(seed), int(keep_points))))
    how = dict(threads=int(threads), backend=str(backend), device=int(device), chunk=int(chunk))
    if shard is None:
        return _surface_table(_core.bound_surface(**run, **how, progress=progress))
    try:
        index, count = (int(k) for k in shard)
    except (TypeError, ValueError):
        raise Error("shard: expected (index, count)") from None
    first, n, acc, points = _core.bound_surface_shard(**run, **how, index=index, count=count, progress=progress)
    return BoundSurfaceShard(run, index, count, first, n, acc, _column_dict(points))


def merge_bound_surface(shards: Sequence[BoundSurfaceShard]) -> Table:
    """The bound surface of a run from every one of its shards (``bound_surface(...,
    shard=(index, count))`` for each index, in any order): the :class:`Table` that
    ``bound_surface`` without ``shard`` returns, bit for bit. Shards of different runs, a shard
    missing or given twice raise :class:`Error`."""
    shards = list(shards)
    if not shards:
        raise Error("bound surface: no shards to merge")
    run = shards[0].config
    for s in shards:
        if not isinstance(s, BoundSurfaceShard):
            raise Error(f"merge_bound_surface: expected BoundSurfaceShard objects, got {type(s).__name__}")
        if s.config != run:
            differ = ", ".join(k for k in _SURFACE_RUN if s.config.get(k) != run.get(k))
            raise Error(f"bound surface: shard {s.index} of {s.count} is of another run than shard "
                        f"{shards[0].index} of {shards[0].count} (differing in: {differ})")
    parts = [
        (s.index, s.count, s.first_game, s.games, np.ascontiguousarray(s.accumulators, dtype=np.uint64),
         *(np.ascontiguousarray(s.points[k], dtype=np.float64) for k in
           ("agents_welfare_regret", "total_misalignment", "principals_welfare_regret", "bound")))
        for s in shards
    ]
    return _surface_table(_core.bound_surface_merge(**run, threads=0, backend="cpu", device=0, chunk=0, parts=parts))


def inference_experiment(
    *,
    sizes: Any = None,
    games: int = 25,
    samples: int = 1000,
    every: int = 10,
    seed: int = 1282,
    threads: int = 0,
    per_game: bool = False,
    backend: str = "auto",
    device: int = 0,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Table:
    """The inference experiment of docs/MATH.md §6 as ``dgeval experiment inference`` runs it:
    estimation error against the number of samples, for ``games`` games per size (default the
    first four paper sizes 3x3, 5x5x4, 6x7x4x6, 7x3x8x5x12), ``samples`` samples per
    distribution, estimating after every ``every`` samples. ``backend``: "auto" (the GPU when
    usable), "cpu" or "cuda" (one game per GPU thread; the same results bit for bit).

    Returns a :class:`Table` of the curves with the columns of the CLI's CSV (size, outcomes,
    distribution, estimator, measure, samples, games, undefined, mean, sd, mean_lo, mean_hi,
    q05, q50, q95) and ``per_game``: with ``per_game=True`` a :class:`Table` with the columns
    of ``--per-game`` (size, outcomes, game, distribution, estimator, samples, ia_error, ...),
    else None. The GIL is released; ``progress`` and Ctrl-C as for :func:`grid_scan`.
    """
    curves, rows = _core.inference_experiment(
        _size_list(sizes) if sizes is not None else [],
        int(games),
        int(samples),
        int(every),
        int(seed),
        int(threads),
        bool(per_game),
        str(backend),
        int(device),
        progress,
    )
    return Table(_column_dict(curves), per_game=Table(_column_dict(rows)) if rows is not None else None)
