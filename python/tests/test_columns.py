"""Selecting result columns: evaluate(columns=...) as the CLI's --columns."""

import numpy as np
import pytest

import dgeval


def _games(seed, shape=(40, 2, 3, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.normal(size=shape)


def test_selected_columns_equal_the_full_run():
    seed = np.random.SeedSequence().entropy  # a fresh one, printed on failure
    a, p = _games(seed)
    full = dgeval.evaluate(a, p, backend="cpu")
    lean = dgeval.evaluate(a, p, backend="cpu", columns=["bound", "ia", "eps_ne_count"])
    assert list(lean) == ["ia", "eps_ne_count", "bound", "flags"]  # column order, flags always
    for name in lean:
        np.testing.assert_array_equal(lean[name], full[name], err_msg=f"{name}, games of seed {seed}")
    same = dgeval.evaluate(a, p, backend="cpu", columns="ia,eps_ne_count,bound")
    assert list(same) == list(lean)


def test_frame_and_single_game_with_a_selection():
    pd = pytest.importorskip("pandas")
    ex = dgeval.example("mammoth")
    r = dgeval.evaluate(ex.agents, ex.principals, backend="cpu", columns=["principals_welfare_regret", "ia"])
    assert float(r["principals_welfare_regret"]) == 8.0
    assert r["ia"].shape == (2,)
    df = dgeval.to_frame(r)
    assert list(df.columns) == ["ia_0", "ia_1", "principals_welfare_regret", "flags"]
    assert isinstance(df, pd.DataFrame) and len(df) == 1


def test_unknown_or_empty_columns_raise_the_cli_message():
    a, p = _games(1, (5, 2, 2, 2))
    with pytest.raises(dgeval.Error, match=r"columns: unknown result column 'regret'"):
        dgeval.evaluate(a, p, backend="cpu", columns=["ia", "regret"])
    with pytest.raises(dgeval.Error, match="base name"):
        dgeval.evaluate(a, p, backend="cpu", columns="ia_0")
    with pytest.raises(dgeval.Error, match="at least one"):
        dgeval.evaluate(a, p, backend="cpu", columns=[])
