"""Input dtypes: integer, boolean and other float arrays are cast to float64 as NumPy casts
them, in every function that takes utilities, payoffs or strategy weights, and give the results
of the float64 equivalent; complex, string and object arrays raise dgeval.Error."""

import numpy as np
import pytest

import dgeval

CAST = [np.int32, np.int64, np.uint8, np.bool_, np.int8, np.uint64, np.float16]
REFUSED = [
    (np.complex128, r"dtype complex128 is not supported; expected real numbers \(pass agents.real"),
    (np.complex64, "dtype complex64 is not supported"),
    (object, "dtype object is not supported; expected real numbers: a float, integer or boolean array"),
    ("U3", "dtype <U3 is not supported"),
    ("S3", "dtype |S3 is not supported"),
    ("datetime64[s]", r"dtype datetime64\[s\] is not supported"),
    ("timedelta64[s]", r"dtype timedelta64\[s\] is not supported"),
]


def integer_game(dtype, shape, seed):
    """Integer utilities that the dtype holds exactly, as that dtype (0/1 for bool)."""
    high = 2 if dtype == np.bool_ else 10
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(dtype)


def assert_same(r, s):
    assert list(r) == list(s)
    for name in r:
        if name == "pure_ne":
            for x, y in zip(r[name], s[name]):
                np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_array_equal(r[name], s[name], err_msg=name)  # NaN equals NaN here


@pytest.mark.parametrize("dtype", CAST)
def test_evaluate_casts_to_float64(dtype):
    a = integer_game(dtype, (40, 2, 3, 3), 1)
    p = integer_game(dtype, (40, 2, 3, 3), 2)
    kwargs = dict(backend="cpu", list_equilibria=True, distance_matrix=True)
    expected = dgeval.evaluate(a.astype(np.float64), p.astype(np.float64), **kwargs)
    assert_same(dgeval.evaluate(a, p, **kwargs), expected)
    # Mixed with a float partner, one game, nested lists.
    assert_same(dgeval.evaluate(a, p.astype(np.float32), **kwargs), expected)
    assert_same(dgeval.evaluate(a[7], p[7], **kwargs), dgeval.evaluate(a[7].astype(float), p[7].astype(float), **kwargs))
    assert_same(dgeval.evaluate(a.tolist(), p.tolist(), **kwargs), expected)


def test_casting_needs_a_copy():
    a = integer_game(np.int64, (4, 2, 2, 3), 1)
    with pytest.raises(dgeval.Error, match="agents: dtype int64 needs converting to float64, and copy=False forbids"):
        dgeval.evaluate(a, a.astype(np.float64), copy=False)


@pytest.mark.parametrize("dtype, match", REFUSED)
def test_refused_dtypes(tmp_path, dtype, match):
    good = np.zeros((4, 2, 2, 3))
    with pytest.raises(dgeval.Error, match=match):
        dgeval.evaluate(good.astype(dtype), good)
    with pytest.raises(dgeval.Error, match="principals: dtype"):
        dgeval.evaluate(good, good.astype(dtype))
    with pytest.raises(dgeval.Error, match="payoffs: dtype"):
        dgeval.write_nfg(tmp_path / "x.nfg", good[0].astype(dtype))


def test_refused_lists():
    good = np.zeros((2, 2, 2)).tolist()
    with pytest.raises(dgeval.Error, match="dtype <U3 is not supported"):
        dgeval.evaluate([[["1.5", "2"], ["0", "1"]]] * 2, good)  # strings are not read as numbers
    with pytest.raises(dgeval.Error, match="dtype complex128 is not supported"):
        dgeval.evaluate([[[1j, 2], [0, 1]]] * 2, good)
    with pytest.raises(dgeval.Error, match="dtype object is not supported"):
        dgeval.evaluate([[[None, 2], [0, 1]]] * 2, good)
    with pytest.raises(dgeval.Error, match="agents: cannot be read as an array of numbers"):
        dgeval.evaluate([[[1.0, 2.0], [0.0]], [[1.0, 2.0], [0.0, 1.0]]], good)  # ragged


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_strategy_weights_are_cast(dtype):
    ex = dgeval.example("common-3x3")
    onehot = np.zeros((3, 3), dtype=dtype)
    onehot[2, 2] = 1
    expected = ex.evaluate(strategy="correlated", strategy_weights=onehot.astype(np.float64))
    assert_same(ex.evaluate(strategy="correlated", strategy_weights=onehot), expected)
    player = np.array([0, 0, 1], dtype=dtype)
    assert_same(ex.evaluate(strategy="product", strategy_weights=[player, player]), expected)
    assert_same(ex.evaluate(strategy="product", strategy_weights=np.concatenate([player, player])), expected)


@pytest.mark.parametrize("weights", [np.full((3, 3), 1 / 9 + 0j), np.full((3, 3), "0.1")])
def test_strategy_weights_refused(weights):
    with pytest.raises(dgeval.Error, match="strategy_weights: dtype .* is not supported"):
        dgeval.example("common-3x3").evaluate(strategy="correlated", strategy_weights=weights)
    with pytest.raises(dgeval.Error, match="strategy_weights: dtype .* is not supported"):
        dgeval.example("common-3x3").evaluate(strategy="product", strategy_weights=[weights[0], weights[1]])


@pytest.mark.parametrize("dtype", CAST)
def test_infer_sample_and_outcome_sets_cast(dtype):
    a = integer_game(dtype, (2, 3, 3), 4)
    p = integer_game(dtype, (2, 3, 3), 5)
    af, pf = a.astype(np.float64), p.astype(np.float64)
    sets, sets_f = dgeval.outcome_sets(a, p, ic=0.5), dgeval.outcome_sets(af, pf, ic=0.5)
    assert list(sets) == list(sets_f)
    for name in sets:
        np.testing.assert_array_equal(sets[name], sets_f[name], err_msg=name)
    obs = dgeval.sample_observations(a, p, set="all", samples=60, seed=1)
    obs_f = dgeval.sample_observations(af, pf, set="all", samples=60, seed=1)
    np.testing.assert_array_equal(obs.agents, obs_f.agents)
    np.testing.assert_array_equal(obs.actions, obs_f.actions)
    kwargs = dict(dims=obs.dims, resamples=20, seed=3)
    r = dgeval.infer(obs.actions, obs.agents.astype(dtype), obs.principals.astype(dtype), obs.set, **kwargs)
    s = dgeval.infer(obs.actions, obs.agents, obs.principals, obs.set, **kwargs)
    for name, column in r.columns().items():
        np.testing.assert_array_equal(column, s.columns()[name], err_msg=name)


def test_infer_refuses_complex_observations():
    obs = dgeval.sample_observations(dgeval.example("mammoth"), samples=10)
    with pytest.raises(dgeval.Error, match="agents: dtype complex128 is not supported"):
        dgeval.infer(obs.actions, obs.agents + 0j, obs.principals)


@pytest.mark.parametrize("dtype", CAST)
def test_write_nfg_casts(tmp_path, dtype):
    x = integer_game(dtype, (2, 3, 2), 6)
    dgeval.write_nfg(tmp_path / "cast.nfg", x)
    dgeval.write_nfg(tmp_path / "float.nfg", x.astype(np.float64))
    assert (tmp_path / "cast.nfg").read_bytes() == (tmp_path / "float.nfg").read_bytes()
    np.testing.assert_array_equal(dgeval.read_nfg(tmp_path / "cast.nfg"), x.astype(np.float64))
