"""Inference from observations (dgeval/inference.hpp, ``dgeval infer``): observations read,
given as arrays or sampled from a game, and IA, CA, IC, CC with bootstrap intervals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _core
from ._arrays import _dims, _float64_array, _float_list, _name_list, _read_shape, _shape_text, _utility_array
from ._base import Error
from ._examples import Example
from ._io import Games, PathLike, read_games


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
