"""What one run is: a frozen configuration, and ``--set key=value`` overrides for it."""

from __future__ import annotations

import ast
import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda")
# "mean": over the scored steps of a batch (the grids' loss); "sum": summed over the scored
# steps and outputs of each sequence, averaged over the batch's sequences, as Greff et al.'s
# library computes every error (Qwlouse/pylstm, error_functions.py: norm = Y.shape[1])
LOSS_REDUCTIONS = ("mean", "sum")


class ConfigError(ValueError):
    """A configuration value that cannot work (the message says which and why)."""


@dataclass(frozen=True)
class RunConfig:
    """One training run. ``None`` means "the task's default" for lr, batch_size and steps.

    ``task_settings`` override the task's settings (``--set task.seq_len=30``) and
    ``cell_options`` the variant's (``--set cell.forget_bias=2.0``).

    ``loss_reduction`` and ``momentum_scaled_lr`` give a learning rate its meaning: a space
    that borrows a paper's learning rates borrows them too. Greff et al. trained on the
    per-sequence sum (``"sum"``) with pylstm's NesterovStep, whose step is lr × (1 -
    momentum) (``momentum_scaled_lr=True``). ``sequences`` is a budget in training
    sequences seen (steps = sequences / batch size, rounded up); it replaces ``steps``.
    """

    variant: str = "lstm"
    task: str = "parity"
    seed: int = 0
    hidden_size: int = 64
    layers: int = 1
    optimizer: str = "adam"  # "adam", or "sgd" with (Nesterov) momentum as in Greff et al.
    lr: float | None = None
    momentum: float = 0.9  # SGD only
    clip: float | None = None  # clip the global gradient norm to this; off by default
    input_noise: float = 0.0  # std of Gaussian noise on the inputs (Greff et al.)
    batch_size: int | None = None
    steps: int | None = None
    eval_every: int = 100
    log_every: int = 10
    patience: int | None = None  # evaluations without improvement before stopping early
    loss_reduction: str = "mean"  # "mean" or "sum" (per sequence; see LOSS_REDUCTIONS)
    momentum_scaled_lr: bool = False  # SGD steps by lr × (1 - momentum), as pylstm's
    sequences: int | None = None  # training budget in sequences seen (replaces steps)
    device: str = "auto"
    task_settings: dict[str, Any] = field(default_factory=dict)
    cell_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _canonical_numbers(self)
        positive = ("hidden_size", "layers", "eval_every", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("batch_size", "steps", "patience", "sequences"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                              f"got {self.optimizer!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.lr is not None and not 0 < self.lr < 100:
            raise ConfigError(f"lr must be in (0, 100), got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.clip is not None and not self.clip > 0:
            raise ConfigError(f"clip must be positive, got {self.clip}")
        if self.input_noise < 0:
            raise ConfigError(f"input_noise must be at least 0, got {self.input_noise}")
        if self.loss_reduction not in LOSS_REDUCTIONS:
            raise ConfigError(f"loss_reduction must be one of {', '.join(LOSS_REDUCTIONS)}, "
                              f"got {self.loss_reduction!r}")
        if self.momentum_scaled_lr and self.optimizer != "sgd":
            raise ConfigError("momentum_scaled_lr applies to optimizer='sgd' only")

    def steps_for(self, batch_size: int, default: int) -> int:
        """Training steps: from ``sequences`` when set, else ``steps``, else ``default``."""
        if self.sequences is not None:
            return -(-self.sequences // batch_size)
        return self.steps or default


def _canonical_numbers(config: RunConfig) -> None:
    """A float setting given as an int (``--set lr=1``) is stored as the float, so that
    equal settings always have one spelling, one key and one stored record."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if (isinstance(value, int) and not isinstance(value, bool)
                and f.type in ("float", "float | None")):
            object.__setattr__(config, f.name, float(value))


def parse_value(text: str) -> Any:
    """A Python literal (``3``, ``0.1``, ``True``, ``None``, ``'x'``), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def apply_overrides(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply ``key=value`` strings: run fields, ``task.<setting>``, ``cell.<option>``."""
    hints = typing.get_type_hints(RunConfig)
    changes: dict[str, Any] = {}
    task_settings, cell_options = dict(config.task_settings), dict(config.cell_options)
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        value = parse_value(raw.strip())
        if key.startswith("task."):
            task_settings[key[5:]] = value
        elif key.startswith("cell."):
            cell_options[key[5:]] = value
        elif key in hints and key not in ("task_settings", "cell_options"):
            changes[key] = _coerce(key, value, hints[key])
        else:
            known = sorted(k for k in hints if k not in ("task_settings", "cell_options"))
            raise ConfigError(f"unknown setting {key!r}; run settings are {', '.join(known)}, "
                              "and task.<setting> / cell.<option> reach the task and the cell")
    return dataclasses.replace(config, **changes, task_settings=task_settings,
                               cell_options=cell_options)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    options = typing.get_args(hint) or (hint,)
    if value is None and type(None) in options:
        return None
    if float in options and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    for option in options:
        if option is not type(None) and isinstance(value, option) and not (
                isinstance(value, bool) and option is not bool):
            return value
    names = " or ".join("None" if o is type(None) else o.__name__ for o in options)
    raise ConfigError(f"setting {key!r} expects {names}, got {value!r}")
