"""The worked examples of docs/MATH.md §8 (docs/MATH.md), evaluated from Python.

Every number below is that of docs/MATH.md §8, to 1e-9 (it rounds to 10 decimals)."""

import math

import numpy as np
import pytest

import dgeval

TOL = 1e-9
SQRT57 = math.sqrt(57.0)


def approx(x):
    return pytest.approx(x, abs=TOL, rel=TOL)


def run(name, **kwargs):
    return dgeval.example(name).evaluate(**kwargs)


def ne_set(r):
    return {tuple(int(a) for a in row) for row in r["pure_ne"]}


# ---- Example A: common-payoff mammoth game ------------------------------------------------


def test_mammoth_epic_standardisation_and_alignment():
    r = run("mammoth", list_equilibria=True)
    assert r["offset_agents"] == approx([3.5, 3.5])
    assert r["magnitude_agents"] == approx([SQRT57, SQRT57])
    assert r["magnitude_principals"] == approx([SQRT57, SQRT57])
    assert r["ia"] == approx([1.0, 1.0])
    assert r["ca_principals"] == approx(1.0)
    assert r["ca_agents"] == approx(1.0)
    assert r["calibration_ratio"] == approx([1.0, 1.0])
    assert ne_set(r) == {(0, 0), (1, 1)}
    assert r["pure_ne_count"] == 2


def test_mammoth_welfare_regret_and_bound_at_worst_ne():
    r = run("mammoth")
    assert r["worst_ne_agents_welfare"] == approx(2.0)
    assert r["worst_eps_ne_agents_welfare"] == approx(2.0)
    assert r["welfare_agents_max"] == approx(10.0)
    assert r["welfare_principals_max"] == approx(10.0)
    assert r["welfare_principals_utopia"] == approx(10.0)
    assert r["ideal_gap"] == approx(0.0)
    assert r["cc_achieved"] == approx(0.0)  # σ = (F,F)
    assert r["agents_welfare_regret"] == approx(8.0)
    assert r["principals_welfare_regret"] == approx(8.0)
    assert r["bound_r3"] == approx(8.0)  # tight
    assert r["bound_holds"] == 1.0


def test_mammoth_max_standardisation():
    r = run("mammoth", standardisation="max")
    assert r["offset_agents"] == approx([5.5, 5.5])
    assert r["magnitude_agents"] == approx([4.5, 4.5])


def test_mammoth_pure_strategy_mm():
    r = run("mammoth", strategy="pure", strategy_actions=[1, 1])
    assert r["cc_achieved"] == approx(1.0)
    assert r["principals_welfare_regret"] == approx(0.0)


@pytest.mark.parametrize("cc, pwr", [(0.0, 4.0), (0.5, 0.0), (1.0, 0.0)])
def test_mammoth_played_sets(cc, pwr):
    r = run("mammoth", strategy="played", cc=cc)
    assert r["principals_welfare_regret"] == approx(pwr)


def test_mammoth_negated_necessity_of_ia():
    r = run("mammoth-negated", list_equilibria=True)
    assert ne_set(r) == {(0, 1), (1, 0)}
    assert r["worst_ne_agents_welfare"] == approx(-1.0)
    assert r["welfare_agents_max"] == approx(-1.0)
    assert r["principals_welfare_regret"] == approx(9.0)
    assert r["ia"] == approx([0.0, 0.0])


# ---- Example B: one misaligned agent ------------------------------------------------------


def test_misaligned_epic():
    r = run("misaligned", list_equilibria=True)
    assert r["offset_agents"][1] == approx(1.5)
    assert r["magnitude_agents"][1] == approx(1.0)
    assert r["ia"] == approx([1.0, 0.1254106841])
    assert r["ca_agents"] == approx(0.6386848457)
    assert r["ca_principals"] == approx(1.0)
    assert r["welfare_principals_utopia"] == approx(10.0)
    assert ne_set(r) == {(0, 0)}
    assert r["worst_ne_agents_welfare"] == approx(2.0)
    assert r["worst_eps_ne_agents_welfare"] == approx(2.0)
    assert r["welfare_agents_max"] == approx(5.5)
    assert r["cc_achieved"] == approx(0.0)
    assert r["agents_welfare_regret"] == approx(3.5)
    assert r["principals_welfare_regret"] == approx(8.0)
    assert r["calibration_ratio"] == approx([1.0, SQRT57])
    assert r["bound_r3"] == approx(13.4310918495)


def test_misaligned_max():
    r = run("misaligned", standardisation="max")
    assert r["ia"][1] == approx(0.0)
    assert r["ca_agents"] == approx(0.64)


def test_misaligned_sum_welfare_r2_bound():
    r = run("misaligned", welfare="sum")
    assert r["principals_welfare_regret"] == approx(16.0)
    assert r["agents_welfare_regret"] == approx(7.0)
    # min over R ∈ {0, 1, √57} of R2 is ≈ 42.67 at R = 1, capped at 2√57·√2.
    assert r["bound"] == approx(21.3541565041)
    assert r["bound_r"] == approx(1.0)


def test_misaligned_played_set_cc0():
    r = run("misaligned", strategy="played", cc=0.0)
    assert r["principals_welfare_regret"] == approx(4.0)
    assert r["bound_r3"] == approx(15.0685504584)


def test_misaligned_ic_sweep():
    # The ε-NE set stays {(F,F)} for every IC > 0 and becomes all of S at IC = 0.
    for ic in (1.0, 0.5, 0.01):
        assert run("misaligned", ic=ic)["eps_ne_count"] == 1
    assert run("misaligned", ic=0.0)["eps_ne_count"] == 4


# ---- Example C: zero-sum principals -------------------------------------------------------


def test_matching_pennies():
    r = run("matching-pennies")
    assert r["magnitude_principals"] == approx([2.0, 2.0])
    assert r["ca_principals"] == approx(0.0)
    assert r["welfare_principals_max"] == approx(0.0)
    assert r["welfare_principals_utopia"] == approx(1.0)
    assert r["ideal_gap"] == approx(1.0)
    assert r["ideal_gap_bound"] == approx(2.0)  # R5: 1 ≤ (1/2)(1 − 0)(2 + 2)
    assert math.isnan(r["bound_holds"])  # no pure NE: undefined (NaN), not False


# ---- Example D: 3x3 common payoff ---------------------------------------------------------


@pytest.mark.parametrize(
    "ic, count, w_eps", [(1.0, 2, 4.0), (0.75, 4, 3.0), (0.5, 5, 2.0), (0.25, 5, 2.0), (0.0, 9, 0.0)]
)
def test_common_3x3_eps_ne_sets(ic, count, w_eps):
    r = run("common-3x3", ic=ic)
    assert r["welfare_agents_max"] == approx(10.0)
    assert r["eps_ne_count"] == count
    assert r["worst_eps_ne_agents_welfare"] == approx(w_eps)


@pytest.mark.parametrize(
    "ic, cc, mean_welfare, fallback",
    [
        (1.0, 0.0, 7.0, False),  # {(0,0), (2,2)}
        (1.0, 0.5, 10.0, False),  # {(2,2)}
        (1.0, 1.0, 10.0, False),
        (0.5, 0.0, 3.0, False),  # {(0,0), (0,1), (1,0), (1,1)}
        (0.5, 0.5, 4.0, True),  # empty window: closest to 6.5 is (0,0)
        (0.5, 1.0, 10.0, True),  # empty window: closest to 8 is (2,2)
        (0.0, 0.0, 14.0 / 8.0, False),  # everything but (2,2)
        (0.0, 0.5, 10.0 / 3.0, False),  # {(0,0), (0,1), (1,0)}
        (0.0, 1.0, 4.0, True),  # empty window: closest to 6 is (0,0)
    ],
)
def test_common_3x3_played_sets(ic, cc, mean_welfare, fallback):
    r = run("common-3x3", ic=ic, cc=cc, strategy="played")
    assert r["principals_welfare_regret"] == approx(10.0 - mean_welfare)
    assert bool(r["flags"] & dgeval.Flag.PLAYED_FALLBACK) == fallback


# ---- Example E: MAX-standardised CA can be negative ----------------------------------------


def test_max_ca_negative():
    r = run("max-ca-negative")  # the example's options select MAX
    assert r["ca_principals"] == approx(-1.0 / 3.0)
    assert r["ca_agents"] == approx(-1.0 / 3.0)
    assert r["flags"] & dgeval.Flag.CA_OUT_OF_RANGE
    r = run("max-ca-negative", standardisation="epic")
    assert r["ca_principals"] == approx(0.0)


# ---- Edge-case goldens (EPIC) -------------------------------------------------------------


def test_edge_case_ia():
    u = np.array([2.0, 1.0, 1.0, 10.0]).reshape(2, 2)
    v = np.array([0.3, -1.0, 4.0, 2.5]).reshape(2, 2)
    const = np.full((2, 2), 3.0)
    agents = np.stack([np.stack([u, v]), np.stack([u, v]), np.stack([const, v])])
    principals = np.stack([np.stack([5 * u + 7, 5 * v + 7]), np.stack([-u, -v]), np.stack([u, v])])
    r = dgeval.evaluate(agents, principals, batch=True)  # (3, 2, 2, 2) also reads as one 3-player game
    assert r["ia"][0] == approx([1.0, 1.0])
    assert r["ia"][1] == approx([0.0, 0.0])
    assert r["ia"][2, 0] == approx(0.5)
    assert r["flags"][2] & dgeval.Flag.ZERO_MAGNITUDE
