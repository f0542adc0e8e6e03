"""Which hyperparameters matter: functional ANOVA of a metric, main effects and pairs.

Hutter, Hoos & Leyton-Brown (2014), "An Efficient Approach for Assessing Hyperparameter
Importance", as used by Greff et al. (2017): fit a random forest to (hyperparameters, metric),
then decompose each tree's prediction f over the bounded box of hyperparameters, taken as
uniform, into the variance of its marginals. The marginal over a set U of variables,

    f_U(x_U) = mean of f(x_U, x_rest) over x_rest uniform on its bounds,

gives the main-effect share Var(f_i) / Var(f) of variable i and the pairwise share
(Var(f_ij) - Var(f_i) - Var(f_j)) / Var(f) of (i, j). Shares are averaged over the trees and
not normalised: what they leave out of 1 is higher-order interactions (and fitted noise).

A tree is piecewise constant on boxes (its leaves), so everything is exact: f_U is constant on
each cell of the grid formed by the split points of the variables in U, and its value there
is the sum over the leaves covering the cell of value × (fraction of the other variables'
bounds the leaf spans): a volume-weighted mean, as those fractions add up to 1. Each leaf
covers a block of grid cells, so all leaves are added at once with a difference array
(2^|U| signed corners, then cumulative sums): O(leaves + cells) per marginal instead of a
loop over cells.

The caller transforms the hyperparameters first (log10 of the learning rate, ...): "uniform on
the bounds" is then uniform in the transformed space, as in the paper.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor


@dataclass(frozen=True)
class Leaves:
    """A tree's leaves as boxes clipped to the bounds: ``lower``/``upper`` (leaves × variables),
    their prediction ``value``, and ``fraction`` of each variable's bound range they span."""

    lower: np.ndarray
    upper: np.ndarray
    value: np.ndarray
    fraction: np.ndarray


def leaves(tree: DecisionTreeRegressor, bounds: np.ndarray) -> Leaves:
    """The leaf boxes of a fitted regression tree on ``bounds`` (variables × [low, high])."""
    t = tree.tree_
    lo = np.empty((t.node_count, len(bounds)))
    hi = np.empty_like(lo)
    lo[0], hi[0] = bounds[:, 0], bounds[:, 1]
    level = np.array([0])
    while level.size:  # one depth level at a time: children inherit the box, then cut it
        split = level[t.feature[level] >= 0]
        feature, threshold = t.feature[split], t.threshold[split]
        left, right = t.children_left[split], t.children_right[split]
        for child in (left, right):
            lo[child], hi[child] = lo[split], hi[split]
        hi[left, feature] = np.minimum(hi[split, feature], threshold)
        lo[right, feature] = np.maximum(lo[split, feature], threshold)
        level = np.concatenate([left, right])
    leaf = t.feature < 0
    lo, hi = lo[leaf], np.maximum(hi[leaf], lo[leaf])  # a cut outside the bounds: zero width
    fraction = (hi - lo) / (bounds[:, 1] - bounds[:, 0])
    return Leaves(lo, hi, t.value[leaf, 0, 0].astype(float), fraction)


def marginal(
    tree_leaves: Leaves, bounds: np.ndarray, subset: Sequence[int]
) -> tuple[list[np.ndarray], np.ndarray]:
    """The marginal of the tree over the variables ``subset``: per variable the grid edges
    (its split points plus its bounds), and the marginal's value on every grid cell
    (an array with one axis per variable of ``subset``, in that order)."""
    subset = list(subset)
    others = [k for k in range(len(bounds)) if k not in subset]
    # each leaf's value weighted by the share of the marginalised-out volume it covers
    weight = tree_leaves.value * np.prod(tree_leaves.fraction[:, others], axis=1)
    edges, first, last = [], [], []
    for k in subset:
        e = np.unique(np.concatenate([bounds[k], tree_leaves.lower[:, k], tree_leaves.upper[:, k]]))
        edges.append(e)
        # leaf boundaries are grid edges, so the leaf covers cells first..last-1 exactly
        first.append(np.searchsorted(e, tree_leaves.lower[:, k]))
        last.append(np.searchsorted(e, tree_leaves.upper[:, k]))
    delta = np.zeros([len(e) for e in edges])  # one more than the cells along each axis
    for corner in itertools.product((0, 1), repeat=len(subset)):
        index = tuple(last[a] if c else first[a] for a, c in enumerate(corner))
        np.add.at(delta, index, (-1) ** sum(corner) * weight)
    for axis in range(len(subset)):
        delta = np.cumsum(delta, axis=axis)
    return edges, delta[tuple(slice(0, len(e) - 1) for e in edges)]


def _cell_weights(edges: list[np.ndarray]) -> np.ndarray:
    """Volume fraction of every grid cell (outer product of the relative interval widths)."""
    weights = np.ones(())
    for e in edges:
        weights = np.multiply.outer(weights, np.diff(e) / (e[-1] - e[0]))
    return weights


Subset = tuple[int, ...]  # indices of variables (columns of ``bounds``)


def tree_variances(
    tree: DecisionTreeRegressor, bounds: np.ndarray, subsets: Sequence[Subset]
) -> tuple[float, dict[Subset, float]]:
    """Var(f) of the tree on the uniform box, and Var(f_U) of its marginal over each subset.

    Each is a total variance of the marginal (for a pair it still contains both main
    effects); the mean of every marginal is the tree's mean."""
    tl = leaves(tree, bounds)
    volume = np.prod(tl.fraction, axis=1)
    mean = float(volume @ tl.value)
    total = float(volume @ (tl.value - mean) ** 2)
    out = {}
    for subset in subsets:
        edges, values = marginal(tl, bounds, subset)
        out[tuple(subset)] = float(np.sum(_cell_weights(edges) * (values - mean) ** 2))
    return total, out


def _check(
    params: pd.DataFrame, values: np.ndarray, bounds: Mapping[str, tuple[float, float]]
) -> np.ndarray:
    names = list(bounds)
    box = np.array([bounds[n] for n in names], dtype=float).reshape(len(names), 2)
    if not np.all(box[:, 0] < box[:, 1]):
        raise ValueError(f"every bound needs low < high: {dict(bounds)}")
    x = params[names].to_numpy(dtype=float)
    if np.isnan(x).any() or np.isnan(values).any():
        raise ValueError("hyperparameters and metric must have no missing values")
    outside = (x < box[:, 0]) | (x > box[:, 1])
    if outside.any():
        bad = [n for n, o in zip(names, outside.any(axis=0)) if o]
        raise ValueError(f"values outside their bounds (transform them first?): {bad}")
    return box


def fanova(
    params: pd.DataFrame,
    values: Sequence[float] | np.ndarray | pd.Series,
    bounds: Mapping[str, tuple[float, float]],
    *,
    pairs: bool = True,
    n_trees: int = 32,
    min_samples_leaf: int = 1,
    random_state: int = 0,
) -> pd.DataFrame:
    """Variance shares of the metric ``values`` over the hyperparameter columns named by
    ``bounds`` (name -> (low, high), in the caller's transformed units).

    One row per main effect and, with ``pairs``, per pair of variables: ``term`` ("lr" or
    "lr × hidden"), ``variables`` (tuple of names), ``order`` (1 or 2), ``share`` (mean over
    trees) and ``std`` (population standard deviation over trees), sorted by share, largest
    first. Trees whose prediction is constant (no variance to share) are left out.

    The forest is sklearn's with fixed ``random_state``, bootstrap and fully grown trees
    (``min_samples_leaf`` 1, as in Optuna's fANOVA), and one job: the same numbers on any
    machine, and no competing for cores with training.
    """
    y = np.asarray(values, dtype=float)
    box = _check(params, y, bounds)
    names = list(bounds)
    forest = RandomForestRegressor(
        n_estimators=n_trees, min_samples_leaf=min_samples_leaf, random_state=random_state, n_jobs=1
    )
    forest.fit(params[names].to_numpy(dtype=float), y)
    d = len(names)
    mains = [(i,) for i in range(d)]
    twos = list(itertools.combinations(range(d), 2)) if pairs else []
    shares = []
    for tree in forest.estimators_:
        total, var = tree_variances(tree, box, mains + twos)
        if total <= 0.0:
            continue
        row = [var[m] / total for m in mains]
        # exact up to rounding, so a pure interaction's variance is >= 0 but for ~1e-16
        row += [max(0.0, var[(i, j)] - var[(i,)] - var[(j,)]) / total for i, j in twos]
        shares.append(row)
    if not shares:
        raise ValueError("the metric is constant: no variance to decompose")
    table = np.asarray(shares)
    terms = [tuple(names[k] for k in t) for t in mains + twos]
    frame = pd.DataFrame(
        {
            "term": [" × ".join(t) for t in terms],
            "variables": terms,
            "order": [len(t) for t in terms],
            "share": table.mean(axis=0),
            "std": table.std(axis=0),
        }
    )
    return frame.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def optuna_main_effects(
    study: optuna.Study,
    params: list[str] | None = None,
    *,
    n_trees: int = 64,
    max_depth: int = 64,
    seed: int = 0,
    target: Callable[[optuna.trial.FrozenTrial], float] | None = None,
) -> dict[str, float]:
    """Main-effect shares from Optuna's own fANOVA, to cross-check :func:`fanova`.

    Unnormalised (``normalize=False``), so the numbers are Var(f_i)/Var(f) like ours; the
    evaluator is passed explicitly because Optuna's default is PED-ANOVA, another measure.
    Optuna marginalises in the distributions' internal space, which for ``log=True`` is NOT
    the log scale: compare with :func:`fanova` on linear-scale distributions, or on
    distributions already defined in the transformed units.
    """
    evaluator = optuna.importance.FanovaImportanceEvaluator(
        n_trees=n_trees, max_depth=max_depth, seed=seed
    )
    with warnings.catch_warnings():
        # ``normalize`` is flagged experimental; we pass it on purpose (see above)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.importance.get_param_importances(
            study, evaluator=evaluator, params=params, target=target, normalize=False
        )
