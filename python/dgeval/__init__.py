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
  experiment ...``): the paper's experiments, as tables of NumPy columns named as the CSVs;
  :func:`bound_surface` also in shards (one per MPI rank, say) that :func:`merge_bound_surface`
  puts together (:class:`BoundSurfaceShard`).

    >>> g = dgeval.generate((3, 3), 100, seed=7, ia=0.3, ca_principals=0.6)
    >>> bool(abs(g.evaluate()["ca_principals"] - 0.6).max() < 1e-9)
    True
"""

# The package is split by job, as the C++ library is (include/dgeval/*.hpp): _base (exceptions,
# result columns, flags), _arrays (argument checks), _evaluate, _frame (Result, to_frame), _io
# (files), _examples, _generators, _inference and _experiments. This file re-exports their
# public names; each reports "dgeval" as its module, as when they were defined here.

from __future__ import annotations

from . import _core
from ._base import BackendWarning, Cancelled, Column, Error, Flag, cuda_available, result_columns
from ._evaluate import evaluate
from ._examples import Example, example, examples
from ._experiments import (
    BoundSurfaceShard,
    Table,
    bound_surface,
    grid_scan,
    inference_experiment,
    merge_bound_surface,
)
from ._frame import Result, to_frame
from ._generators import GeneratedGames, GenerateInfo, GeneratorFlag, generate, generate_uniform
from ._inference import (
    OBSERVED_SETS,
    Estimate,
    Inference,
    Observations,
    infer,
    outcome_sets,
    read_observations,
    sample_observations,
)
from ._io import Games, PathLike, read_games, read_nfg, write_nfg

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
    "BoundSurfaceShard",
    "merge_bound_surface",
    "inference_experiment",
]

__version__: str = _core.version()

# to_frame has always reported dgeval._frame.
for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith("dgeval._") and _value is not to_frame:
        _value.__module__ = "dgeval"
del _name, _value
