"""Recurrent cells and their registry.

    import variants
    variants.names()                                   # sorted registry keys
    cell = variants.build("cifg", input_size=32, hidden_size=128)
    y, state = cell(x)                                 # x: [T, B, 32] -> y: [T, B, 128]
    cell.paper_parameters()["W_z"]                     # a view into the cell's parameters
    trio = variants.stack([cell_a, cell_b, cell_c])    # 3 trials as one: [T, 3, B, 32] inputs

Importing the package registers the built-in cells; ``register`` adds one of your own.
"""

from variants.base import RecurrentCell, State, stack
from variants.gru import GRUCell, GRUChoCell  # noqa: E402

# Built-in cells register themselves on import.
from variants.lstm import LSTMCell, LSTMSpec  # noqa: E402
from variants.mutants import MUT1Cell, MUT2Cell, MUT3Cell  # noqa: E402
from variants.nas import NASCell  # noqa: E402
from variants.registry import (
    UnknownVariantError,
    VariantInfo,
    build,
    count_parameters,
    info,
    names,
    register,
    unregister,
)
from variants.rnn import ElmanCell  # noqa: E402

__all__ = [
    "RecurrentCell",
    "State",
    "stack",
    "UnknownVariantError",
    "VariantInfo",
    "build",
    "count_parameters",
    "info",
    "names",
    "register",
    "unregister",
    "LSTMCell",
    "LSTMSpec",
    "GRUCell",
    "GRUChoCell",
    "ElmanCell",
    "MUT1Cell",
    "MUT2Cell",
    "MUT3Cell",
    "NASCell",
]
