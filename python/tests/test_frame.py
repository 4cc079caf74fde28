"""Results as pandas DataFrames: evaluate's Result and its to_frame, dgeval.to_frame on every
result and table type the package returns, bound_holds as pandas' nullable boolean."""

import math
import pickle

import numpy as np
import pytest

import dgeval

pd = pytest.importorskip("pandas")


def batch(dims=(3, 2), games=6, seed=3):
    return dgeval.generate_uniform(dims, games, seed)


def holds_list(v):
    """bound_holds as [True / False / None]: bool today, float64 1/0/NaN (NaN: undefined)."""
    return [None if (isinstance(x, float) and math.isnan(x)) else bool(x) for x in np.atleast_1d(v).tolist()]


def frame_holds_list(series):
    return [None if x is pd.NA else bool(x) for x in series.tolist()]


# ---- evaluate's Result ---------------------------------------------------------------------


def test_result_is_a_dict_with_to_frame():
    a, p = batch()
    r = dgeval.evaluate(a, p)
    assert isinstance(r, dgeval.Result) and isinstance(r, dict)
    assert r["ia"].shape == (6, 2) and list(r) == [c.name for c in dgeval.result_columns()]
    f = r.to_frame()
    pd.testing.assert_frame_equal(f, dgeval.to_frame(r))
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is dgeval.Result and list(back) == list(r)
    pd.testing.assert_frame_equal(back.to_frame(), f)
    assert type(dgeval.example("mammoth").evaluate()) is dgeval.Result
    assert type(dgeval.Games(a, p, None).evaluate()) is dgeval.Result


def test_batch_frame_expands_per_player_columns():
    a, p = batch()
    r = dgeval.evaluate(a, p, list_equilibria=True, distance_matrix=True)
    f = r.to_frame()
    assert f.index.name == "game" and list(f.index) == list(range(6))
    expected = []
    for c in dgeval.result_columns():
        expected += [f"{c.name}_{i}" for i in range(2)] if c.kind == "player_real" else [c.name]
    expected += ["pure_ne"] + [f"distance_matrix_{i}_{j}" for i in range(4) for j in range(4)]
    assert list(f.columns) == expected
    for c in dgeval.result_columns():
        if c.kind == "player_real":
            for i in range(2):
                np.testing.assert_array_equal(f[f"{c.name}_{i}"].to_numpy(), r[c.name][:, i])
        elif c.name != "bound_holds":
            np.testing.assert_array_equal(f[c.name].to_numpy(), r[c.name], err_msg=c.name)
            assert f[c.name].dtype == r[c.name].dtype, c.name
    assert f["pure_ne"].iloc[2] == [tuple(int(x) for x in row) for row in r["pure_ne"][2]]
    np.testing.assert_array_equal(f["distance_matrix_1_3"].to_numpy(), r["distance_matrix"][:, 1, 3])


def test_single_game_is_one_row():
    ex = dgeval.example("misaligned")
    one = ex.evaluate(list_equilibria=True, distance_matrix=True)
    f = one.to_frame()
    assert len(f) == 1 and f.index.name == "game"
    assert f["ia_1"].iloc[0] == one["ia"][1] and f["bound"].iloc[0] == one["bound"]
    assert f["distance_matrix_1_2"].iloc[0] == one["distance_matrix"][1, 2]
    assert f["pure_ne"].iloc[0] == [tuple(int(x) for x in row) for row in one["pure_ne"]]
    # The same row as the game in a batch.
    two = dgeval.evaluate(np.stack([ex.agents] * 2), np.stack([ex.principals] * 2), **ex.options,
                          list_equilibria=True, distance_matrix=True)
    pd.testing.assert_frame_equal(f, two.to_frame().iloc[:1])


def test_zero_games_and_a_selection():
    a, p = batch(games=1)
    f = dgeval.evaluate(a[:0], p[:0], list_equilibria=True).to_frame()
    assert len(f) == 0 and "ia_1" in f.columns and "pure_ne" in f.columns
    r = dgeval.evaluate(a, p, columns="ia,bound_holds")
    assert list(r.to_frame().columns) == ["ia_0", "ia_1", "bound_holds", "flags"]


def test_bound_holds_is_nullable_boolean():
    # From evaluate: matching pennies has no pure NE, so its worst-NE strategy is undefined.
    games = [dgeval.example(name) for name in ("mammoth", "matching-pennies", "misaligned")]
    a = np.stack([g.agents for g in games])
    p = np.stack([g.principals for g in games])
    r = dgeval.evaluate(a, p, batch=True)
    f = r.to_frame()
    assert f["bound_holds"].dtype == "boolean"
    assert frame_holds_list(f["bound_holds"]) == holds_list(r["bound_holds"])
    assert frame_holds_list(f["bound_holds"])[0] is True  # mammoth: the bound holds
    one = dgeval.example("matching-pennies").evaluate().to_frame()
    assert one["bound_holds"].dtype == "boolean"


@pytest.mark.parametrize(
    "column, expected",
    [
        (np.array([True, False, True]), [True, False, True]),
        (np.array([1.0, 0.0, np.nan]), [True, False, None]),  # NaN: undefined
        (np.array([np.nan, np.nan, 1.0]), [None, None, True]),
    ],
)
def test_bound_holds_as_bool_or_float(column, expected):
    r = dgeval.Result(ia=np.zeros((3, 2)), bound_holds=column, flags=np.zeros(3, dtype=np.int64))
    f = r.to_frame()
    assert f["bound_holds"].dtype == "boolean"
    assert frame_holds_list(f["bound_holds"]) == expected
    assert f["bound_holds"].isna().tolist() == [e is None for e in expected]
    # One game: scalars.
    for g in range(3):
        one = dgeval.Result(ia=np.zeros(2), bound_holds=column[g], flags=np.int64(0)).to_frame()
        assert one["bound_holds"].dtype == "boolean" and frame_holds_list(one["bound_holds"]) == [expected[g]]


def test_bound_holds_other_values_raise():
    r = dgeval.Result(bound_holds=np.array([1.0, 0.5]))
    with pytest.raises(dgeval.Error, match="bound_holds' holds values other than 1, 0 and NaN"):
        r.to_frame()
    with pytest.raises(dgeval.Error, match="bound_holds' has dtype <U1"):
        dgeval.Result(bound_holds=np.array(["y", "n"])).to_frame()


def test_hand_made_and_filtered_results():
    a, p = batch()
    r = dgeval.evaluate(a, p)
    r["ia_mean"] = r["ia"].mean(axis=1)  # a column of one's own: kept as it is
    f = r.to_frame()
    np.testing.assert_array_equal(f["ia_mean"].to_numpy(), r["ia_mean"])
    # A plain dict named as a result (e.g. a comprehension over it) is read as one.
    part = {k: r[k] for k in ("ia", "bound", "bound_holds")}
    g = dgeval.to_frame(part)
    assert list(g.columns) == ["ia_0", "ia_1", "bound", "bound_holds"] and len(g) == 6
    assert g["bound_holds"].dtype == "boolean"
    one = dgeval.example("mammoth").evaluate()
    assert len(dgeval.to_frame({"ia": one["ia"], "bound": one["bound"]})) == 1
    assert len(dgeval.to_frame({})) == 0


@pytest.mark.parametrize(
    "entries, match",
    [
        ({"ia": np.zeros((3, 2)), "bound": np.float64(1.0)}, "mixes batch entries"),
        ({"ia": np.zeros((3, 2, 1))}, r"'ia' has shape \(3, 2, 1\); expected \[B, n\]"),
        ({"bound": np.zeros((3, 2))}, r"'bound' has shape \(3, 2\); expected \[B\]"),
        ({"ia": np.zeros((3, 2)), "bound": np.zeros(4)}, "'bound' has 4 games, the others 3"),
        ({"ia": np.zeros((3, 2)), "mine": np.zeros((3, 2))}, r"'mine' has shape \(3, 2\); expected \[B\]"),
        ({"distance_matrix": np.zeros(4)}, r"'distance_matrix' has shape \(4,\)"),
    ],
)
def test_malformed_results_raise(entries, match):
    with pytest.raises(dgeval.Error, match=match):
        dgeval.Result(entries).to_frame()


# ---- dgeval.to_frame on every tabular type ---------------------------------------------------


def test_tables_of_the_experiments():
    grid = dgeval.grid_scan(games_per_point=2, increments=1, variables="ia", seed=5)
    surface = dgeval.bound_surface(games=50, keep_points=5, bins=4, seed=3)
    curves = dgeval.inference_experiment(sizes="2x2", games=2, samples=20, every=10, per_game=True)
    for table in (grid, surface, surface.points, curves, curves.per_game):
        f = dgeval.to_frame(table)
        assert list(f.columns) == list(table) and len(f) == table.rows > 0
        pd.testing.assert_frame_equal(f, table.to_frame())
        pd.testing.assert_frame_equal(f, pd.DataFrame(table))
        for name in table:
            np.testing.assert_array_equal(f[name].to_numpy(), table[name])


def test_inference_observations_generate_info_and_columns():
    g = dgeval.generate((3, 3), 4, seed=5, ia=[0.3, 0.8], ca_agents=0.4, positive=True)
    info = dgeval.to_frame(g.info)
    assert list(info.columns) == ["attempts", "flags", "eps_tol", "ca_achieved", "ia_error", "pure_ne_failures"]
    assert info.index.name == "game" and len(info) == 4
    np.testing.assert_array_equal(info["ca_achieved"].to_numpy(), g.info.ca_achieved)
    pd.testing.assert_frame_equal(info, g.info.to_frame())

    obs = dgeval.sample_observations(g, set="all", samples=20, seed=1)
    f = dgeval.to_frame(obs)
    assert list(f.columns) == ["action_0", "action_1", "agent_0", "agent_1", "principal_0", "principal_1", "set"]
    assert len(f) == 20

    inf = dgeval.infer(obs, resamples=10, seed=2)
    f = dgeval.to_frame(inf)
    pd.testing.assert_frame_equal(f, inf.to_frame())
    assert len(f) == 12 and list(f.columns)[:3] == ["family", "measure", "player"]

    cols = dgeval.to_frame(dgeval.result_columns())
    assert list(cols.columns) == ["name", "kind", "description"]
    assert list(cols["name"]) == [c.name for c in dgeval.result_columns()]


def test_a_dict_of_columns():
    f = dgeval.to_frame({"x": np.arange(3), "name": ["a", "b", "c"]})
    assert list(f.columns) == ["x", "name"] and len(f) == 3


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: dgeval.generate((2, 2), 3, seed=1, ia=0.5), r"GeneratedGames holds games .*to_frame\(games.info\)"),
        (lambda: dgeval.generate((2, 2), 3, seed=1), r"GeneratedGames holds games .*games.evaluate\(\)"),
        (lambda: dgeval.Games(*dgeval.generate_uniform((2, 2), 2), None), "Games holds games"),
        (lambda: dgeval.example("mammoth"), r"an Example is a game, not a table.*example.evaluate\(\)"),
        (lambda: dgeval.generate_uniform((2, 2), 2), "tuple is not a table"),
        (lambda: np.zeros((3, 2)), "ndarray is not a table"),
        (lambda: None, "NoneType is not a table"),
        (lambda: dgeval.infer(dgeval.sample_observations(dgeval.example("mammoth"), samples=5), resamples=0)
         .corrected["ca"], "Estimate is not a table"),
        (lambda: dgeval.outcome_sets(dgeval.example("mammoth")), "this dict is not a table: entry 'ne' has shape"),
        (lambda: dgeval.grid_scan(games_per_point=2, increments=1, variables="ia").summary,
         r"this dict is not a table: entry 'games' has shape \(\)"),
        (lambda: {"x": np.arange(3), "y": np.arange(4)}, "entry 'y' has 4 rows, the first 3"),
    ],
)
def test_things_that_are_not_tables_raise_type_error(make, match):
    x = make()
    with pytest.raises(TypeError, match=match):
        dgeval.to_frame(x)
