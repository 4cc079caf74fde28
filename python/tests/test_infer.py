"""dgeval.infer, read_observations, sample_observations, outcome_sets: `dgeval infer` from Python.

Estimates are checked against the truth where the observations determine it (every outcome
observed), against the CLI's JSON on the same file or sampled game (bit for bit: both print
shortest round-trip decimals), and between the array, file and Observations forms."""

import json
import math

import numpy as np
import pytest

import dgeval

from _util import cli, needs_cli



@pytest.fixture(scope="module")
def game():
    """One 3x3 game with known IA and agents' CA, non-negative utilities."""
    return dgeval.generate((3, 3), 1, seed=5, ia=[0.3, 0.8], ca_agents=0.4, positive=True)


def estimates(inf):
    """[(family, measure, player or -1, Estimate)] in the CLI's order."""
    c = inf.columns()
    fams = {"authors": inf.authors, "corrected": inf.corrected}
    out = []
    for f, m, p in zip(c["family"], c["measure"], c["player"]):
        e = fams[f][m][p] if p >= 0 else fams[f][m]
        out.append((str(f), str(m), int(p), e))
    return out


def same_number(x, y):
    return (x is None and math.isnan(y)) or (x is not None and float(x) == y)


def assert_same_as_json(inf, doc):
    assert doc["players"] == inf.players and doc["rows"] == inf.rows and doc["outcomes"] == inf.outcomes
    assert doc["rows_per_set"] == inf.rows_per_set and doc["ic_set"] == inf.ic_set
    assert doc["resamples"] == inf.resamples and doc["level"] == inf.level and doc["seed"] == inf.seed
    rows = estimates(inf)
    assert len(rows) == len(doc["estimates"])
    for (f, m, p, e), d in zip(rows, doc["estimates"]):
        assert (d["family"], d["measure"], d.get("player", -1)) == (f, m, p)
        for key in ("estimate", "lo", "hi"):
            assert same_number(d[key], getattr(e, key)), (f, m, p, key, d[key], getattr(e, key))
        assert d["replicates"] == e.replicates
        assert d.get("reason", "") == e.reason and d.get("interval_reason", "") == e.interval_reason


def test_all_outcomes_observed_recover_the_truth(game):
    truth = game.evaluate(backend="cpu")
    obs = dgeval.sample_observations(game, set="all", samples=300, seed=1)
    assert obs.rows == 300 and obs.dims == (3, 3) and obs.dims_known
    assert set(obs.set) == {"all"}
    inf = dgeval.infer(obs, resamples=50, seed=2)
    assert inf.outcomes == 9 and inf.rows_per_set["all"] == 300
    for fam in (inf.authors, inf.corrected):
        np.testing.assert_allclose([e.estimate for e in fam["ia"]], truth["ia"][0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(inf.corrected["ca"].estimate, truth["ca_agents"][0], rtol=0, atol=1e-9)
    # The observed utilities are the game's.
    a = game.agents[0][(slice(None),) + tuple(obs.actions.T)].T
    np.testing.assert_array_equal(obs.agents, a)
    # With every outcome in every resample the interval collapses on the estimate.
    e = inf.corrected["ia"][0]
    assert e.lo <= e.estimate <= e.hi and e.replicates == 50


def test_forms_agree_and_are_deterministic(game):
    obs = dgeval.sample_observations(game, set=["all", "ne", "eps_ne", "played"], samples=30, seed=4, ic=0.5, cc=0.5)
    assert list(np.unique(obs.set)) == ["all", "eps_ne", "ne", "played"]
    r1 = dgeval.infer(obs, resamples=100, seed=9, threads=1)
    r2 = dgeval.infer(obs.actions, obs.agents, obs.principals, obs.set, dims=obs.dims, resamples=100, seed=9,
                      threads=2)
    codes = np.array([dgeval.OBSERVED_SETS.index(s) for s in obs.set])
    r3 = dgeval.infer(obs.outcome, obs.agents, obs.principals, codes, dims="3x3", resamples=100, seed=9)
    for r in (r2, r3):
        for (f, m, p, e), (_, _, _, e1) in zip(estimates(r), estimates(r1)):
            assert (e.estimate, e.lo, e.hi, e.replicates) == (e1.estimate, e1.lo, e1.hi, e1.replicates) or (
                math.isnan(e.estimate) and math.isnan(e1.estimate)), (f, m, p)
    other = dgeval.infer(obs, resamples=100, seed=10)
    assert any(a.lo != b.lo for (*_, a), (*_, b) in zip(estimates(other), estimates(r1)) if not math.isnan(a.lo))
    cols = r1.columns()
    assert list(cols) == ["family", "measure", "player", "estimate", "lo", "hi", "level", "replicates", "reason",
                          "interval_reason"]
    assert len(cols["estimate"]) == 12 and r1.to_frame().shape == (12, 10)


def test_outcome_sets(game):
    s = dgeval.outcome_sets(game, ic=0.5, cc=0.5)
    truth = game.evaluate(backend="cpu", list_equilibria=True)
    np.testing.assert_array_equal(s["ne"], truth["pure_ne"][0])
    assert s["eps_ne"].shape[1] == 2 and len(s["eps_ne"]) >= len(s["ne"])
    obs = dgeval.sample_observations(game, set="eps_ne", samples=50, ic=0.5, cc=0.5)
    assert {tuple(a) for a in obs.actions} <= {tuple(a) for a in s["eps_ne"]}


def test_array_errors(game):
    obs = dgeval.sample_observations(game, set="all", samples=20)
    principals = obs.principals.copy()
    same = np.flatnonzero((obs.actions == obs.actions[0]).all(axis=1))
    assert len(same) >= 2
    principals[same[1], 1] += 1.0
    with pytest.raises(dgeval.Error, match=r"row \d+: outcome \(\d,\d\) has"):
        dgeval.infer(obs.actions, obs.agents, principals, "all", dims=(3, 3))
    with pytest.raises(dgeval.Error, match=r"row 0: action 3 of player 1 is outside \[0, 3\) for the game 3x3"):
        dgeval.infer([[0, 3]], [[1.0, 2.0]], [[1.0, 2.0]], dims=(3, 3))
    with pytest.raises(dgeval.Error, match='unknown observed set "nash"'):
        dgeval.infer(obs.actions, obs.agents, obs.principals, "nash")
    with pytest.raises(dgeval.Error, match=r"agents: shape \(20, 3\)"):
        dgeval.infer(obs.actions, np.zeros((20, 3)), obs.principals)
    with pytest.raises(dgeval.Error, match="agent_0 is nan"):
        a = obs.agents.copy()
        a[0, 0] = np.nan
        dgeval.infer(obs.actions, a, obs.principals, dims=(3, 3))
    with pytest.raises(dgeval.Error, match=r"level must lie in \(0, 1\)"):
        dgeval.infer(obs, level=1.5)
    with pytest.raises(dgeval.Error, match="cannot sample from the set ne: it is empty"):
        dgeval.sample_observations(dgeval.example("matching-pennies"), set="ne", samples=5)
    with pytest.raises(dgeval.Error, match=r"game_index 3 is outside \[0, 1\)"):
        dgeval.sample_observations(game, game_index=3)


def test_unknown_dims_are_inferred():
    inf = dgeval.infer([[0, 0], [1, 2], [1, 0]], [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]],
                       [[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]], "all", resamples=0)
    assert inf.players == 2 and inf.outcomes == 3 and inf.resamples == 0
    assert math.isnan(inf.authors["ia"][0].lo) and inf.authors["ia"][0].interval_reason


# ---- against the CLI ---------------------------------------------------------------------------


@needs_cli
def test_sampled_game_same_as_cli(tmp_path):
    obs_csv = tmp_path / "obs.csv"
    args = ["--example", "misaligned", "--sample", "all,ne,eps_ne,played", "--samples", "40", "--ic", "0.5",
            "--cc", "0.5", "--resamples", "200", "--seed", "3", "--format", "json"]
    doc = json.loads(cli("infer", *args, "--write-observations", str(obs_csv)).stdout)
    ex = dgeval.example("misaligned")
    obs = dgeval.sample_observations(ex, set="all,ne,eps_ne,played", samples=40, ic=0.5, cc=0.5, seed=3)
    inf = dgeval.infer(obs, resamples=200, seed=3)
    assert_same_as_json(inf, doc)
    # The sampled observations are those the CLI wrote, and the file infers to the same.
    back = dgeval.read_observations(obs_csv, dims=obs.dims)
    np.testing.assert_array_equal(back.actions, obs.actions)
    np.testing.assert_array_equal(back.agents, obs.agents)
    np.testing.assert_array_equal(back.principals, obs.principals)
    np.testing.assert_array_equal(back.set, obs.set)
    assert_same_as_json(dgeval.infer(obs_csv, dims=obs.dims, resamples=200, seed=3), doc)


@needs_cli
def test_games_file_same_as_cli(tmp_path, game):
    path = tmp_path / "games.npz"
    np.savez(path, agents=np.concatenate([game.agents] * 2), principals=np.concatenate([game.principals] * 2))
    doc = json.loads(cli("infer", "--game", str(path), "--game-index", "1", "--sample", "all,played", "--samples",
                         "25", "--ic", "0.7", "--cc", "0.2", "--resamples", "100", "--seed", "8", "--format",
                         "json").stdout)
    obs = dgeval.sample_observations(path, game_index=1, set="all,played", samples=25, ic=0.7, cc=0.2, seed=8)
    assert_same_as_json(dgeval.infer(obs, resamples=100, seed=8), doc)


@needs_cli
def test_npz_and_csv_input_same_as_cli(tmp_path, game):
    obs = dgeval.sample_observations(game, set="all,eps_ne", samples=30, ic=0.6, seed=2)
    npz = tmp_path / "obs.npz"
    np.savez(npz, actions=obs.actions, agents=obs.agents, principals=obs.principals,
             set=np.array([dgeval.OBSERVED_SETS.index(s) for s in obs.set], dtype=np.int64))
    doc = json.loads(cli("infer", "--input", str(npz), "--resamples", "150", "--seed", "1", "--level", "0.9",
                         "--format", "json").stdout)
    assert_same_as_json(dgeval.infer(npz, resamples=150, seed=1, level=0.9), doc)
    # A CSV without a set column: every row is of --set.
    csv = tmp_path / "obs.csv"
    frame = obs.to_frame().drop(columns="set")
    frame.to_csv(csv, index=False)
    doc = json.loads(cli("infer", "--input", str(csv), "--dims", "3x3", "--set", "all", "--resamples", "80",
                         "--format", "json").stdout)
    inf = dgeval.infer(csv, dims="3x3", set="all", resamples=80)
    assert_same_as_json(inf, doc)
    assert inf.rows_per_set == {"all": 60, "ne": 0, "eps_ne": 0, "played": 0}
    arrays = dgeval.infer(obs.actions, obs.agents, obs.principals, "all", dims=(3, 3), resamples=80)
    assert_same_as_json(arrays, doc)


@needs_cli
def test_file_errors_same_as_cli(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("action_0,action_1,agent_0,agent_1,principal_0,principal_1\n"
                   "0,0,1,2,3,4\n"
                   "0,1,1,2,3,x\n")
    r = cli("infer", "--input", str(bad), check=False)
    assert r.returncode != 0
    with pytest.raises(dgeval.Error) as e:
        dgeval.infer(bad)
    assert str(bad) in str(e.value) and "line 3" in str(e.value)
    assert f": {e.value}\n" in r.stderr, (str(e.value), r.stderr)
    # Two rows of one outcome with different utilities: found by infer(), naming the lines.
    bad.write_text("action_0,action_1,agent_0,agent_1,principal_0,principal_1\n"
                   "0,0,1,2,3,4\n"
                   "1,1,1,2,3,4\n"
                   "0,0,1,2,3,5\n")
    r = cli("infer", "--input", str(bad), "--dims", "2x2", check=False)
    with pytest.raises(dgeval.Error) as e:
        dgeval.infer(bad, dims=(2, 2))
    assert f": {e.value}\n" in r.stderr, (str(e.value), r.stderr)
    with pytest.raises(dgeval.Error) as e2:
        dgeval.infer(dgeval.read_observations(bad, dims=(2, 2)))
    assert str(e2.value) == str(e.value)
