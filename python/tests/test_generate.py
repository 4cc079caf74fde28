"""dgeval.generate: the CLI's `dgeval generate` (uniform and delegation generators) from Python.

The targets are checked by evaluating the games (the evaluator recomputes every measure from the
utilities), the streams by comparing seeds, splits and thread counts, and the arrays against the
CLI's .npz output bit for bit (when DGEVAL_CLI points at the binary)."""


import numpy as np
import pytest

import dgeval

from _util import cli, needs_cli



def evaluate(g, **kw):
    return g.evaluate(backend="cpu", **kw)


def test_targets_on_the_principals():
    g = dgeval.generate((3, 4), 40, seed=11, ia=[0.2, 0.7], ca_principals=0.6)
    assert isinstance(g, dgeval.Games) and isinstance(g, dgeval.GeneratedGames)
    assert g.agents.shape == g.principals.shape == (40, 2, 3, 4) and g.agents.dtype == np.float64
    assert g.strategy is None
    r = evaluate(g)
    np.testing.assert_allclose(r["ia"], np.tile([0.2, 0.7], (40, 1)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["ca_principals"], 0.6, rtol=0, atol=1e-9)
    # The generator's own report agrees with the evaluation.
    info = g.info
    assert info.ia == (0.2, 0.7) and info.ca == 0.6 and info.ca_side == "principals" and info.calibration is None
    assert info.attempts.shape == (40,) and (info.attempts >= 1).all()
    assert info.ia_error_max < 1e-12 and info.ca_error_max < 1e-12
    np.testing.assert_allclose(info.ca_achieved, r["ca_principals"], rtol=0, atol=1e-12)
    # Without a CA target on the agents, their CA is not 0.6 in general.
    assert np.abs(r["ca_agents"] - 0.6).max() > 1e-3


def test_targets_on_the_agents_with_calibration_and_planted_ne():
    g = dgeval.generate("3x3x2", 30, seed=5, ia=0.4, ca_agents=0.35, calibration=[1.0, 2.0, 0.5], pure_ne="plant")
    r = evaluate(g)
    np.testing.assert_allclose(r["ia"], 0.4, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["ca_agents"], 0.35, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["calibration_ratio"], np.tile([1.0, 2.0, 0.5], (30, 1)), rtol=1e-9)
    assert (r["pure_ne_count"] >= 1).all()
    assert g.info.ca_side == "agents" and g.info.calibration == (1.0, 2.0, 0.5)
    assert g.info.planted == int(np.count_nonzero(g.info.flags & dgeval.GeneratorFlag.PLANTED)) > 0


def test_positive_uniform_draws_and_reject():
    g = dgeval.generate((3, 3), 25, seed=9, distribution="uniform", positive=True, pure_ne="reject", ia=0.5)
    r = evaluate(g)
    assert g.agents.min(axis=(2, 3)).max() == 0.0 and g.principals.min(axis=(2, 3)).max() == 0.0
    assert (r["pure_ne_count"] >= 1).all()
    np.testing.assert_allclose(r["ia"], 0.5, rtol=0, atol=1e-9)


def test_authors_protocol_reports_its_pure_ne_failures():
    # Zero-sum 2x2 agents lack a pure NE a third of the time: about 1 game in 243 is rejected 5
    # times and accepted with eps_tol 0.01 (a fixed seed: the count is deterministic).
    g = dgeval.generate((2, 2), 3000, seed=1, ia=1.0, ca_agents=0.0, pure_ne="authors")
    info = g.info
    assert info.pure_ne_failures.dtype == np.int32
    np.testing.assert_array_equal(info.eps_tol, 0.01 * (info.pure_ne_failures // 5))
    assert (info.pure_ne_failures <= info.attempts - 1).all()
    assert info.eps_tol_raised > 0 and info.pure_ne_failures.max() >= 5
    r = evaluate(g)
    assert (r["pure_ne_count"][info.eps_tol == 0] >= 1).all()
    assert list(info.to_frame().columns)[-1] == "pure_ne_failures"


def test_same_seed_same_games_any_split_or_thread_count():
    kw = dict(ia=[0.3, 0.9], ca_principals=0.2, pure_ne="reject")
    a = dgeval.generate((4, 3), 12, seed=3, threads=1, **kw)
    b = dgeval.generate((4, 3), 12, seed=3, threads=2, **kw)
    np.testing.assert_array_equal(a.agents, b.agents)
    np.testing.assert_array_equal(a.principals, b.principals)
    np.testing.assert_array_equal(a.info.attempts, b.info.attempts)
    head = dgeval.generate((4, 3), 5, seed=3, **kw)
    tail = dgeval.generate((4, 3), 7, seed=3, first_game=5, **kw)
    np.testing.assert_array_equal(np.concatenate([head.agents, tail.agents]), a.agents)
    np.testing.assert_array_equal(np.concatenate([head.principals, tail.principals]), a.principals)
    other = dgeval.generate((4, 3), 12, seed=4, **kw)
    assert not np.array_equal(other.agents, a.agents)


def test_uniform_generator_is_generate_uniform():
    g = dgeval.generate((3, 2), 6, seed=8)
    assert g.info is None
    a, p = dgeval.generate_uniform((3, 2), 6, seed=8)
    np.testing.assert_array_equal(g.agents, a)
    np.testing.assert_array_equal(g.principals, p)
    g = dgeval.generate((3, 2), 6, seed=8, lo=-2, hi=3, first_game=2, float32=True)
    a, p = dgeval.generate_uniform((3, 2), 8, seed=8, low=-2, high=3)
    assert g.agents.dtype == np.float32
    np.testing.assert_array_equal(g.agents, a[2:].astype(np.float32))
    assert g.agents.min() >= -2 and g.agents.max() < 3


def test_generated_games_evaluate_and_unpack():
    g = dgeval.generate((2, 2), 3, seed=1, ia=1.0)
    agents, principals, strategy = g
    assert strategy is None and agents is g.agents
    # IA = 1: principals and agents agree up to positive affine maps.
    np.testing.assert_allclose(evaluate(g)["ia"], 1.0, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ia=1.5), "IA targets must lie in [0, 1]"),
        (dict(ia=0.5, ca_principals=0.4, ca_agents=0.3), "give a CA target for the principals or for the agents, not both"),
        (dict(generator="other"), 'generator: unknown "other"; expected uniform | delegation'),
        (dict(generator="uniform", ia=0.3), "generator='uniform' takes lo and hi only; ia is an option of the 'delegation' generator"),
        (dict(lo=1, hi=1), "hi must be greater than lo"),
        (dict(ia=0.3, lo=0), "lo and hi are options of the 'uniform' generator"),
        (dict(distribution="cauchy"), "cauchy"),
        (dict(pure_ne="sometimes"), "sometimes"),
        (dict(magnitude=(1, 2, 3)), "magnitude: expected (lo, hi) or one value"),
        (dict(ia="x"), "ia: not a number: 'x'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(dgeval.Error) as e:
        dgeval.generate((3, 3), 2, **kwargs)
    assert message in str(e.value)


def test_bad_dims():
    with pytest.raises(dgeval.Error, match="3xq"):
        dgeval.generate("3xq", 2)
    with pytest.raises(dgeval.Error):
        dgeval.generate((3, 0), 2)


def test_progress_and_cancel():
    calls = []
    dgeval.generate((3, 3), 10, ia=0.5, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (10, 10)
    with pytest.raises(dgeval.Cancelled, match="generation cancelled"):
        dgeval.generate((3, 3), 10, ia=0.5, progress=lambda done, total: False)


# ---- against the CLI ---------------------------------------------------------------------------


def cli_npz(tmp_path, *args):
    out = tmp_path / "g.npz"
    cli("generate", "-q", "-o", str(out), *args)
    with np.load(out) as z:
        return z["agents"], z["principals"]


@needs_cli
@pytest.mark.parametrize(
    "args, kwargs",
    [
        (["--dims", "3x3", "--games", "20", "--seed", "7", "--ia", "0.3", "--ca-principals", "0.6"],
         dict(dims="3x3", games=20, seed=7, ia=0.3, ca_principals=0.6)),
        (["--dims", "3x2x2", "--games", "15", "--seed", "2", "--ia", "0.2,0.9,0.5", "--ca-agents", "0.5",
          "--calibration", "1,2,1", "--pure-ne", "plant", "--distribution", "uniform"],
         dict(dims=(3, 2, 2), games=15, seed=2, ia=[0.2, 0.9, 0.5], ca_agents=0.5, calibration=[1, 2, 1],
              pure_ne="plant", distribution="uniform")),
        (["--dims", "4x3", "--games", "10", "--seed", "4", "--positive", "--magnitude", "1,2", "--pure-ne", "reject"],
         dict(dims=(4, 3), games=10, seed=4, positive=True, magnitude=(1, 2), pure_ne="reject")),
        (["--dims", "3x3", "--games", "9", "--seed", "1", "--raw"], dict(dims=(3, 3), games=9, seed=1, raw=True)),
        (["--dims", "2x5", "--games", "8", "--seed", "6", "--lo", "-1", "--hi", "2"],
         dict(dims=(2, 5), games=8, seed=6, lo=-1, hi=2)),
    ],
)
def test_same_arrays_as_the_cli(tmp_path, args, kwargs):
    a, p = cli_npz(tmp_path, *args)
    g = dgeval.generate(kwargs.pop("dims"), kwargs.pop("games"), **kwargs)
    assert g.agents.dtype == a.dtype
    np.testing.assert_array_equal(g.agents, a)
    np.testing.assert_array_equal(g.principals, p)


@needs_cli
def test_float32_as_the_cli(tmp_path):
    a, p = cli_npz(tmp_path, "--dims", "3x3", "--games", "5", "--seed", "3", "--ia", "0.4", "--float32")
    g = dgeval.generate((3, 3), 5, seed=3, ia=0.4, float32=True)
    assert a.dtype == g.agents.dtype == np.float32
    np.testing.assert_array_equal(g.agents, a)
    np.testing.assert_array_equal(g.principals, p)


@needs_cli
@pytest.mark.parametrize(
    "args, kwargs",
    [
        (["--ia", "1.5"], dict(ia=1.5)),
        (["--ia", "0.5", "--ca-principals", "0.4", "--ca-agents", "0.3"], dict(ia=0.5, ca_principals=0.4, ca_agents=0.3)),
        (["--ca-principals", "0.4", "--scale", "max"], dict(ca_principals=0.4, scale="max")),
        (["--calibration", "1,2,3"], dict(calibration=[1, 2, 3])),
    ],
)
def test_same_messages_as_the_cli(tmp_path, args, kwargs):
    r = cli("generate", "--dims", "3x3", "-o", str(tmp_path / "x.npz"), *args, check=False)
    assert r.returncode != 0
    with pytest.raises(dgeval.Error) as e:
        dgeval.generate((3, 3), 1, **kwargs)
    assert f": {e.value}\n" in r.stderr, (str(e.value), r.stderr)


def test_backends_give_the_same_games():
    cpu = dgeval.generate((3, 3), 50, seed=3, ia=0.4, ca_principals=0.6, backend="cpu")
    auto = dgeval.generate((3, 3), 50, seed=3, ia=0.4, ca_principals=0.6)
    np.testing.assert_array_equal(cpu.agents, auto.agents)
    np.testing.assert_array_equal(cpu.info.attempts, auto.info.attempts)
    with pytest.raises(dgeval.Error, match="unknown backend"):
        dgeval.generate((3, 3), 5, ia=0.4, backend="gpu")
    if dgeval.cuda_available():
        dev = dgeval.generate((3, 3), 50, seed=3, ia=0.4, ca_principals=0.6, backend="cuda")
        np.testing.assert_array_equal(cpu.agents, dev.agents)
    else:
        with pytest.raises(dgeval.Error, match="CUDA backend is not available"):
            dgeval.generate((3, 3), 5, ia=0.4, backend="cuda")
