"""Files (dgeval/io.hpp): Gambit .nfg, NumPy .npy / .npz, read with the CLI's readers and rules."""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _core
from ._arrays import _SINGLE_FORM, _float64_array, _shape_text
from ._base import Error
from ._evaluate import evaluate
from ._frame import Result


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
