"""Random games (dgeval/generate.hpp, dgeval/generators.hpp, ``dgeval generate``): the uniform
generator and the delegation generator with controlled IA, CA, calibration and pure NE."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._arrays import _dims, _float_list, _interval
from ._base import Error
from ._io import Games


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


#: Bits of :attr:`GenerateInfo.flags`: what the delegation generator had to do for a game.
GeneratorFlag = enum.IntFlag(
    "GeneratorFlag", [(name, value) for name, value in _core.generator_flags()], module="dgeval"
)


@dataclass(frozen=True, eq=False)
class GenerateInfo:
    """What the delegation generator reports beside the games (``dgeval generate`` prints the
    same summary): per game, draws used, :class:`GeneratorFlag` bits, the accepted ε of the
    ε-NE (``pure_ne="authors"``), the CA of the controlled side and max_i |IA_i − target_i| as
    the generator computed them (NaN where not controlled), and the draws rejected for lacking a
    pure NE (``pure_ne_failures``: ``authors`` raises ε by 0.01 after every 5; a draw that
    misses the CA target counts in ``attempts`` only); then the targets. Evaluating the
    games recomputes every measure from the utilities."""

    attempts: np.ndarray = field(repr=False)  #: int32 [B]
    flags: np.ndarray = field(repr=False)  #: int32 [B]
    eps_tol: np.ndarray = field(repr=False)  #: float64 [B]
    ca_achieved: np.ndarray = field(repr=False)  #: float64 [B]
    ia_error: np.ndarray = field(repr=False)  #: float64 [B]
    pure_ne_failures: np.ndarray = field(repr=False)  #: int32 [B]
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
        eps_tol, ca_achieved, ia_error, pure_ne_failures (the targets stay attributes)."""
        import pandas as pd

        names = ("attempts", "flags", "eps_tol", "ca_achieved", "ia_error", "pure_ne_failures")
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
        a, p, attempts, flags, eps_tol, ca_achieved, ia_error, pure_ne_failures = _core.generate(
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
            pure_ne_failures,
            ia=tuple(ia_targets) or None,
            ca=None if ca is None else float(ca),
            ca_side=None if ca is None else ("principals" if ca_principals is not None else "agents"),
            calibration=tuple(cal) or None,
        )
    if float32:
        a, p = a.astype(np.float32), p.astype(np.float32)
    return _generated(a, p, info)
