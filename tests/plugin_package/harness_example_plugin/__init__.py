"""An example plugin: one cell and one task, registered when the module is imported.

``lstm-fb3`` is the peephole LSTM with its forget-gate bias initialised to 3 (Jozefowicz et
al. 2015 found a bias of 1 closes most of the gap to the GRU; 3 holds the gate open
longer). ``parity-odd`` is the parity task on strings of odd length only: a subclass of
the harness's parity task whose lengths are drawn as parity's and made odd.
"""

from __future__ import annotations

import numpy as np

import tasks
import variants
from tasks.parity import Parity


class OddParity(Parity):
    """Parity of bit strings of odd length only (lengths drawn as parity's, made odd)."""

    def _lengths(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lengths = super()._lengths(rng, n)
        return np.where(lengths % 2 == 0, lengths - 1, lengths).clip(min=1)


if "lstm-fb3" not in variants.names():
    variants.register(
        "lstm-fb3",
        variants.LSTMCell,
        family="lstm",
        paper="Jozefowicz et al. 2015",
        description="LSTM, forget bias 3 (an example plugin)",
        forget_bias=3.0,
    )
if "parity-odd" not in tasks.names():
    tasks.register(
        "parity-odd",
        kind="synthetic",
        description="parity of odd-length strings (an example plugin)",
    )(OddParity)
