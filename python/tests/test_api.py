"""The Python API: array forms, layouts, dtypes, results, errors, strategies, helpers."""


import numpy as np
import pytest

import dgeval
from _util import ticks_inside


def random_batch(dims=(3, 2, 4), games=25, seed=3):
    return dgeval.generate_uniform(dims, games, seed)


def assert_results_equal(r, s, rtol=0.0, atol=0.0):
    assert list(r) == list(s)
    for name in r:
        if name == "pure_ne":
            assert len(r[name]) == len(s[name])
            for x, y in zip(r[name], s[name]):
                np.testing.assert_array_equal(x, y)
        elif np.asarray(r[name]).dtype.kind == "f":
            np.testing.assert_allclose(r[name], s[name], rtol=rtol, atol=atol, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(r[name], s[name], err_msg=name)


# ---- results: names, shapes, dtypes --------------------------------------------------------


def test_result_columns_match_result_keys_shapes_and_dtypes():
    a, p = random_batch()
    r = dgeval.evaluate(a, p, list_equilibria=True, distance_matrix=True)
    columns = dgeval.result_columns()
    assert [c.name for c in columns] + ["pure_ne", "distance_matrix"] == list(r)
    for c in columns:
        v = r[c.name]
        assert isinstance(v, np.ndarray), c.name
        if c.kind == "player_real":
            assert v.shape == (25, 3) and v.dtype == np.float64, c.name
        else:
            assert v.shape == (25,), c.name
            assert v.dtype == {"real": np.float64, "integer": np.int64, "boolean": np.float64}[c.kind], c.name
    assert len(r["pure_ne"]) == 25
    for g, ne in enumerate(r["pure_ne"]):
        assert ne.shape == (r["pure_ne_count"][g], 3) and ne.dtype == np.int64
        assert np.all(ne >= 0) and np.all(ne < np.array([3, 2, 4]))
    assert r["distance_matrix"].shape == (25, 6, 6)
    assert {c.kind for c in columns} == {"player_real", "real", "integer", "boolean"}
    assert all(c.description for c in columns)


def test_results_own_their_memory_and_are_writable():
    a, p = random_batch()
    r = dgeval.evaluate(a, p)
    r["ia"][0, 0] = 42.0  # arrays handed over from C++ without a copy are ordinary NumPy arrays
    assert r["ia"][0, 0] == 42.0
    del a, p
    assert np.isfinite(r["ia"]).all()


def test_single_game_drops_the_game_axis():
    a, p = random_batch(games=5)
    batch = dgeval.evaluate(a, p, list_equilibria=True, distance_matrix=True)
    for g in range(5):
        one = dgeval.evaluate(a[g], p[g], list_equilibria=True, distance_matrix=True)
        for c in dgeval.result_columns():
            if c.kind == "player_real":
                assert one[c.name].shape == (3,)
            else:
                assert np.ndim(one[c.name]) == 0 and isinstance(one[c.name], np.generic)
            np.testing.assert_array_equal(one[c.name], batch[c.name][g])
        np.testing.assert_array_equal(one["pure_ne"], batch["pure_ne"][g])
        np.testing.assert_array_equal(one["distance_matrix"], batch["distance_matrix"][g])


# ---- input forms, layouts, dtypes ----------------------------------------------------------


def test_layouts_give_identical_results():
    a, p = random_batch()
    ref = dgeval.evaluate(a, p)
    fortran = dgeval.evaluate(np.asfortranarray(a), np.asfortranarray(p))
    assert_results_equal(ref, fortran)
    # A strided view (every other game of a bigger batch) and a view through a transpose.
    big_a, big_p = np.repeat(a, 2, axis=0), np.repeat(p, 2, axis=0)
    assert_results_equal(ref, dgeval.evaluate(big_a[::2], big_p[::2]))
    t = np.ascontiguousarray(a.transpose(0, 1, 4, 3, 2)).transpose(0, 1, 4, 3, 2)
    assert not t.flags.c_contiguous
    assert_results_equal(ref, dgeval.evaluate(t, p))
    # Big-endian and read-only arrays.
    assert_results_equal(ref, dgeval.evaluate(a.astype(">f8"), p))
    ro = a.copy()
    ro.flags.writeable = False
    assert_results_equal(ref, dgeval.evaluate(ro, p, copy=False))
    # Nested lists are read as float64.
    assert_results_equal(ref, dgeval.evaluate(a.tolist(), p.tolist()))


def test_copy_false_refuses_to_copy():
    a, p = random_batch()
    with pytest.raises(dgeval.Error, match="not C-contiguous"):
        dgeval.evaluate(np.asfortranarray(a), p, copy=False)
    with pytest.raises(dgeval.Error, match="copy=False"):
        dgeval.evaluate(a.astype(np.float32), p, copy=False)
    dgeval.evaluate(a, p, copy=False)  # C-contiguous float64: used in place


def test_float32_agrees_with_float64():
    a, p = random_batch(dims=(4, 3, 3), games=60, seed=9)
    a32, p32 = a.astype(np.float32), p.astype(np.float32)
    r32 = dgeval.evaluate(a32, p32, list_equilibria=True)
    # float32 input is widened to float64 before any arithmetic: identical to the widened input.
    r64 = dgeval.evaluate(a32.astype(np.float64), p32.astype(np.float64), list_equilibria=True)
    assert_results_equal(r32, r64, rtol=1e-12, atol=1e-12)
    # ... and close to the original float64 games (same equilibria here: no ties at 1e-7).
    ref = dgeval.evaluate(a, p, list_equilibria=True)
    np.testing.assert_array_equal(r32["pure_ne_count"], ref["pure_ne_count"])
    for name in ("ia", "ca_principals", "ca_agents", "principals_welfare_regret", "bound"):
        np.testing.assert_allclose(r32[name], ref[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_mixed_dtypes_are_read_as_float64():
    a, p = random_batch()
    a32 = a.astype(np.float32)
    assert_results_equal(dgeval.evaluate(a32, p), dgeval.evaluate(a32.astype(np.float64), p))


def test_shape_forms_and_ambiguity():
    a, p = random_batch(dims=(2, 2), games=3)  # (3, 2, 2, 2): also one game of 3 players
    with pytest.warns(UserWarning, match=r"shape \(3, 2, 2, 2\) read as 3 games of 2 players \(2x2\); if it is one game, pass batch=False"):
        r = dgeval.evaluate(a, p)
    assert r["ia"].shape == (3, 2)
    r = dgeval.evaluate(a, p, batch=False)
    assert r["ia"].shape == (3,)
    r = dgeval.evaluate(a, p, batch=True)
    assert r["ia"].shape == (3, 2)
    with pytest.raises(dgeval.Error, match=r"is not \[n, k_1, ..., k_n\] .*\(batch=False\)"):
        dgeval.evaluate(a[:2], p[:2], batch=False)
    one_a, one_p = a[0], p[0]
    with pytest.raises(dgeval.Error, match=r"is not \[B, n, k_1, ..., k_n\] .*\(batch=True\)"):
        dgeval.evaluate(one_a, one_p, batch=True)


def test_zero_games():
    a, p = random_batch(games=1)
    r = dgeval.evaluate(a[:0], p[:0], list_equilibria=True)
    assert r["ia"].shape == (0, 3) and r["bound"].shape == (0,) and r["pure_ne"] == []


def test_one_player_and_single_outcome():
    r = dgeval.evaluate([[1.0, 3.0, 2.0]], [[0.0, 1.0, 5.0]])  # one player, three actions
    assert r["pure_ne_count"] == 1
    r = dgeval.evaluate(np.ones((2, 1, 1)), np.ones((2, 1, 1)), batch=False)  # N = 1
    assert r["principals_welfare_regret"] == 0.0


# ---- errors --------------------------------------------------------------------------------


def test_error_is_a_value_error():
    assert issubclass(dgeval.Error, ValueError)
    assert dgeval.Error.__module__ == "dgeval"


@pytest.mark.parametrize(
    "shape, match",
    [
        ((4,), r"agents: shape \(4,\) is not \[B, n, k_1, ..., k_n\] \(a batch: n = shape\[1\] players need n \+ 2"),
        ((2, 2), r"is not \[B, n, .*\) or \[n, k_1, ..., k_n\] \(one game: n = shape\[0\] players need n \+ 1 axes\)"),
        ((3, 3, 3), r"shape \(3, 3, 3\) is not"),
        ((5, 3, 2, 2), r"shape \(5, 3, 2, 2\) is not"),
        ((40, 2, 2), "at most 32 players are supported"),
        ((), r"shape \(\) is not"),
    ],
)
def test_wrong_shapes(shape, match):
    x = np.zeros(shape)
    with pytest.raises(dgeval.Error, match=match):
        dgeval.evaluate(x, x)


def test_mismatched_agents_and_principals():
    a, p = random_batch()
    with pytest.raises(dgeval.Error, match=r"differ in shape: \(25, 3, 3, 2, 4\) vs \(24, 3, 3, 2, 4\)"):
        dgeval.evaluate(a, p[:24])
    b, q = random_batch(dims=(3, 2, 5))
    with pytest.raises(dgeval.Error, match="differ in shape"):
        dgeval.evaluate(a, q)




def test_nan_and_inf_are_refused_with_their_position():
    a, p = random_batch()
    a = a.copy()
    a[7, 1, 0, 1, 2] = np.nan
    with pytest.raises(dgeval.Error) as e:
        dgeval.evaluate(a, p)
    msg = str(e.value)
    assert msg.startswith("game 7, agent 1, outcome (0,1,2): utility is nan"), msg
    p = p.copy()
    p[3, 0, 0, 0, 0] = np.inf
    a[7, 1, 0, 1, 2] = 0.5
    with pytest.raises(dgeval.Error, match="game 3"):
        dgeval.evaluate(a, p)
    r = dgeval.evaluate(a, p, allow_nonfinite=True)
    assert r["flags"][3] & dgeval.Flag.NONFINITE
    assert np.isnan(r["ia"][3]).any()
    assert not r["flags"][4] & dgeval.Flag.NONFINITE and np.isfinite(r["ia"][4]).all()


def test_too_many_players():
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("NumPy 1 arrays have at most 32 dimensions")
    n = 33
    x = np.zeros((n,) + (1,) * n)
    with pytest.raises(dgeval.Error, match="33 players, but at most 32 are supported"):
        dgeval.evaluate(x, x)


def test_no_actions():
    x = np.zeros((2, 0, 3))
    with pytest.raises(dgeval.Error, match=r"agents: shape \(2, 0, 3\): game dims: player 0 has 0 actions"):
        dgeval.evaluate(x, x)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"standardisation": "l3"}, 'unknown standardisation "l3"; expected one of: epic, max, max-range'),
        ({"welfare": "product"}, 'unknown welfare "product"; expected one of: average, sum'),
        ({"cc_window": "wide"}, 'unknown CC window "wide"'),
        ({"strategy": "best"}, 'unknown strategy "best"'),
        ({"backend": "tpu"}, 'unknown backend "tpu"; expected one of: auto, cpu, cuda'),
        ({"ic": 1.5}, r"IC level of player 0 = 1.5 is outside \[0, 1\]"),
        ({"ic": [1.0, 0.5, 0.5]}, "IC: 3 levels given for 2 players"),
        ({"cc": -0.1}, r"CC level = -0.1 is outside \[0, 1\]"),
        ({"ne_tolerance": -1.0}, "tolerance must be finite and non-negative"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(dgeval.Error, match=match):
        dgeval.example("mammoth").evaluate(**kwargs)


def test_cuda_backend_without_cuda():
    if dgeval.cuda_available():
        pytest.skip("a CUDA device is available")
    with pytest.raises(dgeval.Error, match="CUDA"):
        dgeval.example("mammoth").evaluate(backend="cuda")


# ---- strategies ----------------------------------------------------------------------------


def test_user_strategies():
    ex = dgeval.example("common-3x3")
    # Uniform over the pure NE {(0,0), (2,2)} as a correlated strategy, in both shapes.
    w = np.zeros((3, 3))
    w[0, 0] = w[2, 2] = 0.5
    uniform_ne = ex.evaluate(strategy="uniform-ne")
    for weights in (w, w.ravel(), w.tolist()):
        r = ex.evaluate(strategy="correlated", strategy_weights=weights)
        assert r["principals_welfare_regret"] == pytest.approx(uniform_ne["principals_welfare_regret"])
    # A one-hot product strategy equals the pure one.
    pure = ex.evaluate(strategy="pure", strategy_actions=[2, 2])
    prod = ex.evaluate(strategy="product", strategy_weights=[[0, 0, 1], [0, 0, 1]])
    flat = ex.evaluate(strategy="product", strategy_weights=[0, 0, 1, 0, 0, 1])
    assert pure["principals_welfare_regret"] == prod["principals_welfare_regret"] == flat["principals_welfare_regret"] == 0.0


def test_per_game_strategies():
    a, p = random_batch(dims=(2, 3), games=5)
    actions = np.array([[g % 2, g % 3] for g in range(5)])
    r = dgeval.evaluate(a, p, strategy="pure", strategy_actions=actions)
    for g in range(5):
        one = dgeval.evaluate(a[g], p[g], strategy="pure", strategy_actions=actions[g])
        assert r["principals_welfare_regret"][g] == one["principals_welfare_regret"]
    w = np.full((5, 2, 3), 1.0 / 6.0)
    r = dgeval.evaluate(a, p, strategy="correlated", strategy_weights=w)
    assert r["principals_welfare_regret"].shape == (5,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strategy": "pure"}, "needs strategy_actions"),
        ({"strategy": "pure", "strategy_actions": [0, 2]}, r"player 1 action 2 is out of range \[0, 2\)"),
        ({"strategy": "pure", "strategy_actions": [0.0, 1.0]}, "not an integer type"),
        ({"strategy": "pure", "strategy_actions": [0, 1, 0]}, r"expected \[2\] or \[B, 2\]"),
        ({"strategy": "correlated", "strategy_weights": [0.5, 0.5, 0.5, 0.5]}, "weights sum to 2"),
        ({"strategy": "correlated", "strategy_weights": [1.0, 0.0]}, "strategy_weights: shape"),
        ({"strategy": "product", "strategy_weights": [[1.0, 0.0], [0.5]]}, "per-player lengths"),
        ({"strategy": "worst-ne", "strategy_actions": [0, 0]}, "takes no strategy_actions"),
    ],
)
def test_bad_strategies(kwargs, match):
    with pytest.raises(dgeval.Error, match=match):
        dgeval.example("mammoth").evaluate(**kwargs)


# ---- examples, generator, misc -------------------------------------------------------------


def test_examples():
    names = [e.name for e in dgeval.examples()]
    assert names == ["mammoth", "mammoth-negated", "misaligned", "matching-pennies", "common-3x3", "max-ca-negative"]
    ex = dgeval.example("common-3x3")
    assert ex.agents.shape == (2, 3, 3) and ex.agents.dtype == np.float64
    np.testing.assert_array_equal(ex.agents[0], [[4, 3, 0], [3, 2, 1], [0, 1, 10]])
    assert "§8" in ex.description
    assert dgeval.example("max-ca-negative").options["standardisation"] == "max"
    with pytest.raises(dgeval.Error, match='unknown example "stag"; built-in examples: mammoth'):
        dgeval.example("stag")


def test_generate_uniform():
    a, p = dgeval.generate_uniform((2, 3), 10, seed=5)
    assert a.shape == p.shape == (10, 2, 2, 3) and a.dtype == np.float64
    assert (a >= 0).all() and (a < 1).all()
    b, q = dgeval.generate_uniform("2x3", 4, seed=5, first_game=6)
    np.testing.assert_array_equal(a[6:], b)
    np.testing.assert_array_equal(p[6:], q)
    c, _ = dgeval.generate_uniform((2, 3), 10, seed=5, low=-2.0, high=-1.0, threads=1)
    assert (c >= -2).all() and (c < -1).all()
    assert not np.array_equal(a, dgeval.generate_uniform((2, 3), 10, seed=6)[0])
    with pytest.raises(dgeval.Error, match="dims"):
        dgeval.generate_uniform("2y3", 1)


def test_threads_do_not_change_results():
    a, p = random_batch(dims=(3, 3, 3), games=200, seed=1)
    assert_results_equal(dgeval.evaluate(a, p, threads=1), dgeval.evaluate(a, p, threads=2))


def test_version_and_flags():
    assert dgeval.__version__.count(".") == 2
    assert dgeval.Flag.NO_PURE_NE == 1 and dgeval.Flag.STRATEGY_UNDEFINED == 64
    assert dgeval.Flag.BOUND_VIOLATED == 128 and dgeval.Flag.IDEAL_GAP_BOUND_VIOLATED == 256
    assert isinstance(dgeval.cuda_available(), bool)


# ---- progress, cancellation, GIL ------------------------------------------------------------


BACKENDS = ["cpu"] + (["cuda"] if dgeval.cuda_available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_callback_and_cancel(backend):
    a, p = random_batch(dims=(4, 4, 4), games=2000, seed=2)
    calls = []
    dgeval.evaluate(a, p, backend=backend, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (2000, 2000)
    with pytest.raises(dgeval.Cancelled, match="^evaluation cancelled: the progress callback returned False$"):
        dgeval.evaluate(a, p, backend=backend, progress=lambda done, total: False)

    def boom(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        dgeval.evaluate(a, p, backend=backend, progress=boom)
    # The module is still usable afterwards.
    assert dgeval.example("mammoth").evaluate(backend=backend)["bound"] == 8.0


@pytest.mark.skipif(not dgeval.cuda_available(), reason="no usable CUDA device")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_matches_cpu(dtype):
    # Integer payoffs: ties are exact on both backends, so equilibrium sets must match exactly.
    rng = np.random.default_rng(5)
    a = rng.integers(0, 20, size=(301, 3, 3, 5, 2)).astype(dtype)
    p = rng.integers(0, 20, size=(301, 3, 3, 5, 2)).astype(dtype)
    kwargs = dict(list_equilibria=True, distance_matrix=True, ic=0.8, strategy="uniform-eps-ne")
    cpu = dgeval.evaluate(a, p, backend="cpu", **kwargs)
    gpu = dgeval.evaluate(a, p, backend="cuda", **kwargs)
    assert_results_equal(cpu, gpu, rtol=1e-9, atol=20 * 1e-9)


def test_gil_is_released_during_evaluation():
    a, p = dgeval.generate_uniform((5, 5, 5, 5), 1500, seed=4)
    # Ten evaluations (0.5 s on a loaded machine): one call of 50 ms there left as
    # few as 3 ticks in its middle 60% when other processes kept the cores busy (200 runs:
    # fewest 3, median 8), so the test was one tick from failing; ten calls left 66 or more (60
    # runs, same load: median 146).
    duration, inside = ticks_inside(lambda: [dgeval.evaluate(a, p, backend="cpu", threads=1) for _ in range(10)])
    # With the GIL held for the whole evaluation, this thread could not run in between.
    assert inside >= 3, (duration, inside)


# ---- files ---------------------------------------------------------------------------------


def test_nfg_round_trip(tmp_path):
    ex = dgeval.example("misaligned")
    path = tmp_path / "agents.nfg"
    dgeval.write_nfg(path, ex.agents, title="misaligned agents", players=["Ann", "Bob"],
                     strategies=[["fruit", "mammoth"], ["fruit", "mammoth"]], comment="docs/MATH.md §8 B")
    back, info = dgeval.read_nfg(path, labels=True)
    np.testing.assert_array_equal(back, ex.agents)
    assert info == {"title": "misaligned agents", "players": ["Ann", "Bob"],
                    "strategies": [["fruit", "mammoth"], ["fruit", "mammoth"]], "comment": "docs/MATH.md §8 B"}
    # An asymmetric 3-player game keeps its C order through the file's player-1-fastest order.
    a, _ = dgeval.generate_uniform((2, 3, 4), 1, seed=2)
    dgeval.write_nfg(str(tmp_path / "g.nfg"), a[0])
    np.testing.assert_array_equal(dgeval.read_nfg(tmp_path / "g.nfg"), a[0])
    g = dgeval.read_games(tmp_path / "agents.nfg", tmp_path / "agents.nfg")
    assert g.agents.shape == (1, 2, 2, 2) and g.strategy is None


def test_nfg_errors(tmp_path):
    bad = tmp_path / "bad.nfg"
    bad.write_text('NFG 1 R "x" { "A" "B" } { 2 2 }\n1 2 3\n')
    with pytest.raises(dgeval.Error, match="bad.nfg"):
        dgeval.read_nfg(bad)
    with pytest.raises(dgeval.Error, match="cannot open"):
        dgeval.read_nfg(tmp_path / "missing.nfg")
    with pytest.raises(dgeval.Error, match="write_nfg: shape"):
        dgeval.write_nfg(tmp_path / "x.nfg", np.zeros((3, 2, 2)))


def test_read_games_npz_npy(tmp_path):
    a, p = random_batch(games=6)
    np.savez(tmp_path / "games.npz", agents=a.astype(np.float32), principals=p.astype(np.float32),
             strategy_pure=np.array([1, 0, 2]))
    g = dgeval.read_games(tmp_path / "games.npz")
    assert g.agents.dtype == np.float32 and g.agents.shape == a.shape
    np.testing.assert_array_equal(g.agents, a.astype(np.float32))
    np.testing.assert_array_equal(g.principals, p.astype(np.float32))
    assert g.strategy["strategy"] == "pure"
    np.testing.assert_array_equal(g.strategy["strategy_actions"], [1, 0, 2])
    r = g.evaluate()
    expected = dgeval.evaluate(a.astype(np.float32), p.astype(np.float32), strategy="pure", strategy_actions=[1, 0, 2])
    assert_results_equal(r, expected)

    np.save(tmp_path / "a.npy", np.asfortranarray(a))
    np.save(tmp_path / "p.npy", p.astype(">f8"))
    g = dgeval.read_games(tmp_path / "a.npy", tmp_path / "p.npy")
    np.testing.assert_array_equal(g.agents, a)
    np.testing.assert_array_equal(g.principals, p)
    assert g.strategy is None

    np.save(tmp_path / "amb.npy", a[:4])  # (4, 3, 3, 2, 4): 4 games of 3 players, or one 4-player game
    with pytest.warns(UserWarning) as record:  # the CLI's notes, as warnings
        assert dgeval.read_games(tmp_path / "amb.npy").agents.shape == (4, 3, 3, 2, 4)
    notes = " | ".join(str(w.message) for w in record)
    assert "read as 4 games of 3 players" in notes and "single_game=True" in notes and "used as both" in notes
    with pytest.warns(UserWarning, match="used as both"):  # one file for both sides: the CLI's note
        assert dgeval.read_games(tmp_path / "amb.npy", single_game=True).agents.shape == (1, 4, 3, 3, 2, 4)
    with pytest.raises(dgeval.Error, match="a.npy"):
        dgeval.read_games(tmp_path / "a.npy", tmp_path / "amb.npy")
    np.save(tmp_path / "int.npy", np.zeros((2, 2, 2), dtype=np.int32))
    with pytest.raises(dgeval.Error, match="int.npy"):
        dgeval.read_games(tmp_path / "int.npy")
