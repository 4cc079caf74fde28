"""The Python API gives exactly what the C++ command line gives on the same games.

The CLI binary is found through DGEVAL_CLI (scripts/test.d/python.sh points it at build/dgeval);
without it these tests skip. Both sides run the CPU backend, so results must be bit-identical
(the CLI prints shortest round-trip decimals, JSON null for non-finite values)."""

import json
import math

import numpy as np
import pytest

import dgeval

from _util import cli, needs_cli

pytestmark = needs_cli


def cli_jsonl(*args):
    out = cli("evaluate", "--format", "jsonl", "--backend", "cpu", "-q", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def same(x, y):
    """x from JSON (None for non-finite), y from Python."""
    if isinstance(x, list):
        y = list(y)
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if x is None:
        return not math.isfinite(float(y))
    if isinstance(x, bool):
        return bool(y) == x
    return float(x) == float(y)


def compare_rows(rows, results):
    """rows: CLI JSON objects; results: per-game Python results (single-game form)."""
    assert len(rows) == len(results)
    for row, r in zip(rows, results):
        keys = [k for k in row if k != "game"]
        assert keys == list(r), (keys, list(r))
        for k in keys:
            if k == "pure_ne":
                assert [tuple(t) for t in row[k]] == [tuple(int(a) for a in t) for t in r[k]], k
            else:
                assert same(row[k], np.asarray(r[k]).tolist()), (row["game"], k, row[k], r[k])


def per_game(r, games):
    return [{k: (v[g] if k == "pure_ne" else np.asarray(v)[g]) for k, v in r.items()} for g in range(games)]


def test_examples_equal_cli():
    rows = cli_jsonl("--example", "all", "--list-equilibria", "--distance-matrix")
    results = [
        ex.evaluate(backend="cpu", list_equilibria=True, distance_matrix=True) for ex in dgeval.examples()
    ]
    compare_rows(rows, results)


@pytest.mark.parametrize(
    "flags, kwargs",
    [
        ([], {}),
        (
            ["--standardisation", "max", "--welfare", "sum", "--ic", "0.5", "--cc", "0.5", "--strategy", "played"],
            dict(standardisation="max", welfare="sum", ic=0.5, cc=0.5, strategy="played"),
        ),
        (
            ["--standardisation", "max-range", "--ic", "1,0.75,0.5", "--cc-window", "natural", "--strategy",
             "uniform-eps-ne", "--cc", "0.25"],
            dict(standardisation="max-range", ic=[1, 0.75, 0.5], cc_window="natural", strategy="uniform-eps-ne", cc=0.25),
        ),
        (["--strategy", "best-ne", "--ne-tolerance", "0.01"], dict(strategy="best-ne", ne_tolerance=0.01)),
    ],
)
def test_random_games_equal_cli(flags, kwargs):
    games = 40
    rows = cli_jsonl("--random", str(games), "--dims", "3x2x4", "--seed", "11", "--list-equilibria",
                     "--distance-matrix", *flags)
    a, p = dgeval.generate_uniform((3, 2, 4), games, seed=11)
    r = dgeval.evaluate(a, p, backend="cpu", list_equilibria=True, distance_matrix=True, **kwargs)
    compare_rows(rows, per_game(r, games))


def test_files_equal_cli(tmp_path):
    a, p = dgeval.generate_uniform((2, 3, 2), 30, seed=4)
    w = np.full((30, 2 + 3 + 2), 0.0)
    w[:, [0, 3, 5]] = 1.0  # one-hot product strategies, per game
    w[::2] = np.r_[[0.5, 0.5], [1 / 3] * 3, [0.25, 0.75]]
    np.savez(tmp_path / "games.npz", agents=a.astype(np.float32), principals=p, strategy_product=w)
    rows = cli_jsonl("--input", str(tmp_path / "games.npz"), "--list-equilibria")
    g = dgeval.read_games(tmp_path / "games.npz")
    assert g.strategy["strategy"] == "product" and g.strategy["strategy_weights"].shape == (30, 7)
    compare_rows(rows, per_game(g.evaluate(backend="cpu", list_equilibria=True), 30))

    ex = dgeval.example("misaligned")
    dgeval.write_nfg(tmp_path / "a.nfg", ex.agents)
    dgeval.write_nfg(tmp_path / "p.nfg", ex.principals)
    rows = cli_jsonl("--agents", str(tmp_path / "a.nfg"), "--principals", str(tmp_path / "p.nfg"))
    compare_rows(rows, [ex.evaluate(backend="cpu")])


def test_csv_header_equals_to_frame_columns():
    pytest.importorskip("pandas")
    header = cli("evaluate", "--example", "misaligned", "--format", "csv", "-q", "--backend", "cpu").stdout.splitlines()[0]
    frame = dgeval.to_frame(dgeval.example("misaligned").evaluate(backend="cpu"))
    assert header.split(",") == [frame.index.name] + list(frame.columns)


@pytest.mark.parametrize(
    "flags, kwargs",
    [
        (["--standardisation", "l3"], dict(standardisation="l3")),
        (["--welfare", "product"], dict(welfare="product")),
        (["--ic", "1.5"], dict(ic=1.5)),
        (["--ic", "1,1,1"], dict(ic=[1, 1, 1])),
        (["--cc", "2"], dict(cc=2.0)),
        (["--backend", "tpu"], dict(backend="tpu")),
        (["--example", "stag"], None),
    ],
)
def test_error_messages_equal_cli(flags, kwargs):
    # A bad option value is a bad command line (exit status 2); the CLI may name the flag first.
    args = ["evaluate", "-q", *flags] if "--example" in flags else ["evaluate", "-q", "--example", "mammoth", *flags]
    p = cli(*args, check=False)
    assert p.returncode == 2, p.stderr
    prefix = "dgeval evaluate: "
    line = p.stderr.strip().splitlines()[0]
    assert line.startswith(prefix), p.stderr
    with pytest.raises(dgeval.Error) as e:
        if kwargs is None:
            dgeval.example("stag")
        else:
            dgeval.example("mammoth").evaluate(**kwargs)
    assert line[len(prefix):] in (str(e.value), f"{flags[0]}: {e.value}"), p.stderr
