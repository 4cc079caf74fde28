"""dgeval: batch evaluation of delegation games from NumPy.

A delegation game has n principals, each delegating to one agent; the agents play a
normal-form game with action counts k_1..k_n and the principals live with the outcome.
Utilities are arrays of shape [B, n, k_1, ..., k_n] (a batch of B games) or [n, k_1, ..., k_n]
(one game): entry [b, i, s_1, ..., s_n] is player i's utility at outcome (s_1, ..., s_n) of
game b. The measures (IA, CA, IC, CC, welfare, regrets, bounds) are those of the spec
(see docs/MEASURES.md in the repository).

    >>> import dgeval
    >>> ex = dgeval.example("mammoth")
    >>> r = dgeval.evaluate(ex.agents, ex.principals)
    >>> float(r["principals_welfare_regret"])
    8.0

The main entry points are :func:`evaluate`, :func:`to_frame`, :func:`examples`,
:func:`example`, :func:`generate_uniform` and :func:`result_columns`.
"""

from __future__ import annotations

import enum
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

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
    "to_frame",
]

__version__: str = _core.version()

#: Raised for bad input and misuse (bad arrays, unknown option names, out-of-range levels,
#: NaN utilities, ...). A subclass of ValueError; the message is the one the CLI prints.
Error = _core.Error
Error.__module__ = "dgeval"

#: Raised when the ``progress`` callback of :func:`evaluate` returns False.
Cancelled = _core.Cancelled
Cancelled.__module__ = "dgeval"


class BackendWarning(UserWarning):
    """``backend="auto"`` fell back to the CPU although dgeval was built with CUDA (issued once
    per process, with the reason; pass ``backend="cpu"`` to choose the CPU explicitly)."""


class Column(NamedTuple):
    """One result column: ``kind`` is "player_real" (float64 [B, n]), "real" (float64 [B]),
    "integer" (int64 [B]) or "boolean" (bool [B])."""

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


def _utility_array(x: Any, name: str, copy: bool) -> np.ndarray:
    """x as a C-contiguous, native-endian float32/float64 ndarray (a view where possible)."""
    if isinstance(x, (list, tuple)):
        try:
            x = np.asarray(x, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise Error(f"{name}: cannot be read as a float64 array ({e})") from None
    else:
        x = np.asarray(x)
    if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
        raise Error(
            f"{name}: dtype {x.dtype} is not supported; utilities must be float32 or float64 "
            f"(convert with {name}.astype(np.float64))"
        )
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
            weights = np.concatenate([np.asarray(w, dtype=np.float64) for w in weights])
        w = np.asarray(weights)
        if w.dtype.kind not in "fiu":
            raise Error(f"strategy_weights: dtype {w.dtype} is not a real type")
        w = np.ascontiguousarray(w, dtype=np.float64)
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

Result = Dict[str, Any]
_backend_warned = False


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
        Utilities u (agents) and û (principals), float32 or float64 arrays of the same shape:
        [B, n, k_1, ..., k_n] for B games or [n, k_1, ..., k_n] for one game. C-contiguous
        arrays are used in place (no copy); other layouts and byte orders are copied, unless
        ``copy=False``, which raises instead. If the dtypes differ, both are read as float64.
        Nested lists are read as float64; arrays of other dtypes (int, complex, ...) are refused.
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
    dict
        One NumPy array per result column (see :func:`result_columns`), in column order: per
        player columns float64 [B, n], per-game columns [B] (float64, int64, or bool for
        ``bound_holds``). For a single-game input ([n, k_1..k_n], or ``batch=False``) the game
        axis is dropped: per-player columns are [n] and per-game columns NumPy scalars, and
        ``pure_ne`` / ``distance_matrix`` are one [E, n] / [2n, 2n] array. ``pure_ne`` and
        ``distance_matrix`` come after the columns when requested. ``pandas.DataFrame(r)``
        works on the per-game columns; :func:`to_frame` gives one row per game with per-player
        columns expanded to ``ia_0, ia_1, ...`` as in the CLI's CSV.

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

    result: Result = {c.name: raw[c.name] for c in _COLUMNS}
    if list_equilibria:
        actions, offsets = raw["pure_ne_actions"], raw["pure_ne_offsets"].tolist()
        result["pure_ne"] = [actions[offsets[g] : offsets[g + 1]] for g in range(games)]
    if distance_matrix:
        result["distance_matrix"] = raw["distance_matrix"]
    if not is_batch:
        result = {name: value[0] for name, value in result.items()}
    return result


def to_frame(result: Result):
    """A pandas DataFrame with one row per game, indexed by ``game``, laid out like the CLI's CSV.

    Per-player columns expand to ``name_0 .. name_{n-1}``; ``pure_ne`` (if present) becomes a
    column of lists of action tuples and ``distance_matrix`` expands to
    ``distance_matrix_a_b``. Accepts the result of a batch or of a single game.
    """
    import pandas as pd

    kinds = {c.name: c.kind for c in _COLUMNS}
    single = np.ndim(result[_COLUMNS[0].name]) == 1
    data: Dict[str, Any] = {}
    for name, value in result.items():
        if name == "pure_ne":
            lists = [value] if single else value
            data[name] = [[tuple(int(x) for x in row) for row in ne] for ne in lists]
            continue
        v = np.asarray(value)
        if single:
            v = v[np.newaxis]
        if name == "distance_matrix":
            side = v.shape[1]
            for i in range(side):
                for j in range(side):
                    data[f"{name}_{i}_{j}"] = v[:, i, j]
        elif kinds.get(name) == "player_real":
            for i in range(v.shape[1]):
                data[f"{name}_{i}"] = v[:, i]
        else:
            data[name] = v
    games = len(next(iter(data.values()))) if data else 0
    return pd.DataFrame(data, index=pd.RangeIndex(games, name="game"))


# --------------------------------------------------------------------------------------------
# Built-in examples and generators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A worked game of spec §8: one game, agents and principals [n, k_1..k_n] float64, and the
    keyword arguments of :func:`evaluate` the spec evaluates it with."""

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
    """Every built-in example, in spec order."""
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
    """Write one side of one game, float [n, k_1, ..., k_n], as a Gambit .nfg file (payoff form,
    shortest round-trip decimals), atomically. ``players`` names the n players (default
    "Player 1", ...); ``strategies`` optionally labels each player's actions."""
    x = np.ascontiguousarray(np.asarray(payoffs, dtype=np.float64))
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
