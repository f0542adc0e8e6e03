"""What one run is: a frozen configuration, and ``--set key=value`` overrides for it."""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from harness.values import Mismatch, coerce

OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda")
# "mean": over the scored steps of a batch (the grids' loss); "sum": summed over the scored
# steps and outputs of each sequence, averaged over the batch's sequences, as Greff et al.'s
# library computes every error (Qwlouse/pylstm, error_functions.py: norm = Y.shape[1])
LOSS_REDUCTIONS = ("mean", "sum")
ARCHITECTURES = ("stack", "encoder-decoder")


# Settings added after runs were first stored: left out of a run's key while at their
# default, so that a run stored before they existed keeps its key (and is not run again).
_LATER_SETTINGS = {
    "loss_reduction": "mean",
    "momentum_scaled_lr": False,
    "sequences": None,
    "bidirectional": False,
    "architecture": "stack",
    "attention": False,
}


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
    # each layer reads the sequence both ways: a forward and a backward cell of the variant,
    # their outputs concatenated (2N wide); not for tasks whose targets are the next input
    bidirectional: bool = False
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
    # "stack": the layers read the sequence causally; "encoder-decoder": an encoder stack
    # reads the source, a decoder stack answers (sequence-to-sequence tasks; training.seq2seq)
    architecture: str = "stack"
    attention: bool = False  # the decoder attends over the encoder's states (Bahdanau 2015)
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
            raise ConfigError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
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
            raise ConfigError(
                f"loss_reduction must be one of {', '.join(LOSS_REDUCTIONS)}, "
                f"got {self.loss_reduction!r}"
            )
        if self.momentum_scaled_lr and self.optimizer != "sgd":
            raise ConfigError("momentum_scaled_lr applies to optimizer='sgd' only")
        if self.bidirectional:
            _check_bidirectional(self.task)
        _check_architecture(self)

    @property
    def key(self) -> str:
        """The identity of a run in the queue (its resume key): a hash of its whole
        configuration, every number in its one spelling (``_canonical_numbers``)."""
        settings = {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if not (k in _LATER_SETTINGS and v == _LATER_SETTINGS[k])
        }
        canonical = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def steps_for(self, batch_size: int, default: int) -> int:
        """Training steps: from ``sequences`` when set, else ``steps``, else ``default``."""
        if self.sequences is not None:
            return -(-self.sequences // batch_size)
        return self.steps or default


def _check_bidirectional(task: str) -> None:
    """A bidirectional net would read the answer where targets are the next input, and a
    state carried across truncated-BPTT windows has no meaning backwards."""
    import tasks

    try:
        cls = tasks.info(task).cls
    except LookupError:  # an unknown task fails where it is built, with its own message
        return
    if getattr(cls, "predicts_next", False):
        raise ConfigError(
            f"bidirectional=true does not apply to task {task!r}: its targets "
            "are the next input, which the backward direction would read"
        )


def _check_architecture(config: RunConfig) -> None:
    """An encoder-decoder needs a sequence-to-sequence task (that such a task needs one is
    checked before a run is stored, ``seq2seq.check_architecture``: a run's first
    configuration has the default architecture before ``--set`` reaches it)."""
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(
            f"architecture must be one of {', '.join(ARCHITECTURES)}, got {config.architecture!r}"
        )
    if config.attention and config.architecture != "encoder-decoder":
        raise ConfigError("attention=true needs architecture=encoder-decoder")
    if config.architecture != "encoder-decoder":
        return
    if not _sequence_to_sequence(config.task):
        raise ConfigError(
            f"architecture=encoder-decoder needs a sequence-to-sequence task "
            f"(addition); {config.task!r} is not one"
        )
    if getattr(config, "bidirectional", False):
        raise ConfigError(
            "architecture=encoder-decoder takes no bidirectional=true (its "
            "encoder reads the whole source before the decoder answers)"
        )


def _sequence_to_sequence(task: str) -> bool:
    import tasks

    try:
        return bool(getattr(tasks.info(task).cls, "sequence_to_sequence", False))
    except LookupError:  # an unknown task fails where it is built, with its own message
        return False


def _canonical_numbers(config: RunConfig) -> None:
    """One spelling for every number, so that equal settings always have one key and one
    stored record, whichever way they were typed (``--set lr=1`` or ``lr=1.0``,
    ``steps=10.0`` or ``steps=10``, a grid file or the command line): a float setting given
    as an int is stored as the float, an int setting given as a whole float as the int (a
    fractional one is an error). Task settings and cell options follow the types of the
    task's settings and the cell's defaults."""
    for name, hint in _run_hints().items():
        object.__setattr__(config, name, _canonical(name, getattr(config, name), hint))
    task_hints, cell_hints = _task_hints(config.task), _cell_hints(config.variant)
    object.__setattr__(
        config,
        "task_settings",
        {k: _canonical(f"task.{k}", v, task_hints.get(k)) for k, v in config.task_settings.items()},
    )
    object.__setattr__(
        config,
        "cell_options",
        {k: _canonical(f"cell.{k}", v, cell_hints.get(k)) for k, v in config.cell_options.items()},
    )


# The types below are read from annotations once per class (cached): a RunConfig is made
# for every run queued, taken and stored, thousands in a search.


def _canonical(name: str, value: Any, hint: Any) -> Any:
    """A number in its setting's spelling (``harness.values.coerce``); anything else as it
    is, for the task or cell to check where it is built."""
    numeric = {int, float} & set(typing.get_args(hint) or (hint,))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not numeric:
        return value
    try:
        return coerce(value, hint)
    except Mismatch as error:
        raise ConfigError(f"setting {name!r} {error}") from None


@functools.lru_cache(maxsize=1)
def _run_hints() -> dict[str, Any]:
    hints = typing.get_type_hints(RunConfig)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(RunConfig)
        if f.name not in ("task_settings", "cell_options")
    }


def _task_hints(task: str) -> dict[str, Any]:
    import tasks

    try:
        settings = tasks.info(task).cls.settings_class
    except LookupError:  # an unknown task fails where it is built, with its own message
        return {}
    return _settings_hints(settings)


@functools.cache
def _settings_hints(settings: type) -> dict[str, Any]:
    return typing.get_type_hints(settings)


def _cell_hints(variant: str) -> dict[str, Any]:
    import variants

    try:
        return _builder_hints(variants.info(variant).builder)
    except LookupError:
        return {}


@functools.cache
def _builder_hints(builder: Any) -> dict[str, Any]:
    """The types of a cell builder's keyword options: their annotations, else (annotations
    that do not resolve, or none) the types of their numeric defaults."""
    import inspect

    target = builder.__init__ if isinstance(builder, type) else builder
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):
        hints = {}
    out = {}
    for p in inspect.signature(builder).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        if p.name in hints:
            out[p.name] = hints[p.name]
        elif isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
            out[p.name] = type(p.default)
    return out


def parse_value(text: str) -> Any:
    """A Python literal (``3``, ``0.1``, ``True``, ``None``, ``'x'``), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``--set key=value`` strings as RunConfig fields: run settings (type-checked),
    ``task.<setting>`` into ``task_settings`` and ``cell.<option>`` into ``cell_options``
    (checked where the task and cell are built). The one parser of ``--set``, for a run, a
    grid and a search alike; ``RunConfig`` then gives every number one spelling."""
    hints = typing.get_type_hints(RunConfig)
    out: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        value = parse_value(raw.strip())
        if key.startswith(("task.", "cell.")):
            group = "task_settings" if key.startswith("task.") else "cell_options"
            out.setdefault(group, {})[key.split(".", 1)[1]] = value
        elif key in hints and key not in ("task_settings", "cell_options"):
            out[key] = _coerce(key, value, hints[key])
        else:
            known = sorted(k for k in hints if k not in ("task_settings", "cell_options"))
            raise ConfigError(
                f"unknown setting {key!r}; run settings are {', '.join(known)}, "
                "and task.<setting> / cell.<option> reach the task and the cell"
            )
    return out


def apply_overrides(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply ``key=value`` strings: run fields, ``task.<setting>``, ``cell.<option>``."""
    changes = parse_assignments(assignments)
    task_settings = {**config.task_settings, **changes.pop("task_settings", {})}
    cell_options = {**config.cell_options, **changes.pop("cell_options", {})}
    return dataclasses.replace(
        config, **changes, task_settings=task_settings, cell_options=cell_options
    )


def _coerce(key: str, value: Any, hint: Any) -> Any:
    try:
        return coerce(value, hint)
    except Mismatch as error:
        raise ConfigError(f"setting {key!r} {error}") from None
