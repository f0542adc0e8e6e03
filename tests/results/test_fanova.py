"""fANOVA: a hand-computed three-leaf tree, marginals against brute-force integration over
the full grid, a synthetic function with a known decomposition, and Optuna's evaluator."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeRegressor

from results.analysis import fanova


def _hand_tree() -> tuple[DecisionTreeRegressor, np.ndarray]:
    """x1 ∈ [0, 1], x2 ∈ [0, 1], x3 ∈ [0, 10] (never split). Splitting x1 at 0.2 leaves
    squared error 0 + 4.5 against 0.5 + 8 for x2 at 0.5, so the tree is
        x1 < 0.2            -> 0   (volume 0.2)
        x1 > 0.2, x2 < 0.5  -> 1   (volume 0.4)
        x1 > 0.2, x2 > 0.5  -> 4   (volume 0.4)."""
    x = np.array([[0.1, 0.25, 0.5], [0.1, 0.75, 0.5], [0.3, 0.25, 0.5], [0.3, 0.75, 0.5]])
    tree = DecisionTreeRegressor(random_state=0).fit(x, [0.0, 0.0, 1.0, 4.0])
    return tree, np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 10.0]])


def test_three_leaf_tree_by_hand() -> None:
    tree, bounds = _hand_tree()
    assert tree.get_n_leaves() == 3
    leaves = fanova.leaves(tree, bounds)
    volume_value = sorted(zip(np.prod(leaves.fraction, axis=1), leaves.value))
    np.testing.assert_allclose(volume_value, [(0.2, 0.0), (0.4, 1.0), (0.4, 4.0)])

    # f_1: 0 below 0.2; (1 + 4)/2 = 2.5 above.  f_2: 0.2·0 + 0.8·1 = 0.8 below 0.5,
    # 0.2·0 + 0.8·4 = 3.2 above.
    edges, values = fanova.marginal(leaves, bounds, [0])
    assert edges[0] == pytest.approx([0.0, 0.2, 1.0]) and values == pytest.approx([0.0, 2.5])
    edges, values = fanova.marginal(leaves, bounds, [1])
    assert edges[0] == pytest.approx([0.0, 0.5, 1.0]) and values == pytest.approx([0.8, 3.2])
    edges, values = fanova.marginal(leaves, bounds, [0, 1])
    assert values == pytest.approx(np.array([[0.0, 0.0], [1.0, 4.0]]))
    edges, values = fanova.marginal(leaves, bounds, [2])
    assert values == pytest.approx([2.0])  # x3 does nothing: its marginal is the mean

    # mean = 0.4·1 + 0.4·4 = 2; Var f = 0.2·4 + 0.4·1 + 0.4·4 = 2.8
    # Var f_1 = 0.2·(0-2)² + 0.8·(2.5-2)² = 0.8 + 0.2 = 1.0
    # Var f_2 = 0.5·(0.8-2)² + 0.5·(3.2-2)² = 1.44
    # Var f_12 = Var f = 2.8, so the interaction is 2.8 - 1.0 - 1.44 = 0.36
    subsets = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    total, var = fanova.tree_variances(tree, bounds, subsets)
    assert total == pytest.approx(2.8)
    assert [var[s] for s in subsets] == pytest.approx([1.0, 1.44, 0.0, 2.8, 1.0, 1.44])


def _brute_force(
    tree: DecisionTreeRegressor, bounds: np.ndarray, subset: tuple[int, ...]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, float]:
    """Predict at the midpoint of every cell of the grid of ALL split points (the tree is
    constant on each) and average over the other variables by cell volume. Returns the grid
    edges of ``subset``, the marginal on them, the cell volumes, and the mean."""
    t = tree.tree_
    edges = [
        np.unique(np.concatenate([b, t.threshold[t.feature == k]])) for k, b in enumerate(bounds)
    ]
    mids = [(e[1:] + e[:-1]) / 2 for e in edges]
    widths = [np.diff(e) / (e[-1] - e[0]) for e in edges]
    points = np.array(list(itertools.product(*mids)))
    prediction = tree.predict(points).reshape([len(m) for m in mids])
    volume = np.ones(())
    for w in widths:
        volume = np.multiply.outer(volume, w)
    others = tuple(k for k in range(len(bounds)) if k not in subset)
    integral = (prediction * volume).sum(axis=others) / volume.sum(axis=others)
    cell = volume.sum(axis=others)
    return [edges[k] for k in subset], integral, cell, float((prediction * volume).sum())


def test_marginals_match_brute_force_integration() -> None:
    rng = np.random.default_rng(3)
    bounds = np.array([[0.0, 1.0], [-2.0, 3.0], [10.0, 20.0]])
    x = rng.uniform(bounds[:, 0], bounds[:, 1], (300, 3))
    y = np.sin(3 * x[:, 0]) * x[:, 1] + 0.1 * x[:, 2] + rng.normal(0, 0.1, 300)
    tree = DecisionTreeRegressor(max_depth=6, random_state=0).fit(x, y)
    subsets = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
    total, var = fanova.tree_variances(tree, bounds, subsets)
    leaves = fanova.leaves(tree, bounds)
    for subset in subsets:
        edges, expected, cell, mean = _brute_force(tree, bounds, subset)
        got_edges, got = fanova.marginal(leaves, bounds, subset)
        # look our marginal up at the brute-force cells' midpoints
        index = [np.searchsorted(g, (e[1:] + e[:-1]) / 2) - 1 for g, e in zip(got_edges, edges)]
        np.testing.assert_allclose(got[np.ix_(*index)], expected, rtol=1e-10, atol=1e-10)
        assert var[subset] == pytest.approx(float((cell * (expected - mean) ** 2).sum()), rel=1e-10)
    # the marginal over every variable is the tree itself
    assert var[(0, 1, 2)] == pytest.approx(total, rel=1e-10)
    assert total > var[(0, 1)] > var[(0,)] > 0


# f(a, b, c, d) = 3a + 1.5b + 2ab on independent uniform[-1, 1] inputs (Var u = 1/3, and
# Var(ab) = E[a²]E[b²] = 1/9 since the means are 0): the three terms are uncorrelated with
# variances 9/3 = 3, 2.25/3 = 0.75 and 4/9, total 3 + 0.75 + 4/9 = 151/36.
TOTAL = 3 + 0.75 + 4 / 9
TRUTH = {"a": 3 / TOTAL, "b": 0.75 / TOTAL, "a × b": (4 / 9) / TOTAL}  # .7152 .1788 .1060


def _synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(-1, 1, (n, 4)), columns=list("abcd"))
    # a little noise (variance 0.04, ~1 % of the total) so the trees do split on c and d
    return x, (3 * x["a"] + 1.5 * x["b"] + 2 * x["a"] * x["b"]).to_numpy() + rng.normal(0, 0.2, n)


def test_recovers_a_known_decomposition() -> None:
    x, y = _synthetic(2000, seed=0)
    table = fanova.fanova(x, y, {k: (-1.0, 1.0) for k in "abcd"}).set_index("term")
    assert len(table) == 4 + 6
    for term, truth in TRUTH.items():
        assert table.loc[term, "share"] == pytest.approx(truth, abs=0.02), term
    pairs = table[table["order"] == 2]
    assert pairs["share"].idxmax() == "a × b"
    for term in ["c", "d", "a × c", "a × d", "b × c", "b × d", "c × d"]:
        assert table.loc[term, "share"] < 0.005, term
    assert (table["std"] >= 0).all() and table.loc["a", "std"] > 0
    # not normalised: main effects plus pairs leave out only noise and rounding here
    assert 0.97 < table["share"].sum() <= 1.0 + 1e-9


def test_rejects_values_outside_bounds_and_missing_values() -> None:
    x, y = _synthetic(50, seed=1)
    with pytest.raises(ValueError, match="outside"):
        fanova.fanova(x, y, {"a": (0.0, 1.0), "b": (-1.0, 1.0)})
    y[3] = np.nan
    with pytest.raises(ValueError, match="missing"):
        fanova.fanova(x, y, {"a": (-1.0, 1.0), "b": (-1.0, 1.0)})


def test_same_main_effect_ranking_as_optuna() -> None:
    """f = 3a + 1.5b + 0.75c + 2ab (d unused): true main shares Var/(3 + .75 + .1875 + 4/9)
    = .684, .171, .043, 0 — a strict order both evaluators must find."""
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.uniform(-1, 1, (300, 4)), columns=list("abcd"))
    y = (3 * x["a"] + 1.5 * x["b"] + 0.75 * x["c"] + 2 * x["a"] * x["b"]).to_numpy() + rng.normal(
        0, 0.1, len(x)
    )
    study = optuna.create_study()
    space = {k: optuna.distributions.FloatDistribution(-1.0, 1.0) for k in "abcd"}
    for row, value in zip(x.to_dict("records"), y):
        study.add_trial(
            optuna.trial.create_trial(params=row, distributions=space, value=float(value))
        )
    theirs = fanova.optuna_main_effects(study, n_trees=16, seed=0)
    ours = fanova.fanova(x, y, {k: (-1.0, 1.0) for k in "abcd"}, pairs=False)
    ours = dict(zip(ours["term"], ours["share"]))
    rank = list("abcd")
    assert sorted(theirs, key=theirs.get, reverse=True) == rank
    assert sorted(ours, key=ours.get, reverse=True) == rank
    for k in rank:  # same algorithm on different forests: close, not equal
        assert ours[k] == pytest.approx(theirs[k], abs=0.03), k


def test_main_effects_agree_with_optunas_fanova_on_the_same_trials() -> None:
    """Optuna's FanovaImportanceEvaluator gives main effects only (normalised to sum to 1);
    ours adds the pairs the findings need. On the same trials, ours normalised over the main
    effects agree with Optuna's to 0.02."""
    from optuna.importance import FanovaImportanceEvaluator

    rng = np.random.default_rng(0)
    n = 200
    x = rng.uniform(0, 1, (n, 3))
    y = (
        2 * (x[:, 0] - 0.75) ** 2
        + 0.6 * (1 - x[:, 1])
        + (x[:, 0] - 0.5) * (x[:, 1] - 0.5)
        + rng.normal(0, 0.01, n)
    )
    study = optuna.create_study()
    space = {k: optuna.distributions.FloatDistribution(0, 1) for k in "abc"}
    for row, value in zip(x, y):
        study.add_trial(
            optuna.trial.create_trial(
                params=dict(zip("abc", row)), distributions=space, value=float(value)
            )
        )
    theirs = optuna.importance.get_param_importances(
        study, evaluator=FanovaImportanceEvaluator(seed=0), normalize=True
    )
    ours = fanova.fanova(
        pd.DataFrame(x, columns=list("abc")), y, {k: (0, 1) for k in "abc"}, n_trees=64
    )
    mains = ours[ours["order"] == 1].set_index("term")["share"]
    for name in "abc":
        assert mains[name] / mains.sum() == pytest.approx(theirs[name], abs=0.02)
    assert ours.loc[ours["term"] == "a × b", "share"].item() > 0.03  # what Optuna lacks
