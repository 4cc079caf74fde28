"""The package's public API, recorded before python/dgeval/__init__.py was split by job into
private modules (_base, _arrays, _evaluate, _generators, _io, _inference, _experiments,
_frame): the same names in ``__all__`` (in order), the same public names in ``dir(dgeval)``
(its imports of the standard library, typing and NumPy aside), each reporting the module it
reported before (``__module__``, which pickling and help() use), and the same call signatures."""

import inspect
import types

import dgeval

#: ``dgeval.__all__`` before the split.
ALL = [
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
    "generate",
    "GeneratedGames",
    "GenerateInfo",
    "GeneratorFlag",
    "infer",
    "Inference",
    "Estimate",
    "Observations",
    "OBSERVED_SETS",
    "read_observations",
    "sample_observations",
    "outcome_sets",
    "Table",
    "grid_scan",
    "bound_surface",
    "BoundSurfaceShard",  # added since: the bound surface's shard form (docs/SCALING.md)
    "merge_bound_surface",
    "inference_experiment",
]

#: Public names of ``dir(dgeval)`` before the split (modules and the helpers imported from
#: typing, dataclasses and __future__ left out) with their ``__module__`` (None: no such
#: attribute). ``PathLike`` is the type alias of path arguments.
PUBLIC = {
    "BackendWarning": "dgeval",
    "Cancelled": "dgeval",
    "Column": "dgeval",
    "Error": "dgeval",
    "Estimate": "dgeval",
    "Example": "dgeval",
    "Flag": "dgeval",
    "Games": "dgeval",
    "GenerateInfo": "dgeval",
    "GeneratedGames": "dgeval",
    "GeneratorFlag": "dgeval",
    "Inference": "dgeval",
    "OBSERVED_SETS": None,
    "Observations": "dgeval",
    "PathLike": "typing",
    "Result": "dgeval",
    "Table": "dgeval",
    "bound_surface": "dgeval",
    "BoundSurfaceShard": "dgeval",
    "merge_bound_surface": "dgeval",
    "cuda_available": "dgeval",
    "evaluate": "dgeval",
    "example": "dgeval",
    "examples": "dgeval",
    "generate": "dgeval",
    "generate_uniform": "dgeval",
    "grid_scan": "dgeval",
    "infer": "dgeval",
    "inference_experiment": "dgeval",
    "outcome_sets": "dgeval",
    "read_games": "dgeval",
    "read_nfg": "dgeval",
    "read_observations": "dgeval",
    "result_columns": "dgeval",
    "sample_observations": "dgeval",
    "to_frame": "dgeval._frame",
    "write_nfg": "dgeval",
}

#: What ``dir(dgeval)`` listed besides: the modules and helpers ``__init__`` imported for its
#: own use. They are not API; the split package need not have them.
IMPORTED_HELPERS = {
    "Any", "Callable", "Dict", "List", "NamedTuple", "Optional", "Sequence", "Tuple", "Union", "annotations",
    "dataclass", "enum", "field", "np", "os", "warnings",
}

#: The signatures of the public functions (annotations left out).
SIGNATURES = {
    "cuda_available": "()",
    "evaluate": (
        "(agents, principals, *, standardisation='epic', welfare='average', ic=None, cc=0.0, cc_window='code', "
        "ne_tolerance=1e-10, played_tolerance=1e-06, strategy='worst-ne', strategy_actions=None, strategy_weights=None,"
        " list_equilibria=False, distance_matrix=False, allow_nonfinite=False, columns=None, batch=None, copy=True, "
        "backend='auto', threads=0, device=0, progress=None)"
    ),
    "example": "(name)",
    "examples": "()",
    "generate_uniform": "(dims, games, seed=0, *, first_game=0, low=0.0, high=1.0, threads=0)",
    "read_games": "(path, principals=None, *, single_game=False, allow_nonfinite=False)",
    "read_nfg": "(path, *, allow_nonfinite=False, labels=False)",
    "write_nfg": "(path, payoffs, *, title='', players=None, strategies=None, comment='')",
    "result_columns": "()",
    "to_frame": "(x)",
    "generate": (
        "(dims, games=1, *, seed=0, first_game=0, generator=None, lo=None, hi=None, distribution=None, raw=False, "
        "magnitude=None, offset=None, positive=False, ia=None, ca_principals=None, ca_agents=None, calibration=None, "
        "scale=None, pure_ne=None, max_attempts=None, float32=False, threads=0, backend='auto', device=0, "
        "progress=None)"
    ),
    "infer": (
        "(observations, agents=None, principals=None, set=None, *, dims=None, resamples=1000, level=0.95, seed=0, "
        "threads=0)"
    ),
    "read_observations": "(path, *, dims=None, set='played')",
    "sample_observations": "(game, principals=None, *, game_index=0, set='all', samples=1000, seed=0, ic=1.0, cc=0.0)",
    "outcome_sets": "(game, principals=None, *, game_index=0, ic=1.0, cc=0.0, ne_level=1.0)",
    "grid_scan": (
        "(*, preset='main', scale=1000, games_per_point=None, sizes=None, variables='ia,ic,ca,cc', others=None, "
        "increments=25, seed=1282, distribution='normal', pure_ne='reject', welfare='average', cc_window='code', "
        "threads=0, backend='auto', device=0, progress=None)"
    ),
    "bound_surface": (
        "(*, games=100000, players=4, outcomes=4, calibration=1.0, standardisation='max', welfare='sum', "
        "distribution='uniform', bins=(40, 40), seed=9622709, keep_points=0, threads=0, backend='auto', device=0, "
        "chunk=0, shard=None, progress=None)"
    ),
    "merge_bound_surface": "(shards)",
    "inference_experiment": (
        "(*, sizes=None, games=25, samples=1000, every=10, seed=1282, threads=0, per_game=False, backend='auto', "
        "device=0, progress=None)"
    ),
}


def _bare_signature(f) -> str:
    s = inspect.signature(f)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in s.parameters.values()]
    return str(s.replace(parameters=params, return_annotation=inspect.Signature.empty))


def test_all_is_unchanged():
    assert dgeval.__all__ == ALL
    for name in ALL:
        assert hasattr(dgeval, name), name


def test_public_names_are_unchanged():
    public = {
        name
        for name in dir(dgeval)
        if not name.startswith("_")
        and not isinstance(getattr(dgeval, name), types.ModuleType)
        and name not in IMPORTED_HELPERS
    }
    assert public == set(PUBLIC)
    assert set(ALL) - {"__version__"} <= public


def test_public_names_report_the_same_module():
    for name, module in PUBLIC.items():
        assert getattr(getattr(dgeval, name), "__module__", None) == module, name


def test_signatures_are_unchanged():
    for name, text in SIGNATURES.items():
        assert _bare_signature(getattr(dgeval, name)) == text, name


def test_methods_of_returned_objects_still_reach_the_functions():
    ex = dgeval.example("mammoth")
    assert float(ex.evaluate(backend="cpu")["principals_welfare_regret"]) == 8.0
    g = dgeval.generate((2, 2), 3, seed=1)
    assert isinstance(g, dgeval.GeneratedGames) and isinstance(g, dgeval.Games)
    assert g.evaluate(backend="cpu")["ia"].shape == (3, 2)
    obs = dgeval.sample_observations(ex, samples=50, seed=2)
    assert isinstance(obs.infer(resamples=0), dgeval.Inference)
