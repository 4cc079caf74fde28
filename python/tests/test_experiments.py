"""dgeval.grid_scan, bound_surface, inference_experiment: `dgeval experiment ...` from Python.

Small runs: the columns must be those of the CLI's CSV (names, order and values, bit for bit
when DGEVAL_CLI points at the binary), the theorem bounds must hold, and a run must stop on
Ctrl-C (KeyboardInterrupt from inside the compiled run) or when the progress callback says so."""

import csv
import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dgeval

from _util import CLI, interrupt_child, needs_cli, ticks_inside

GRID_COLUMNS = (
    "dims,variable,others,value,ia_target,ca_target,ic,cc,games,evaluated,measure_actual,ia_error_max,ca_error_max,"
    + ",".join(f"{s}_{k}" for s in ("w_hat_max", "w_hat_min", "w_hat_avg", "bound_1", "bound_2", "bound_r2")
               for k in ("mean", "ci_low", "ci_high", "q05", "q95"))
    + ",r2_fail,r5_fail,r3_fail,fallback,r3_fail_fallback,eps_tol_raised,ic_effective_min,attempts_mean,"
    "magnitudes_adjusted"
).split(",")
SURFACE_COLUMNS = ("ix,iy,wr_low,wr_high,tm_low,tm_high,count,pwr_mean,pwr_max,bound_centre,bound_upper,"
                   "above_simple,above_bound").split(",")
CURVE_COLUMNS = "size,outcomes,distribution,estimator,measure,samples,games,undefined,mean,sd,mean_lo,mean_hi,q05,q50,q95".split(",")


def cli_csv(*args):
    out = subprocess.run([CLI, "experiment", *args, "-q"], capture_output=True, text=True, check=True, timeout=120)
    return list(csv.reader(io.StringIO(out.stdout)))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def assert_same_as_csv(table, rows):
    """table: dict of columns; rows: the CLI's CSV (header first)."""
    header, body = rows[0], rows[1:]
    assert list(table) == header
    for j, name in enumerate(header):
        col = table[name]
        assert len(col) == len(body), name
        if col.dtype.kind == "U":
            assert [r[j] for r in body] == list(col), name
        else:
            expected = np.array([float(r[j]) for r in body])
            np.testing.assert_array_equal(np.asarray(col, dtype=np.float64), expected, err_msg=name)


@pytest.fixture(scope="module")
def grid():
    return dgeval.grid_scan(games_per_point=30, increments=2, seed=5)


def test_grid_scan(grid):
    assert list(grid) == GRID_COLUMNS
    assert grid.rows == 4 * 3  # variables x values
    assert list(grid["variable"]) == [v for v in ("ia", "ic", "ca", "cc") for _ in range(3)]
    np.testing.assert_array_equal(grid["value"], np.tile([0.0, 0.5, 1.0], 4))
    assert (grid["dims"] == "3x3").all() and (grid["games"] == 30).all()
    assert grid["games"].dtype == np.int64 and grid["value"].dtype == np.float64
    # Theorem bounds and the generator's targets.
    for name in ("r2_fail", "r5_fail", "r3_fail"):
        assert grid.summary[name] == 0 and (grid[name] == 0).all()
    assert grid.summary["games"] == 360 and grid.summary["ia_error_max"] < 1e-9
    assert grid.summary["ca_error_max"] < 1e-9
    ia_rows = grid["variable"] == "ia"
    np.testing.assert_allclose(grid["measure_actual"][ia_rows], grid["value"][ia_rows], atol=1e-9)
    frame = grid.to_frame()
    assert frame.shape == (12, len(GRID_COLUMNS))


def test_grid_scan_options_and_errors():
    t = dgeval.grid_scan(games_per_point=5, increments=1, sizes=[(2, 2), "3x2"], variables=["cc"], others="0.5",
                         pure_ne="plant", welfare="sum")
    assert list(t["dims"]) == ["2x2", "2x2", "3x2", "3x2"] and (t["others"] == 0.5).all()
    with pytest.raises(dgeval.Error, match='unknown measure "xx"; expected one of: ia, ic, ca, cc'):
        dgeval.grid_scan(games_per_point=5, variables="xx")
    with pytest.raises(dgeval.Error, match="preset: expected main or appendix"):
        dgeval.grid_scan(preset="big")
    with pytest.raises(dgeval.Error, match=r"grid scan: .* must lie in \[0, 1\]"):
        dgeval.grid_scan(games_per_point=5, others=1.5)
    with pytest.raises(dgeval.Error, match="games per point must be at least 1"):
        dgeval.grid_scan(games_per_point=0)


def test_bound_surface():
    s = dgeval.bound_surface(games=3000, bins=(5, 4), keep_points=50, calibration=[1, 2, 1, 0.5])
    assert list(s) == SURFACE_COLUMNS and s.rows == 20
    assert s["count"].sum() == 3000 == s.summary["games"]
    assert s.summary["above_bound"] == 0 and s.summary["bin_bound_exceeded"] == 0 and (s["above_bound"] == 0).all()
    filled = s["count"] > 0
    assert (s["pwr_max"][filled] <= s["bound_upper"][filled] + 1e-9).all()
    assert list(s.points) == ["agents_welfare_regret", "total_misalignment", "principals_welfare_regret", "bound"]
    assert s.points.rows == 50
    assert (s.points["principals_welfare_regret"] <= s.points["bound"] + 1e-9).all()
    with pytest.raises(dgeval.Error, match="bound surface: at least 3 outcomes"):
        dgeval.bound_surface(games=10, outcomes=2)
    with pytest.raises(dgeval.Error, match="bins: expected AxB"):
        dgeval.bound_surface(games=10, bins="4x4x4")


def test_bound_surface_shards_merge_to_the_whole_run():
    # Shards (pickled, as mpi4py's gather carries them), merged in any order: the whole run's
    # table and points, bit for bit.
    import pickle

    kw = dict(games=1500, bins=(5, 4), keep_points=600, calibration=[1, 2, 1, 0.5], seed=11, backend="cpu")
    whole = dgeval.bound_surface(**kw)
    shards = [pickle.loads(pickle.dumps(dgeval.bound_surface(**kw, chunk=100 + k, shard=(k, 3)))) for k in range(3)]
    assert [(s.first_game, s.games) for s in shards] == [(0, 500), (500, 500), (1000, 500)]
    assert isinstance(shards[0], dgeval.BoundSurfaceShard) and shards[0].accumulators.shape == (6, 20)
    merged = dgeval.merge_bound_surface(shards[::-1])
    assert list(merged) == list(whole) and merged.summary == whole.summary
    for k in whole:
        assert np.array_equal(merged[k], whole[k], equal_nan=True), k
    for k in whole.points:
        assert np.array_equal(merged.points[k], whole.points[k]), k
    with pytest.raises(dgeval.Error, match="shard 1 of 3 is missing"):
        dgeval.merge_bound_surface([shards[0], shards[2]])
    with pytest.raises(dgeval.Error, match="shard 1 of 3 is of another run than shard 0 of 3 \\(differing in: seed\\)"):
        dgeval.merge_bound_surface([dgeval.bound_surface(**{**kw, "seed": 12}, shard=(0, 3))] + shards[1:])
    with pytest.raises(dgeval.Error, match="expected 0 <= index < count"):
        dgeval.bound_surface(**kw, shard=(3, 3))
    with pytest.raises(dgeval.Error, match="shard: expected \\(index, count\\)"):
        dgeval.bound_surface(**kw, shard=3)


def test_inference_experiment():
    t = dgeval.inference_experiment(sizes="3x3", games=4, samples=40, every=20, per_game=True, seed=3)
    assert list(t) == CURVE_COLUMNS
    assert set(t["samples"]) == {20, 40} and (t["size"] == "3x3").all() and (t["outcomes"] == 9).all()
    assert ((t["games"] + t["undefined"]) == 4).all()
    g = t.per_game
    assert list(g)[:6] == ["size", "outcomes", "game", "distribution", "estimator", "samples"]
    assert list(g)[6:] == [f"{m}_error" for m in ("ia", "ca", "ic", "cc", "ic_realised", "cc_realised")]
    assert g.rows == 4 * 4 * 2 * 2  # games x distributions x estimators x checkpoints
    # The curves are the per-game errors aggregated.
    sel = (g["distribution"] == "all") & (g["estimator"] == "corrected") & (g["samples"] == 40)
    row = (t["distribution"] == "all") & (t["estimator"] == "corrected") & (t["samples"] == 40) & (t["measure"] == "ia")
    assert row.sum() == 1
    np.testing.assert_allclose(t["mean"][row][0], np.nanmean(g["ia_error"][sel]), rtol=1e-12)
    assert dgeval.inference_experiment(sizes=[(3, 3)], games=2, samples=10).per_game is None
    with pytest.raises(dgeval.Error, match="inference experiment: at least one game per size is needed"):
        dgeval.inference_experiment(games=0)


@pytest.mark.parametrize(
    "run, what",
    [
        (lambda p: dgeval.grid_scan(games_per_point=10, increments=1, progress=p), "grid scan"),
        (lambda p: dgeval.bound_surface(games=500, progress=p), "bound surface"),
        (lambda p: dgeval.inference_experiment(sizes="3x3", games=2, samples=10, progress=p), "inference experiment"),
    ],
)
def test_progress_and_cancel(run, what):
    calls = []
    run(lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] and calls[-1][0] > 0
    with pytest.raises(dgeval.Cancelled, match=f"{what} cancelled: the progress callback returned False"):
        run(lambda done, total: False)
    with pytest.raises(ZeroDivisionError):
        run(lambda done, total: 1 / 0)


def test_gil_is_released_during_a_run():
    duration, inside = ticks_inside(
        lambda: dgeval.grid_scan(games_per_point=20000, increments=1, variables="ia", threads=1)
    )
    # The run polls (with the GIL) only between its two points: a held GIL would leave no gaps.
    assert inside >= 10, (duration, inside)


# ---- against the CLI ---------------------------------------------------------------------------


@needs_cli
def test_grid_scan_same_as_cli(grid):
    assert_same_as_csv(grid, cli_csv("grid-scan", "--games-per-point", "30", "--increments", "2", "--seed", "5"))
    args = dict(games_per_point=8, increments=2, sizes="2x3", variables="ia,cc", others="0.25,0.75",
                distribution="uniform", pure_ne="authors", cc_window="natural")
    assert_same_as_csv(
        dgeval.grid_scan(**args),
        cli_csv("grid-scan", "--games-per-point", "8", "--increments", "2", "--sizes", "2x3", "--variables", "ia,cc",
                "--others", "0.25,0.75", "--distribution", "uniform", "--pure-ne", "authors", "--cc-window",
                "natural"),
    )


@needs_cli
def test_bound_surface_same_as_cli(tmp_path):
    points = tmp_path / "points.csv"
    rows = cli_csv("bound-surface", "--games", "3000", "--bins", "5x4", "--calibration", "1,2,1,0.5",
                   "--points", str(points), "--keep-points", "50", "--welfare", "average")
    s = dgeval.bound_surface(games=3000, bins="5x4", calibration="1,2,1,0.5", keep_points=50, welfare="average")
    assert_same_as_csv(s, rows)
    assert_same_as_csv(s.points, read_csv(points))


@needs_cli
def test_inference_experiment_same_as_cli(tmp_path):
    per_game = tmp_path / "per_game.csv"
    rows = cli_csv("inference", "--sizes", "3x3,2x2x2", "--games", "3", "--samples", "30", "--every", "15",
                   "--seed", "4", "--per-game", str(per_game))
    t = dgeval.inference_experiment(sizes="3x3,2x2x2", games=3, samples=30, every=15, seed=4, per_game=True)
    assert_same_as_csv(t, rows)
    assert_same_as_csv(t.per_game, read_csv(per_game))


@needs_cli
def test_errors_same_as_cli():
    r = subprocess.run([CLI, "experiment", "grid-scan", "--variables", "ia,xx", "-q"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    with pytest.raises(dgeval.Error) as e:
        dgeval.grid_scan(variables="ia,xx")
    assert f": {e.value}\n" in r.stderr


# ---- Ctrl-C ------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time, traceback
    import dgeval
    run = {
        "grid_scan": lambda: dgeval.grid_scan(games_per_point=10**8, increments=1, threads=1),
        "inference_experiment": lambda: dgeval.inference_experiment(sizes="5x5x4", games=10**6, samples=100,
                                                                    threads=1),
        "generate": lambda: dgeval.generate((4, 4, 4), 10**5, ia=0.5, ca_principals=0.5, threads=1),
    }[sys.argv[1]]
    print("ready", flush=True)
    try:
        run()
        print("not interrupted", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        frames = traceback.extract_tb(sys.exc_info()[2])
        source = "".join(open(frames[-1].filename).readlines()[frames[-1].lineno - 2 : frames[-1].lineno + 1])
        inside = frames[-1].name == sys.argv[1] and "_core." + sys.argv[1] in source
        again = dgeval.grid_scan(games_per_point=2, increments=1, variables="ia").rows
        print("interrupted", "inside" if inside else "outside:" + repr(frames[-1]), again, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("what", ["grid_scan", "inference_experiment", "generate"])
def test_sigint_interrupts_a_run(what):
    code, out, err, waited = interrupt_child(CHILD, what)
    assert code == 0, out + err
    assert out.split() == ["interrupted", "inside", "2"], out + err
    assert waited < 5.0, waited


def test_bound_surface_backends():
    cpu = dgeval.bound_surface(games=3000, bins=8, seed=11, backend="cpu", chunk=1000)
    same = dgeval.bound_surface(games=3000, bins=8, seed=11, backend="cpu")
    np.testing.assert_array_equal(cpu["count"], same["count"])  # the chunking does not change the games
    np.testing.assert_array_equal(cpu["pwr_max"], same["pwr_max"])
    with pytest.raises(dgeval.Error, match="unknown backend"):
        dgeval.bound_surface(games=10, backend="gpu")
    if not dgeval.cuda_available():
        with pytest.raises(dgeval.Error, match="CUDA backend is not available"):
            dgeval.bound_surface(games=10, backend="cuda")
    else:
        dev = dgeval.bound_surface(games=3000, bins=8, seed=11, backend="cuda")
        assert int(np.abs(dev["count"] - cpu["count"]).sum()) <= 2
