"""dgeval.evaluate (dgeval/dgeval.hpp, ``dgeval evaluate``): every measure for a batch of games."""

from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._arrays import _float64_array, _on_cuda_device, _read_shape, _shape_text, _utility_array
from ._base import _COLUMNS, BackendWarning, Error
from ._frame import Result


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
        float64; complex, string and object arrays raise :class:`Error`. Arrays on a CUDA GPU
        (PyTorch, CuPy, JAX: anything with ``__dlpack__``) are evaluated in place by the CUDA
        backend, with no copy of the input and only the results brought back; they must be
        C-contiguous float32 or float64 arrays of one dtype on one device (``device`` is theirs).
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
    on_gpu = _on_cuda_device(agents, "agents") or _on_cuda_device(principals, "principals")
    if on_gpu:
        # Evaluated in place on the GPU: no conversion, no copy of the input.
        if not (_on_cuda_device(agents, "agents") and _on_cuda_device(principals, "principals")):
            raise Error("agents and principals must both be on the GPU or both in host memory")
        a, p = agents, principals
    else:
        a = _utility_array(agents, "agents", copy)
        p = _utility_array(principals, "principals", copy)
    if tuple(a.shape) != tuple(p.shape):
        raise Error(
            f"agents and principals differ in shape: {_shape_text(a.shape)} vs {_shape_text(p.shape)}; "
            "both must be [B, n, k_1, ..., k_n] (or [n, k_1, ..., k_n]) with the same sizes"
        )
    if a.dtype != p.dtype and not on_gpu:
        if not copy:
            raise Error(f"agents are {a.dtype} but principals {p.dtype}, and copy=False forbids converting either")
        a = a.astype(np.float64)
        p = p.astype(np.float64)
    dims, games, is_batch = _read_shape(tuple(int(k) for k in a.shape), batch, "agents")
    s_actions, s_weights, s_per_game = _strategy_arrays(strategy, strategy_actions, strategy_weights, dims, games)

    options = _core.EvaluateOptions()  # every option by name (python/src/evaluate.cpp)
    options.standardisation = str(standardisation)
    options.welfare = str(welfare)
    options.ic = _ic_levels(ic)
    options.cc = float(cc)
    options.cc_window = str(cc_window)
    options.ne_tolerance = float(ne_tolerance)
    options.played_tolerance = float(played_tolerance)
    options.set_strategy(str(strategy), s_actions, s_weights, s_per_game)
    options.list_equilibria = bool(list_equilibria)
    options.distance_matrix = bool(distance_matrix)
    options.allow_nonfinite = bool(allow_nonfinite)
    options.columns = _columns_text(columns)
    options.backend = str(backend)
    options.threads = int(threads)
    options.device = int(device)
    raw = (_core.evaluate_device if on_gpu else _core.evaluate)(a, p, list(dims), games, options, progress)
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
