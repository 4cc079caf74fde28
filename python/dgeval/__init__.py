"""dgeval: batch evaluation of delegation games from NumPy.

A delegation game has n principals, each delegating to one agent; the agents play a
normal-form game with action counts k_1..k_n and the principals live with the outcome.
Utilities are arrays of shape [B, n, k_1, ..., k_n] (a batch of B games) or [n, k_1, ..., k_n]
(one game): entry [b, i, s_1, ..., s_n] is player i's utility at outcome (s_1, ..., s_n) of
game b. The measures (IA, CA, IC, CC, welfare, regrets, bounds) are those of docs/MATH.md
(see docs/MEASURES.md in the repository).

    >>> import dgeval
    >>> ex = dgeval.example("mammoth")
    >>> r = dgeval.evaluate(ex.agents, ex.principals)
    >>> float(r["principals_welfare_regret"])
    8.0

The main entry points are :func:`evaluate` (a :class:`Result`: a dict of NumPy arrays with
``.to_frame()``), :func:`to_frame` (a pandas DataFrame of any result or table),
:func:`examples`, :func:`example`, :func:`generate_uniform` and :func:`result_columns`.
Beside them, as the CLI's other commands:

* :func:`generate` (``dgeval generate``): games with controlled IA, CA, calibration and pure NE,
  with what the generator achieved (:class:`GenerateInfo`);
* :func:`infer` (``dgeval infer``): IA, CA, IC and CC with bootstrap intervals from observations
  (arrays, :func:`read_observations`, or :func:`sample_observations` from a game);
* :func:`grid_scan`, :func:`bound_surface`, :func:`inference_experiment` (``dgeval
  experiment ...``): the paper's experiments, as tables of NumPy columns named as the CSVs.

    >>> g = dgeval.generate((3, 3), 100, seed=7, ia=0.3, ca_principals=0.6)
    >>> bool(abs(g.evaluate()["ca_principals"] - 0.6).max() < 1e-9)
    True
"""

from __future__ import annotations

import enum
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._frame import Result, to_frame

__all__ = [
    "__version__",
    "BackendWarning",
    "Cancelled",
    "Column",
    "Error",
    "Example",
    "Flag",
    "cuda_available",
    "evaluate",
    "example",
    "examples",
    "Games",
    "generate_uniform",
    "read_games",
    "read_nfg",
    "write_nfg",
    "result_columns",
    "Result",
    "to_frame",
    # dgeval generate
    "generate",
    "GeneratedGames",
    "GenerateInfo",
    "GeneratorFlag",
    # dgeval infer
    "infer",
    "Inference",
    "Estimate",
    "Observations",
    "OBSERVED_SETS",
    "read_observations",
    "sample_observations",
    "outcome_sets",
    # dgeval experiment
    "Table",
    "grid_scan",
    "bound_surface",
    "inference_experiment",
]

__version__: str = _core.version()

#: Raised for bad input and misuse (bad arrays, unknown option names, out-of-range levels,
#: NaN utilities, ...). A subclass of ValueError; the message is the one the CLI prints.
Error = _core.Error
Error.__module__ = "dgeval"

#: Raised when the ``progress`` callback of :func:`evaluate` returns False.
Cancelled = _core.Cancelled
Cancelled.__module__ = "dgeval"
Result.__module__ = "dgeval"


class BackendWarning(UserWarning):
    """``backend="auto"`` fell back to the CPU although dgeval was built with CUDA (issued once
    per process, with the reason; pass ``backend="cpu"`` to choose the CPU explicitly)."""


class Column(NamedTuple):
    """One result column: ``kind`` is "player_real" (float64 [B, n]), "real" (float64 [B]),
    "integer" (int64 [B]) or "boolean" (float64 [B]: 1.0, 0.0, or NaN where undefined)."""

    name: str
    kind: str
    description: str


_COLUMNS: Tuple[Column, ...] = tuple(Column(*c) for c in _core.result_columns())

#: Bits of the ``flags`` result column (``Flag(r["flags"][g])`` names them).
Flag = enum.IntFlag("Flag", [(name, value) for name, value in _core.result_flags()], module=__name__)


def result_columns() -> List[Column]:
    """All result columns in output order (the CLI's order and names)."""
    return list(_COLUMNS)


def cuda_available() -> bool:
    """True if the CUDA backend is compiled in and a usable device is present."""
    return bool(_core.cuda_status()[0])


# --------------------------------------------------------------------------------------------
# Input arrays
# --------------------------------------------------------------------------------------------


def _real_array(x: Any, name: str) -> np.ndarray:
    """x as an ndarray of real numbers, not yet converted: float, integer or boolean (nested
    lists of numbers read as float64). Complex, string, object and other dtypes raise
    :class:`Error`."""
    try:
        v = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise Error(f"{name}: cannot be read as an array of numbers ({e})") from None
    if v.dtype.kind == "c":
        raise Error(f"{name}: dtype {v.dtype} is not supported; expected real numbers (pass {name}.real if the "
                    "imaginary parts are zero)")
    if v.dtype.kind not in "biuf":
        raise Error(f"{name}: dtype {v.dtype} is not supported; expected real numbers: a float, integer or "
                    "boolean array")
    if isinstance(x, (list, tuple)) and v.dtype != np.float64:
        v = v.astype(np.float64)
    return v


def _float64_array(x: Any, name: str) -> np.ndarray:
    """x as a C-contiguous float64 ndarray (:func:`_real_array`'s dtypes cast as NumPy casts)."""
    return np.ascontiguousarray(_real_array(x, name), dtype=np.float64)


def _utility_array(x: Any, name: str, copy: bool) -> np.ndarray:
    """x as a C-contiguous, native-endian float32/float64 ndarray (a view where possible):
    integer, boolean and other float arrays are cast to float64, unless ``copy=False``."""
    x = _real_array(x, name)
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        if not copy:
            raise Error(f"{name}: dtype {x.dtype} needs converting to float64, and copy=False forbids converting it")
        x = x.astype(np.float64)
    if not x.dtype.isnative:
        if not copy:
            raise Error(f"{name}: the array is not in native byte order and copy=False forbids converting it")
        x = x.astype(x.dtype.newbyteorder("="))
    if not x.flags.c_contiguous:
        if not copy:
            raise Error(
                f"{name}: the array is not C-contiguous (strides {x.strides}) and copy=False forbids copying it; "
                f"pass np.ascontiguousarray({name}) or copy=True"
            )
        x = np.ascontiguousarray(x)
    return x


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


_BATCH_FORM = "[B, n, k_1, ..., k_n] (a batch: n = shape[1] players need n + 2 axes)"
_SINGLE_FORM = "[n, k_1, ..., k_n] (one game: n = shape[0] players need n + 1 axes)"


def _read_shape(shape: Tuple[int, ...], batch: Optional[bool], name: str) -> Tuple[Tuple[int, ...], int, bool]:
    """(action counts, games, is_batch) from a utility array shape, with the CLI's rules and
    messages: a batch is [B, n, k_1..k_n], one game [n, k_1..k_n]; a shape that reads both
    ways (B = n + 1) is read as a batch, with a warning unless ``batch`` says which."""
    ndim = len(shape)
    text = _shape_text(shape)
    fits_batch = ndim >= 3 and shape[1] == ndim - 2
    fits_single = ndim >= 2 and shape[0] == ndim - 1
    if batch is None:
        if not fits_batch and not fits_single:
            note = ""
            if ndim >= 2 and (shape[0] > _core.max_players() + 2 or (ndim >= 3 and shape[1] > _core.max_players())):
                note = f"; note that at most {_core.max_players()} players are supported"
            raise Error(f"{name}: shape {text} is not {_BATCH_FORM} or {_SINGLE_FORM}{note}")
        batch = fits_batch
        warn = fits_batch and fits_single
    else:
        warn = False
        if batch and not fits_batch:
            raise Error(f"{name}: shape {text} is not {_BATCH_FORM} (batch=True)")
        if not batch and not fits_single:
            raise Error(f"{name}: shape {text} is not {_SINGLE_FORM} (batch=False)")
    actions = tuple(int(k) for k in shape[2:]) if batch else tuple(int(k) for k in shape[1:])
    try:
        dims_text = _core.dims_text(list(actions))
    except Error as e:
        raise Error(f"{name}: shape {text}: {e}") from None
    games = int(shape[0]) if batch else 1
    if warn:
        warnings.warn(
            f"{name}: shape {text} read as {games} games of {len(actions)} players ({dims_text}); "
            "if it is one game, pass batch=False (batch=True silences this warning)",
            stacklevel=3,
        )
    return actions, games, bool(batch)


def _strategy_arrays(
    strategy: str,
    actions: Any,
    weights: Any,
    dims: Tuple[int, ...],
    games: int,
) -> Tuple[np.ndarray, np.ndarray, bool]:
    """(actions int64, weights float64, per_game) for the C++ Strategy."""
    kind = strategy.replace("_", "-")
    no_actions = np.empty(0, dtype=np.int64)
    no_weights = np.empty(0, dtype=np.float64)
    n = len(dims)
    if kind == "pure":
        if weights is not None:
            raise Error("strategy pure takes strategy_actions, not strategy_weights")
        if actions is None:
            raise Error("strategy pure needs strategy_actions: one action per player, [n] or [B, n]")
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise Error(f"strategy_actions: dtype {a.dtype} is not an integer type")
        if a.ndim not in (1, 2) or a.shape[-1] != n:
            raise Error(f"strategy_actions: shape {_shape_text(a.shape)}; expected [{n}] or [B, {n}]")
        return np.ascontiguousarray(a, dtype=np.int64).ravel(), no_weights, a.ndim == 2
    if kind in ("correlated", "product"):
        if actions is not None:
            raise Error(f"strategy {kind} takes strategy_weights, not strategy_actions")
        if weights is None:
            what = "N weights, [k_1..k_n] or [N] (or [B, ...])" if kind == "correlated" else "[sum k_i] or [B, sum k_i]"
            raise Error(f"strategy {kind} needs strategy_weights: {what}")
        if kind == "product" and isinstance(weights, (list, tuple)) and len(weights) == n and all(
            np.ndim(w) == 1 for w in weights
        ):
            lengths = tuple(len(w) for w in weights)
            if lengths != dims:
                raise Error(f"strategy_weights: per-player lengths {lengths}; expected the action counts {dims}")
            weights = np.concatenate([_float64_array(w, "strategy_weights") for w in weights])
        w = _float64_array(weights, "strategy_weights")
        if kind == "correlated":
            N = int(np.prod(dims))
            shared = (tuple(dims), (N,))
            per_game = ((games,) + tuple(dims), (games, N))
            expected = f"[k_1..k_n] = {_shape_text(dims)} or [N] = ({N},), or [B, ...] with B = {games}"
        else:
            total = int(sum(dims))
            shared = ((total,),)
            per_game = ((games, total),)
            expected = f"[sum k_i] = ({total},) or [B, sum k_i] = ({games}, {total})"
        if w.shape in shared:
            return no_actions, w.ravel(), False
        if w.shape in per_game:
            return no_actions, w.ravel(), True
        raise Error(f"strategy_weights: shape {_shape_text(w.shape)}; expected {expected}")
    if actions is not None or weights is not None:
        raise Error(
            f"strategy {strategy} takes no strategy_actions or strategy_weights "
            "(they are for strategy='pure', 'correlated' or 'product')"
        )
    return no_actions, no_weights, False


def _ic_levels(ic: Any) -> List[float]:
    if ic is None:
        return []
    if np.ndim(ic) == 0:
        return [float(ic)]
    return [float(v) for v in np.asarray(ic, dtype=np.float64).ravel()]


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

_backend_warned = False


def _columns_text(columns: Union[None, str, Sequence[str]]) -> str:
    if columns is None:
        return "all"
    if isinstance(columns, str):
        return columns
    names = [str(c) for c in columns]
    if not names:
        raise Error("columns: expected at least one result column name")
    return ",".join(names)


def evaluate(
    agents: Any,
    principals: Any,
    *,
    standardisation: str = "epic",
    welfare: str = "average",
    ic: Union[None, float, Sequence[float]] = None,
    cc: float = 0.0,
    cc_window: str = "code",
    ne_tolerance: float = 1e-10,
    played_tolerance: float = 1e-6,
    strategy: str = "worst-ne",
    strategy_actions: Any = None,
    strategy_weights: Any = None,
    list_equilibria: bool = False,
    distance_matrix: bool = False,
    allow_nonfinite: bool = False,
    columns: Union[None, str, Sequence[str]] = None,
    batch: Optional[bool] = None,
    copy: bool = True,
    backend: str = "auto",
    threads: int = 0,
    device: int = 0,
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
) -> Result:
    """Evaluate every measure for a batch of delegation games (or one game).

    Parameters
    ----------
    agents, principals
        Utilities u (agents) and û (principals), arrays of the same shape: [B, n, k_1, ..., k_n]
        for B games or [n, k_1, ..., k_n] for one game. C-contiguous float32 and float64 arrays
        are used in place (no copy); integer, boolean and other float arrays are cast to float64
        (as NumPy casts them), other layouts and byte orders copied, unless ``copy=False``, which
        raises instead. If the dtypes differ, both are read as float64. Nested lists are read as
        float64; complex, string and object arrays raise :class:`Error`.
    standardisation
        "epic" (mean / L2, default), "max" (midrange / half-range) or "max-range".
    welfare
        "average" (default) or "sum".
    ic
        IC level(s) in [0, 1]: None means 1 (pure Nash equilibria), one number for every
        player, or one per player. ε_i = 1 − IC_i.
    cc, cc_window
        CC level in [0, 1] for the played set and the R3 bound; window "code" or "natural".
    ne_tolerance, played_tolerance
        Slack of the ε-Nash test (1e-10) and of the played-set window (1e-6).
    strategy
        What the agents play: "worst-ne" (default), "best-ne", "uniform-ne", "uniform-eps-ne",
        "played", or a user strategy: "pure" with ``strategy_actions`` (ints, [n] or [B, n]),
        "correlated" with ``strategy_weights`` ([k_1..k_n] or [N], or [B, ...] per game) or
        "product" with ``strategy_weights`` ([Σk_i] or [B, Σk_i], or a list of n per-player
        weight vectors).
    list_equilibria
        Also return ``pure_ne``: per game, an int64 array [E, n] of the pure NE action tuples
        (C order). For a batch it is a list of B such arrays.
    distance_matrix
        Also return ``distance_matrix``: float64 [B, 2n, 2n] standardised distances between
        the 2n utility functions, agents 0..n−1 first, then principals.
    allow_nonfinite
        Accept NaN/±Inf utilities (that game's results become NaN, its flags say so); by
        default they raise :class:`Error` naming the game, side, player and outcome.
    columns
        The result columns to return: None (every column), or names such as
        ``["ia", "ca_principals", "principals_welfare_regret", "bound"]`` (or one
        comma-separated string, as the CLI's ``--columns``). ``flags`` is always returned, and
        with it the bound checks. On the GPU the other columns are neither stored nor copied.
    batch
        None (default) infers the form from the shape; when the shape reads both ways (B = n + 1)
        it is read as a batch with a warning. True or False forces the form.
    backend, threads, device
        "auto" (CUDA if usable, else the CPU), "cpu" or "cuda"; CPU threads (0 = all);
        CUDA device ordinal.
    progress
        Optional ``progress(games_done, games_total)`` called now and then from the calling
        thread; returning False stops the evaluation with :class:`Cancelled`. Ctrl-C always
        stops it with KeyboardInterrupt.

    Returns
    -------
    Result
        A dict with one NumPy array per result column (see :func:`result_columns`), in column
        order: per-player columns float64 [B, n], per-game columns [B] (of the dtype their kind
        says). For a single-game input ([n, k_1..k_n], or ``batch=False``) the game axis is
        dropped: per-player columns are [n] and per-game columns NumPy scalars, and ``pure_ne``
        / ``distance_matrix`` are one [E, n] / [2n, 2n] array. ``pure_ne`` and
        ``distance_matrix`` come after the columns when requested. ``r.to_frame()`` (or
        :func:`to_frame`) gives a pandas DataFrame with one row per game, per-player columns
        expanded to ``ia_0, ia_1, ...`` as in the CLI's CSV; ``pandas.DataFrame(r)`` does not
        work (per-player columns are 2-D).

    The GIL is released while the backend runs.
    """
    copy = bool(copy)
    a = _utility_array(agents, "agents", copy)
    p = _utility_array(principals, "principals", copy)
    if a.shape != p.shape:
        raise Error(
            f"agents and principals differ in shape: {_shape_text(a.shape)} vs {_shape_text(p.shape)}; "
            "both must be [B, n, k_1, ..., k_n] (or [n, k_1, ..., k_n]) with the same sizes"
        )
    if a.dtype != p.dtype:
        if not copy:
            raise Error(f"agents are {a.dtype} but principals {p.dtype}, and copy=False forbids converting either")
        a = a.astype(np.float64)
        p = p.astype(np.float64)
    dims, games, is_batch = _read_shape(a.shape, batch, "agents")
    s_actions, s_weights, s_per_game = _strategy_arrays(strategy, strategy_actions, strategy_weights, dims, games)

    raw = _core.evaluate(
        a,
        p,
        list(dims),
        games,
        str(standardisation),
        str(welfare),
        _ic_levels(ic),
        float(cc),
        str(cc_window),
        float(ne_tolerance),
        float(played_tolerance),
        str(strategy),
        s_actions,
        s_weights,
        s_per_game,
        bool(list_equilibria),
        bool(distance_matrix),
        bool(allow_nonfinite),
        _columns_text(columns),
        str(backend),
        int(threads),
        int(device),
        progress,
    )
    raw.pop("__backend__")
    warning = raw.pop("__warning__")
    global _backend_warned
    if warning and _core.cuda_compiled() and not _backend_warned:
        _backend_warned = True  # once per process: the reason does not change
        warnings.warn(f"dgeval: {warning}", BackendWarning, stacklevel=2)

    result = Result((c.name, raw[c.name]) for c in _COLUMNS if c.name in raw)
    if list_equilibria:
        actions, offsets = raw["pure_ne_actions"], raw["pure_ne_offsets"].tolist()
        result["pure_ne"] = [actions[offsets[g] : offsets[g + 1]] for g in range(games)]
    if distance_matrix:
        result["distance_matrix"] = raw["distance_matrix"]
    if not is_batch:
        result = Result((name, value[0]) for name, value in result.items())
    return result


# --------------------------------------------------------------------------------------------
# Built-in examples and generators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A worked game of docs/MATH.md §8: one game, agents and principals [n, k_1..k_n] float64, and the
    keyword arguments of :func:`evaluate` docs/MATH.md §8 evaluates it with."""

    name: str
    description: str
    agents: np.ndarray = field(repr=False)
    principals: np.ndarray = field(repr=False)
    options: Dict[str, Any] = field(default_factory=dict)

    def evaluate(self, **kwargs: Any) -> Result:
        """``evaluate(self.agents, self.principals, **{**self.options, **kwargs})``."""
        return evaluate(self.agents, self.principals, **{**self.options, **kwargs})


def example(name: str) -> Example:
    """The built-in example called ``name`` ("mammoth", "mammoth-negated", "misaligned",
    "matching-pennies", "common-3x3", "max-ca-negative"); :class:`Error` if unknown."""
    n, description, agents, principals, options = _core.example(str(name))
    return Example(n, description, agents, principals, dict(options))


def examples() -> List[Example]:
    """Every built-in example, in the order of docs/MATH.md §8."""
    return [example(name) for name in _core.example_names()]


def generate_uniform(
    dims: Union[str, Sequence[int]],
    games: int,
    seed: int = 0,
    *,
    first_game: int = 0,
    low: float = 0.0,
    high: float = 1.0,
    threads: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """``games`` random games with i.i.d. uniform utilities in [low, high) on both sides.

    ``dims`` are the action counts, e.g. (3, 3) or "6x7x4x6". Returns (agents, principals), each
    float64 [games, n, k_1..k_n]. Game g is game ``first_game + g`` of the stream ``seed``: the
    same games as ``dgeval evaluate --random B --dims ... --seed S`` (whose range is [0, 1)).
    """
    if isinstance(dims, str):
        actions = _core.parse_dims(dims)
    else:
        actions = [int(k) for k in dims]
    return _core.generate_uniform(actions, int(games), int(seed), int(first_game), float(low), float(high), int(threads))


# --------------------------------------------------------------------------------------------
# Files: Gambit .nfg, NumPy .npy / .npz (the CLI's readers and rules)
# --------------------------------------------------------------------------------------------

PathLike = Union[str, "os.PathLike[str]"]


def read_nfg(path: PathLike, *, allow_nonfinite: bool = False, labels: bool = False):
    """One side (agents or principals) of one game from a Gambit .nfg file ("NFG 1").

    Returns the payoffs as float64 [n, k_1, ..., k_n] in dgeval's C order (the reader
    transposes the file's player-1-fastest order). With ``labels=True`` returns
    ``(payoffs, info)`` with info = {"title", "players", "strategies", "comment"} (strategies:
    labels per player, or [] when the file gives counts). Malformed files raise :class:`Error`
    naming the file, line and column; NaN/Inf are refused unless ``allow_nonfinite``.
    """
    payoffs, title, players, strategies, comment = _core.read_nfg(os.fspath(path), bool(allow_nonfinite))
    if labels:
        return payoffs, {"title": title, "players": list(players), "strategies": [list(s) for s in strategies],
                         "comment": comment}
    return payoffs


def write_nfg(
    path: PathLike,
    payoffs: Any,
    *,
    title: str = "",
    players: Optional[Sequence[str]] = None,
    strategies: Optional[Sequence[Sequence[str]]] = None,
    comment: str = "",
) -> None:
    """Write one side of one game, real numbers [n, k_1, ..., k_n] (integer and boolean arrays cast
    to float64), as a Gambit .nfg file (payoff form, shortest round-trip decimals), atomically. ``players`` names the n players (default
    "Player 1", ...); ``strategies`` optionally labels each player's actions."""
    x = _float64_array(payoffs, "payoffs")
    if x.ndim < 2 or x.shape[0] != x.ndim - 1:
        raise Error(f"write_nfg: shape {_shape_text(x.shape)} is not {_SINGLE_FORM}")
    _core.write_nfg(
        os.fspath(path),
        x.ravel(),
        [int(k) for k in x.shape[1:]],
        str(title),
        [str(p) for p in players] if players is not None else [],
        [[str(label) for label in s] for s in strategies] if strategies is not None else [],
        str(comment),
    )


class Games(NamedTuple):
    """Games read from files: agents and principals [B, n, k_1..k_n] (float32 or float64, as
    stored), and the strategy stored with them as :func:`evaluate` keywords (or None)."""

    agents: np.ndarray
    principals: np.ndarray
    strategy: Optional[Dict[str, Any]]

    def evaluate(self, **kwargs: Any) -> Result:
        """``evaluate(agents, principals, batch=True, **strategy, **kwargs)``."""
        return evaluate(self.agents, self.principals, batch=True, **{**(self.strategy or {}), **kwargs})


def read_games(
    path: PathLike,
    principals: Optional[PathLike] = None,
    *,
    single_game: bool = False,
    allow_nonfinite: bool = False,
) -> Games:
    """Read games as the CLI's ``--input`` does, all into memory.

    * one path: an .npz with arrays ``agents`` and ``principals`` (and optionally
      ``strategy_pure`` / ``strategy_correlated`` / ``strategy_product``), or a single .npy /
      .nfg used as both sides;
    * two paths: agents and principals, each .npy or .nfg.

    Arrays are [B, n, k_1..k_n] or [n, k_1..k_n]; a shape that reads both ways is read as a
    batch (with a warning) unless ``single_game``. The result is always in batch form.
    """
    a, p, notes, kind, actions, weights, per_game = _core.read_games(
        os.fspath(path), os.fspath(principals) if principals is not None else "", bool(single_game),
        bool(allow_nonfinite)
    )
    for note in notes:
        warnings.warn(note.replace("give --single-game", "pass single_game=True"), stacklevel=2)
    strategy = None
    if kind:
        games = a.shape[0]
        strategy = {"strategy": kind}
        if kind == "pure":
            strategy["strategy_actions"] = actions.reshape(games, -1) if per_game else actions
        else:
            strategy["strategy_weights"] = weights.reshape(games, -1) if per_game else weights
    return Games(a, p, strategy)


# --------------------------------------------------------------------------------------------
# Shared argument helpers of the generators, inference and experiments
# --------------------------------------------------------------------------------------------


def _dims(dims: Union[str, Sequence[int]], name: str = "dims") -> List[int]:
    """Action counts from "3x3" / (3, 3), checked by the C++ Dims (its messages)."""
    if isinstance(dims, str):
        return list(_core.parse_dims(dims))
    try:
        actions = [int(k) for k in dims]
    except (TypeError, ValueError):
        raise Error(f"{name}: expected action counts such as (3, 3) or \"3x3\", got {dims!r}") from None
    _core.dims_text(actions)  # raises Error for no players, too many, counts below 1
    return actions


def _size_list(sizes: Any, name: str = "sizes") -> List[List[int]]:
    """Game sizes from "3x3,5x5x4" or a sequence of dims ("3x3" or (3, 3) each)."""
    if isinstance(sizes, str):
        return [_dims(s, name) for s in sizes.split(",")]
    if len(sizes) > 0 and all(isinstance(k, (int, np.integer)) for k in sizes):
        raise Error(f"{name}: a list of sizes is expected, e.g. [(3, 3), (5, 5, 4)] or \"3x3,5x5x4\"")
    return [_dims(s, name) for s in sizes]


def _float_list(x: Any, name: str) -> List[float]:
    """Numbers from one value, a sequence, or a comma-separated string "0.2,0.9"."""
    if x is None:
        return []
    items = x.split(",") if isinstance(x, str) else (list(np.ravel(x)) if np.ndim(x) else [x])
    out = []
    for item in items:
        try:
            out.append(float(item))
        except (TypeError, ValueError):
            raise Error(f"{name}: not a number: {item!r}") from None
    if not out:
        raise Error(f"{name}: no value")
    return out


def _name_list(x: Any) -> List[str]:
    """Names from "a,b" or a sequence of names."""
    if isinstance(x, str):
        return [s for s in x.split(",") if s]
    return [str(s) for s in x]


def _interval(x: Any, name: str, default: Tuple[float, float]) -> Tuple[float, float]:
    """(lo, hi) from (lo, hi), one value (lo = hi) or "lo,hi"."""
    if x is None:
        return default
    v = _float_list(x, name)
    if len(v) == 1:
        return v[0], v[0]
    if len(v) != 2:
        raise Error(f"{name}: expected (lo, hi) or one value")
    return v[0], v[1]


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


# --------------------------------------------------------------------------------------------
# Controlled generation (dgeval generate)
# --------------------------------------------------------------------------------------------

#: Bits of :attr:`GenerateInfo.flags`: what the delegation generator had to do for a game.
GeneratorFlag = enum.IntFlag(
    "GeneratorFlag", [(name, value) for name, value in _core.generator_flags()], module=__name__
)


@dataclass(frozen=True, eq=False)
class GenerateInfo:
    """What the delegation generator reports beside the games (``dgeval generate`` prints the
    same summary): per game, draws used, :class:`GeneratorFlag` bits, the accepted ε of the
    ε-NE (``pure_ne="authors"``), the CA of the controlled side and max_i |IA_i − target_i| as
    the generator computed them (NaN where not controlled); then the targets. Evaluating the
    games recomputes every measure from the utilities."""

    attempts: np.ndarray = field(repr=False)  #: int32 [B]
    flags: np.ndarray = field(repr=False)  #: int32 [B]
    eps_tol: np.ndarray = field(repr=False)  #: float64 [B]
    ca_achieved: np.ndarray = field(repr=False)  #: float64 [B]
    ia_error: np.ndarray = field(repr=False)  #: float64 [B]
    ia: Optional[Tuple[float, ...]] = None  #: IA targets (one for every player, or one each)
    ca: Optional[float] = None  #: the CA target
    ca_side: Optional[str] = None  #: "principals" or "agents" (whose CA is controlled)
    calibration: Optional[Tuple[float, ...]] = None  #: calibration ratio targets

    @property
    def ia_error_max(self) -> float:
        """Largest |achieved IA − target| over games and players (NaN without IA targets)."""
        v = self.ia_error[~np.isnan(self.ia_error)]
        return float(v.max()) if v.size else float("nan")

    @property
    def ca_error_max(self) -> float:
        """Largest |achieved CA − target| (NaN without a CA target)."""
        if self.ca is None or self.ca_achieved.size == 0:
            return float("nan")
        return float(np.max(np.abs(self.ca_achieved - self.ca)))

    @property
    def attempts_mean(self) -> float:
        """Draws per game."""
        return float(np.mean(self.attempts)) if self.attempts.size else float("nan")

    @property
    def planted(self) -> int:
        """Games whose pure NE was planted (``pure_ne="plant"``)."""
        return int(np.count_nonzero(self.flags & int(GeneratorFlag.PLANTED)))

    @property
    def magnitudes_adjusted(self) -> int:
        """Games that needed other magnitudes to reach the CA target."""
        bits = int(GeneratorFlag.MAGNITUDES_REDRAWN | GeneratorFlag.MAGNITUDES_SHRUNK)
        return int(np.count_nonzero(self.flags & bits))

    @property
    def eps_tol_raised(self) -> int:
        """Games accepted with eps_tol > 0 (``pure_ne="authors"``)."""
        return int(np.count_nonzero(self.eps_tol > 0))

    def to_frame(self):
        """A pandas DataFrame with one row per game, indexed by ``game``: attempts, flags,
        eps_tol, ca_achieved, ia_error (the targets stay attributes)."""
        import pandas as pd

        names = ("attempts", "flags", "eps_tol", "ca_achieved", "ia_error")
        return pd.DataFrame({n: getattr(self, n) for n in names}, index=pd.RangeIndex(len(self.attempts), name="game"))


class GeneratedGames(Games):
    """:class:`Games` made by :func:`generate` (``agents``, ``principals``, ``strategy`` = None;
    ``.evaluate()`` works), with ``info``: the delegation generator's :class:`GenerateInfo`, or
    None for the uniform generator."""

    info: Optional[GenerateInfo]


def _generated(agents: np.ndarray, principals: np.ndarray, info: Optional[GenerateInfo]) -> GeneratedGames:
    g = GeneratedGames(agents, principals, None)
    g.info = info
    return g


_GENERATORS = ("uniform", "delegation")


def generate(
    dims: Union[str, Sequence[int]],
    games: int = 1,
    *,
    seed: int = 0,
    first_game: int = 0,
    generator: Optional[str] = None,
    lo: Optional[float] = None,
    hi: Optional[float] = None,
    distribution: Optional[str] = None,
    raw: bool = False,
    magnitude: Any = None,
    offset: Any = None,
    positive: bool = False,
    ia: Any = None,
    ca_principals: Optional[float] = None,
    ca_agents: Optional[float] = None,
    calibration: Any = None,
    scale: Optional[str] = None,
    pure_ne: Optional[str] = None,
    max_attempts: Optional[int] = None,
    float32: bool = False,
    threads: int = 0,
    backend: str = "auto",
    device: int = 0,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> GeneratedGames:
    """``games`` games as ``dgeval generate`` writes them, with its flags as keywords.

    Game g is game ``first_game + g`` of the stream ``seed`` (a pure function of the seed, g and
    the options, whatever ``threads``): ``generate(d, B, seed=s, ...)`` gives the arrays of
    ``dgeval generate --dims d --games B --seed s ...``.

    generator
        "uniform": i.i.d. uniform utilities in [``lo``, ``hi``) (default [0, 1)) on both sides;
        "delegation": controlled measures (docs/MATH.md §7.1). By default "uniform", or "delegation"
        when any of its options below is given (as the CLI chooses).
    distribution
        "normal" (default) or "uniform": the i.i.d. draws behind every utility direction.
    raw
        Utilities are the raw draws (no magnitudes, offsets or targets).
    magnitude, offset
        (lo, hi) or one value: magnitudes m ~ U(lo, hi) (default (0.5, 1.5); EPIC L2 norm of the
        centred utility) and offsets c ~ U(lo, hi) (default (−1, 1)).
    positive
        Shift every utility so that its minimum is 0 (replaces the offsets).
    ia
        Target IA_i: one value for every player or one per player.
    ca_principals, ca_agents
        Target CA of the principals, or of the agents (the principals are then derived from the
        agents); at most one.
    calibration
        Target calibration ratios r_i = m̂_i / m_i (one value or one per player).
    scale
        "epic" (default), "max" or "max-range": the magnitude the draws are scaled to (CA
        targets need "epic").
    pure_ne
        "none" (default), "reject", "plant" or "authors": how the agents' game is made to have a
        pure NE.
    max_attempts
        Draws per game before giving up (default 10000).
    float32
        Return float32 utilities (as ``--float32`` stores them); default float64.
    backend, device
        Where the delegation generator runs: "auto" (the GPU when usable), "cpu" or "cuda"; the
        same games bit for bit on each.
    progress
        Optional ``progress(games_done, games_total)``, called between chunks of the delegation
        generator; returning False stops it with :class:`Cancelled`. Ctrl-C stops it with
        KeyboardInterrupt.

    Returns a :class:`GeneratedGames`: ``agents`` and ``principals`` [B, n, k_1..k_n], and
    ``info`` (:class:`GenerateInfo`, the achieved values beside the targets; None for the
    uniform generator). Invalid targets raise :class:`Error` with the CLI's message. The GIL is
    released while the games are generated.
    """
    actions = _dims(dims)
    games = int(games)
    delegation_options = {
        "distribution": distribution is not None,
        "raw": bool(raw),
        "magnitude": magnitude is not None,
        "offset": offset is not None,
        "positive": bool(positive),
        "ia": ia is not None,
        "ca_principals": ca_principals is not None,
        "ca_agents": ca_agents is not None,
        "calibration": calibration is not None,
        "scale": scale is not None,
        "pure_ne": pure_ne is not None,
        "max_attempts": max_attempts is not None,
    }
    given = [name for name, on in delegation_options.items() if on]
    if generator is None:
        generator = "delegation" if given else "uniform"
    generator = str(generator)
    if generator not in _GENERATORS:
        raise Error(f'generator: unknown "{generator}"; expected ' + " | ".join(_GENERATORS))
    if games < 0:
        raise Error("generate: the number of games must be non-negative")
    if generator == "uniform":
        if given:
            raise Error(
                f"generator='uniform' takes lo and hi only; {', '.join(given)} "
                + ("is an option" if len(given) == 1 else "are options")
                + " of the 'delegation' generator"
            )
        low = 0.0 if lo is None else float(lo)
        high = 1.0 if hi is None else float(hi)
        if not high > low:
            raise Error("hi must be greater than lo")
        if int(first_game) < 0:
            raise Error("generate: first_game must be non-negative")
        a, p = _core.generate_uniform(actions, games, int(seed), int(first_game), low, high, int(threads))
        info = None
    else:
        if lo is not None or hi is not None:
            raise Error("lo and hi are options of the 'uniform' generator, not of 'delegation'")
        ia_targets = _float_list(ia, "ia")
        cal = _float_list(calibration, "calibration")
        m_lo, m_hi = _interval(magnitude, "magnitude", (0.5, 1.5))
        o_lo, o_hi = _interval(offset, "offset", (-1.0, 1.0))
        a, p, attempts, flags, eps_tol, ca_achieved, ia_error = _core.generate(
            actions,
            games,
            int(seed),
            int(first_game),
            "normal" if distribution is None else str(distribution),
            bool(raw),
            m_lo,
            m_hi,
            o_lo,
            o_hi,
            bool(positive),
            ia_targets,
            float("nan") if ca_principals is None else float(ca_principals),
            float("nan") if ca_agents is None else float(ca_agents),
            cal,
            "epic" if scale is None else str(scale),
            "none" if pure_ne is None else str(pure_ne),
            10000 if max_attempts is None else int(max_attempts),
            int(threads),
            str(backend),
            int(device),
            progress,
        )
        ca = ca_principals if ca_principals is not None else ca_agents
        info = GenerateInfo(
            attempts,
            flags,
            eps_tol,
            ca_achieved,
            ia_error,
            ia=tuple(ia_targets) or None,
            ca=None if ca is None else float(ca),
            ca_side=None if ca is None else ("principals" if ca_principals is not None else "agents"),
            calibration=tuple(cal) or None,
        )
    if float32:
        a, p = a.astype(np.float32), p.astype(np.float32)
    return _generated(a, p, info)


# --------------------------------------------------------------------------------------------
# Inference from observations (dgeval infer)
# --------------------------------------------------------------------------------------------

#: The observed sets, by their code in .npz files and :attr:`Observations.set`.
OBSERVED_SETS: Tuple[str, ...] = ("all", "ne", "eps_ne", "played")


def _set_codes(s: Any, rows: int) -> np.ndarray:
    """uint8 codes [rows] from one name, or per row names or codes (0 all, 1 ne, 2 eps_ne, 3 played)."""
    if isinstance(s, str):
        name = s.replace("-", "_")
        if name not in OBSERVED_SETS:
            raise Error(f'unknown observed set "{s}"; expected one of: all, ne, eps_ne, played')
        return np.full(rows, OBSERVED_SETS.index(name), dtype=np.uint8)
    v = np.asarray(s)
    if v.shape != (rows,):
        raise Error(f"set: shape {_shape_text(v.shape)}; expected one name or one entry per row ({rows},)")
    if v.dtype.kind in "iu":
        bad = np.flatnonzero((v < 0) | (v >= len(OBSERVED_SETS)))
        if bad.size:
            raise Error(f"set: row {int(bad[0])}: {int(v[bad[0]])} is not 0 (all), 1 (ne), 2 (eps_ne) or 3 (played)")
        return np.ascontiguousarray(v, dtype=np.uint8)
    if v.dtype.kind in "UO":
        out = np.empty(rows, dtype=np.uint8)
        for k, name in enumerate(OBSERVED_SETS):
            out[(v == name) | (v == name.replace("_", "-"))] = k
        known = np.isin(v, list(OBSERVED_SETS) + ["eps-ne"])
        if not known.all():
            r = int(np.flatnonzero(~known)[0])
            raise Error(f'set: row {r}: unknown observed set "{v[r]}"; expected one of: all, ne, eps_ne, played')
        return out
    raise Error(f"set: dtype {v.dtype}; expected set names or codes 0..3")


@dataclass(frozen=True, eq=False)
class Observations:
    """Observed outcomes (docs/MATH.md §6): per row the action tuple, the agents' utilities u_i(s), the
    principals' û_i(s) and the set the outcome came from ("all", "ne", "eps_ne", "played").

    ``dims`` are the game's action counts; ``dims_known`` is False when they were taken from the
    largest observed index of each player (unknown outcomes then cannot be detected).
    ``source`` and ``line`` say where rows came from (for messages)."""

    actions: np.ndarray = field(repr=False)  #: int64 [R, n]
    agents: np.ndarray = field(repr=False)  #: float64 [R, n]
    principals: np.ndarray = field(repr=False)  #: float64 [R, n]
    set: np.ndarray = field(repr=False)  #: str [R]
    dims: Tuple[int, ...] = ()
    dims_known: bool = True
    source: str = ""
    line: Optional[np.ndarray] = field(default=None, repr=False)
    text_lines: bool = False

    @property
    def rows(self) -> int:
        return int(self.actions.shape[0])

    @property
    def outcome(self) -> np.ndarray:
        """Flat C-order outcome indices [R]."""
        return np.ravel_multi_index(tuple(self.actions.T), self.dims) if self.rows else np.empty(0, np.int64)

    def infer(self, **kwargs: Any) -> "Inference":
        """``infer(self, **kwargs)``."""
        return infer(self, **kwargs)

    def to_frame(self):
        """A pandas DataFrame with the columns of the CLI's observation CSV: action_i, agent_i,
        principal_i, set."""
        import pandas as pd

        data: Dict[str, Any] = {}
        for name, v in (("action", self.actions), ("agent", self.agents), ("principal", self.principals)):
            for i in range(v.shape[1]):
                data[f"{name}_{i}"] = v[:, i]
        data["set"] = self.set
        return pd.DataFrame(data)


def _observations(raw: Tuple[Any, ...]) -> Observations:
    actions, agents, principals, codes, dims, dims_known, source, line, text_lines = raw
    names = np.array(OBSERVED_SETS, dtype=str)[codes]
    return Observations(actions, agents, principals, names, tuple(int(k) for k in dims), bool(dims_known),
                        str(source), line if line.size else None, bool(text_lines))


def read_observations(path: PathLike, *, dims: Any = None, set: str = "played") -> Observations:
    """Observations from a CSV or .npz file, read as ``dgeval infer --input`` reads them.

    CSV: a header, then one row per observation: ``action_0..action_{n-1}`` (or one flat
    ``outcome`` with known dims), ``agent_0..``, ``principal_0..``, optional ``set``. .npz:
    arrays ``actions`` [R, n] (or ``outcome`` [R]), ``agents``, ``principals`` [R, n], optional
    ``set`` (codes 0..3) and ``dims``. ``dims`` (e.g. (3, 3) or "3x3") are the game's action
    counts; ``set`` is the set of rows without a set column. Malformed files raise
    :class:`Error` naming the file, line and column.
    """
    return _observations(_core.read_observations(os.fspath(path), _dims(dims) if dims is not None else [], str(set)))


@dataclass(frozen=True)
class Estimate:
    """One estimate with its percentile bootstrap interval [lo, hi]; NaN with ``reason`` when
    undefined, NaN bounds with ``interval_reason`` when only the interval is."""

    estimate: float
    lo: float
    hi: float
    replicates: int  #: bootstrap replicates in which the estimate was defined
    reason: str = ""
    interval_reason: str = ""


@dataclass(frozen=True)
class Inference:
    """The result of :func:`infer`, named as ``dgeval infer --format json`` names it.

    ``authors`` and ``corrected`` map "ia" and "ic" to a list of n :class:`Estimate` (one per
    player) and "ca" and "cc" to one :class:`Estimate`. :meth:`columns` / :meth:`to_frame` give
    one row per estimate, as the CSV format."""

    players: int
    rows: int
    outcomes: int  #: distinct observed outcomes |O|
    rows_per_set: Dict[str, int]
    outcomes_per_set: Dict[str, int]
    ic_set: str  #: the set whose rows measure IC ("eps_ne", else "played")
    resamples: int
    level: float
    seed: int
    authors: Dict[str, Any]
    corrected: Dict[str, Any]

    def columns(self) -> Dict[str, np.ndarray]:
        """One entry per estimate in the CLI's order: family, measure, player (−1 for CA and CC),
        estimate, lo, hi, level, replicates, reason, interval_reason."""
        rows = []
        for family in ("authors", "corrected"):
            fam = getattr(self, family)
            for measure in ("ia", "ca", "ic", "cc"):
                values = fam[measure] if isinstance(fam[measure], list) else [fam[measure]]
                for i, e in enumerate(values):
                    player = i if isinstance(fam[measure], list) else -1
                    rows.append((family, measure, player, e))
        return {
            "family": np.array([r[0] for r in rows], dtype=str),
            "measure": np.array([r[1] for r in rows], dtype=str),
            "player": np.array([r[2] for r in rows], dtype=np.int64),
            "estimate": np.array([r[3].estimate for r in rows], dtype=np.float64),
            "lo": np.array([r[3].lo for r in rows], dtype=np.float64),
            "hi": np.array([r[3].hi for r in rows], dtype=np.float64),
            "level": np.full(len(rows), self.level),
            "replicates": np.array([r[3].replicates for r in rows], dtype=np.int64),
            "reason": np.array([r[3].reason for r in rows], dtype=str),
            "interval_reason": np.array([r[3].interval_reason for r in rows], dtype=str),
        }

    def to_frame(self):
        """:meth:`columns` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.columns())


def _inference(raw: Dict[str, Any]) -> Inference:
    families = {}
    for family in ("authors", "corrected"):
        fam: Dict[str, Any] = {"ia": [], "ca": None, "ic": [], "cc": None}
        for measure, player, value, lo, hi, replicates, reason, interval_reason in raw[family]:
            e = Estimate(float(value), float(lo), float(hi), int(replicates), str(reason), str(interval_reason))
            if player >= 0:
                fam[measure].append(e)
            else:
                fam[measure] = e
        families[family] = fam
    return Inference(
        int(raw["players"]),
        int(raw["rows"]),
        int(raw["outcomes"]),
        dict(raw["rows_per_set"]),
        dict(raw["outcomes_per_set"]),
        str(raw["ic_set"]),
        int(raw["resamples"]),
        float(raw["level"]),
        int(raw["seed"]),
        families["authors"],
        families["corrected"],
    )


def infer(
    observations: Any,
    agents: Any = None,
    principals: Any = None,
    set: Any = None,
    *,
    dims: Any = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    threads: int = 0,
) -> Inference:
    """Estimates IA, CA, IC and CC with percentile bootstrap intervals from observed outcomes,
    with both families of estimators (the authors' and the corrected ones), as ``dgeval infer``.

    observations
        An :class:`Observations` (from :func:`read_observations` or
        :func:`sample_observations`), a path to a CSV or .npz file (read as
        :func:`read_observations` reads it, with ``dims`` and ``set``), or the observed
        outcomes as action tuples, int [S, n] (or flat C-order indices [S] with ``dims``),
        together with ``agents`` and ``principals``, the utilities [S, n], and ``set``: the set
        each sample came from (one name, or per row names / codes 0 all, 1 ne, 2 eps_ne,
        3 played; default "played").
    dims
        The game's action counts; for arrays, default the largest index of each player plus
        one (unknown outcomes then cannot be detected).
    resamples, level, seed, threads
        Bootstrap replicates (0: point estimates only), interval level in (0, 1), bootstrap
        seed, CPU threads (the result does not depend on them).

    Returns an :class:`Inference`. Inconsistent observations (two rows of one outcome with
    different utilities, non-finite utilities, unknown outcomes) raise :class:`Error` with the
    CLI's message. The GIL is released during the estimation.
    """
    if isinstance(observations, (str, os.PathLike)):
        if agents is not None or principals is not None:
            raise Error("infer: give observations as a file path or as arrays, not both")
        obs = read_observations(observations, dims=dims, set="played" if set is None else set)
    elif isinstance(observations, Observations):
        if agents is not None or principals is not None or set is not None or dims is not None:
            raise Error("infer: agents, principals, set and dims come with the Observations object")
        obs = observations
    else:
        if agents is None or principals is None:
            raise Error("infer: observed outcomes need agents and principals: utilities [S, n]")
        acts = np.asarray(observations)
        if acts.dtype.kind not in "iu":
            raise Error(f"actions: dtype {acts.dtype} is not an integer type")
        if acts.ndim == 1:
            if dims is None:
                raise Error("actions: flat outcome indices [S] need dims")
            d = _dims(dims)
            N = int(np.prod(d))
            bad = np.flatnonzero((acts < 0) | (acts >= N))
            if bad.size:
                r = int(bad[0])
                raise Error(f"row {r}: outcome index {int(acts[r])} is outside [0, {N}) for the game "
                            f"{_core.dims_text(d)} (unknown outcome)")
            acts = np.stack(np.unravel_index(acts, d), axis=1) if acts.size else np.empty((0, len(d)), np.int64)
        if acts.ndim != 2:
            raise Error(f"actions: shape {_shape_text(acts.shape)}; expected [S, n] action tuples")
        S, n = acts.shape
        a = _float64_array(agents, "agents")
        p = _float64_array(principals, "principals")
        for name, v in (("agents", a), ("principals", p)):
            if v.shape != (S, n):
                raise Error(f"{name}: shape {_shape_text(v.shape)}; expected [S, n] = ({S}, {n}) as the actions")
        codes = _set_codes("played" if set is None else set, S)
        if dims is not None:
            d = _dims(dims)
            if len(d) != n:
                raise Error(f"dims: {len(d)} players, but the action tuples have {n}")
            known = True
        else:
            if S == 0:
                raise Error("observations: no observations (at least one row is needed; IA and CA need 2 distinct "
                            "outcomes)")
            if (acts < 0).any():
                r, i = (int(x[0]) for x in np.nonzero(acts < 0))
                raise Error(f"row {r}: action {int(acts[r, i])} of player {i} is negative")
            d = [int(k) + 1 for k in acts.max(axis=0)]
            known = False
        obs = Observations(np.ascontiguousarray(acts, dtype=np.int64), a, p,
                           np.array(OBSERVED_SETS, dtype=str)[codes], tuple(d), known)
    resamples = int(resamples)
    level = float(level)
    if resamples < 0:
        raise Error("resamples must be >= 0")
    if not 0.0 < level < 1.0:
        raise Error("level must lie in (0, 1)")
    line = obs.line if obs.line is not None else np.empty(0, dtype=np.int64)
    raw = _core.infer(
        list(obs.dims),
        bool(obs.dims_known),
        np.ascontiguousarray(obs.actions, dtype=np.int64),
        _float64_array(obs.agents, "agents"),
        _float64_array(obs.principals, "principals"),
        _set_codes(obs.set, obs.rows),
        obs.source,
        np.ascontiguousarray(line, dtype=np.int64),
        bool(obs.text_lines),
        resamples,
        level,
        int(seed),
        int(threads),
    )
    return _inference(raw)


def _one_game(game: Any, principals: Any, game_index: int) -> Tuple[np.ndarray, np.ndarray, List[int], str]:
    """(agents, principals) float64 C-contiguous [n, k..], the action counts and a name."""
    source = ""
    if isinstance(game, Example):
        if principals is not None:
            raise Error("an Example holds both sides; give no principals")
        a, p, source = game.agents, game.principals, game.name
        batch = False
    elif isinstance(game, Games):
        if principals is not None:
            raise Error("Games hold both sides; give no principals")
        a, p, batch = game.agents, game.principals, True
    elif isinstance(game, (str, os.PathLike)):
        g = read_games(game, principals) if principals is not None else read_games(game)
        a, p, batch, source = g.agents, g.principals, True, os.fspath(game)
    else:
        if principals is None:
            raise Error("give the principals' utilities too (or an Example, Games or a games file)")
        a = _utility_array(game, "agents", True)
        p = _utility_array(principals, "principals", True)
        if a.shape != p.shape:
            raise Error(f"agents and principals differ in shape: {_shape_text(a.shape)} vs {_shape_text(p.shape)}")
        _, _, batch = _read_shape(a.shape, None, "agents")
    if batch:
        games = a.shape[0]
        if not 0 <= game_index < games:
            raise Error(f"game_index {game_index} is outside [0, {games})")
        a, p = a[game_index], p[game_index]
    elif game_index != 0:
        raise Error(f"game_index {game_index}: a single game has only game 0")
    a = np.ascontiguousarray(a, dtype=np.float64)
    p = np.ascontiguousarray(p, dtype=np.float64)
    return a, p, [int(k) for k in a.shape[1:]], source


def outcome_sets(
    game: Any,
    principals: Any = None,
    *,
    game_index: int = 0,
    ic: Any = 1.0,
    cc: float = 0.0,
    ne_level: float = 1.0,
) -> Dict[str, Any]:
    """The candidate sets that :func:`sample_observations` draws from (docs/MATH.md §6 step 2), for one
    game (an :class:`Example`, :class:`Games` with ``game_index``, a games file, or agents and
    principals arrays): "ne" (E at ``ne_level``), "eps_ne" (E(IC)) and "played" (P(IC, CC)) as
    action tuples int64 [E, n], "played_fallback", and the agents' average welfare "w_star"
    (best), "w_zero" (worst NE) and "w_eps" (worst ε-NE)."""
    a, p, actions, _ = _one_game(game, principals, int(game_index))
    return dict(_core.outcome_sets(a.ravel(), p.ravel(), actions, _float_list(ic, "ic"), float(cc), float(ne_level)))


def sample_observations(
    game: Any,
    principals: Any = None,
    *,
    game_index: int = 0,
    set: Any = "all",
    samples: int = 1000,
    seed: int = 0,
    ic: Any = 1.0,
    cc: float = 0.0,
) -> Observations:
    """Observations sampled from one game as ``dgeval infer --game/--example ... --sample SETS``
    samples them: ``samples`` outcomes drawn uniformly with replacement from each set in turn
    ("all", "ne", "eps_ne", "played"; one name, "all,ne" or a sequence), every set with the same
    ``seed``. ``ic`` (one level or one per player) and ``cc`` define the ε-NE and played sets.

    ``game`` is an :class:`Example`, :class:`Games` (``game_index`` picks the game), a games file
    (.npz, .npy, .nfg; ``principals`` an optional second file), or agents [n, k_1..k_n] (or
    [B, ...]) with ``principals``. ``infer(obs, seed=seed)`` then gives what the CLI prints. An
    empty set raises :class:`Error`.
    """
    a, p, actions, source = _one_game(game, principals, int(game_index))
    sets = _name_list(set)
    raw = _core.sample_observations(a.ravel(), p.ravel(), actions, sets, int(samples), int(seed),
                                    _float_list(ic, "ic"), float(cc), source)
    return _observations(raw)


# --------------------------------------------------------------------------------------------
# Experiments (dgeval experiment grid-scan | bound-surface | inference)
# --------------------------------------------------------------------------------------------


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
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Table:
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
    bins_raw, points_raw, summary = _core.bound_surface(
        int(games),
        int(players),
        int(outcomes),
        _float_list(calibration, "calibration"),
        str(standardisation),
        str(welfare),
        str(distribution),
        int(b[0]),
        int(b[1]),
        int(seed),
        int(keep_points),
        int(threads),
        str(backend),
        int(device),
        int(chunk),
        progress,
    )
    summary = dict(summary)
    if summary["above_bound"] + summary["bin_bound_exceeded"] > 0:
        warnings.warn(
            f"bound surface: {summary['above_bound']} games above the R2 bound and {summary['bin_bound_exceeded']} "
            "bins above the surface at their upper corner (a theorem: a bug, please report)",
            RuntimeWarning,
            stacklevel=2,
        )
    return Table(_column_dict(bins_raw), summary, points=Table(_column_dict(points_raw)))


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
