"""Search spaces: how a random search draws each trial's hyperparameters.

``greff`` is Greff et al. (2017)'s space: hidden size log-uniform in [20, 200], learning rate
log-uniform in [1e-6, 1e-2] with SGD and (Nesterov) momentum, momentum = 1 - log-uniform
[0.01, 1], Gaussian input noise std uniform in [0, 1]. A learning rate means something only
with its loss and its update, so the space also fixes Greff's: the error summed over each
sequence's steps and outputs and averaged over sequences (``loss_reduction="sum"``, pylstm's
error functions), and pylstm's NesterovStep, which steps by lr × (1 - momentum)
(``momentum_scaled_lr``; its default, ``scale_learning_rate=True``). ``adam`` keeps the
sizes and noise and draws Adam's learning rate log-uniform in [1e-4, 3e-2] on the mean loss,
a range where Adam trains these models in a few hundred steps. ``greff-upper`` is ``greff``
with the learning rate in its upper two decades, [1e-4, 1e-2], for a search on a budget too
small for the lower ones to leave chance; the reproduction profiles search Greff's whole
range, as the paper did.

Trial k's values depend only on the search seed and k (NumPy's ``SeedSequence([seed, k])``),
so a search is reproducible, resumable and shared by any number of workers, and trial k
has the same hyperparameters for every variant: the variants are compared on common draws.

Hidden sizes are drawn log-uniform and then set to the nearest of ``levels`` sizes spaced
evenly in log between the bounds (``levels=None`` keeps every integer). Trials of one
variant with one size train as one stacked model (population training); with a size per
trial almost no two trials could share one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.plans.config import ConfigError


@dataclass(frozen=True)
class Dimension:
    """One searched setting. ``log``: uniform in log. ``one_minus``: the value is 1 - the
    draw (Greff's momentum). ``levels``: integer sizes snapped to that many log-spaced
    values."""

    name: str
    low: float
    high: float
    log: bool = False
    one_minus: bool = False
    integer: bool = False
    levels: int | None = None

    def draw(self, u: float) -> float | int:
        """The value at quantile ``u`` in [0, 1)."""
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        if self.integer:
            if self.levels:
                grid = self.grid()
                value = min(grid, key=lambda g: abs(math.log(g) - math.log(value)))
            return int(round(value))
        return 1.0 - value if self.one_minus else value

    def grid(self) -> list[int]:
        """The sizes a ``levels`` dimension takes."""
        points = np.exp(np.linspace(math.log(self.low), math.log(self.high), self.levels or 2))
        return sorted({int(round(p)) for p in points})

    @property
    def bounds(self) -> tuple[float, float, bool]:
        """(low, high, log) of the value (after ``one_minus``), for the analysis."""
        if self.one_minus:
            return (1.0 - self.high, 1.0 - self.low, False)
        return (self.low, self.high, self.log)


@dataclass(frozen=True)
class Space:
    name: str
    optimizer: str
    dimensions: tuple[Dimension, ...]
    description: str = ""
    fixed: dict[str, object] = field(default_factory=dict)  # settings every trial gets

    def draw(self, seed: int, k: int) -> dict[str, object]:
        """Trial ``k``'s values: a function of ``seed`` and ``k`` only."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        quantiles = rng.random(len(self.dimensions))
        return {
            **self.fixed,
            **{d.name: d.draw(float(u)) for d, u in zip(self.dimensions, quantiles)},
        }

    def draws(self, seed: int, trials: int) -> list[dict[str, object]]:
        """The values of trials 0 .. ``trials`` - 1 (:meth:`draw` of each)."""
        return [self.draw(seed, k) for k in range(trials)]

    def analysis(self) -> dict[str, tuple[float, float, bool]]:
        """Each dimension's (low, high, log) in the values' own units."""
        return {d.name: d.bounds for d in self.dimensions}


_HIDDEN = Dimension("hidden_size", 20, 200, log=True, integer=True, levels=8)


def _greff(name: str, lr_low: float) -> Space:
    return Space(
        name,
        "sgd",
        (
            _HIDDEN,
            Dimension("lr", lr_low, 1e-2, log=True),
            Dimension("momentum", 0.01, 1.0, log=True, one_minus=True),
            Dimension("input_noise", 0.0, 1.0),
        ),
        f"Greff et al. 2017: SGD with Nesterov momentum stepping by lr × (1 - momentum), lr "
        f"log-uniform [{lr_low:g}, 1e-2] on the per-sequence summed loss, momentum 1 - "
        f"log-uniform [0.01, 1], input noise U[0, 1], hidden log-uniform [20, 200] (8 sizes)",
        {"loss_reduction": "sum", "momentum_scaled_lr": True},
    )


SPACES: dict[str, Space] = {
    "greff": _greff("greff", 1e-6),
    "greff-upper": _greff("greff-upper", 1e-4),
    "adam": Space(
        "adam",
        "adam",
        (_HIDDEN, Dimension("lr", 1e-4, 3e-2, log=True), Dimension("input_noise", 0.0, 1.0)),
        "Adam, lr log-uniform [1e-4, 3e-2], input noise U[0, 1], hidden log-uniform "
        "[20, 200] (8 sizes)",
    ),
}


def get(name: str) -> Space:
    try:
        return SPACES[name]
    except KeyError:
        raise ConfigError(
            f"unknown search space {name!r}; spaces are {', '.join(sorted(SPACES))}"
        ) from None
