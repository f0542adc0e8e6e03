"""What the cells are trained on: synthetic memory problems and real sequence data.

    import tasks
    tasks.names()                                    # sorted registry keys
    task = tasks.build("parity", seq_len=20)         # defaults, with overrides
    for batch in task.batches("train", seed=1): ...  # endless, deterministic from the seed
    task.evaluate(predict, "valid")                  # metrics on the fixed held-out split
    task.chance                                      # what a model that learned nothing scores

Importing the package registers the built-in tasks; ``register`` adds one of your own.
"""

# Built-in tasks register themselves on import.
from tasks import (  # noqa: E402,F401
    addition,  # noqa: E402,F401
    handwriting,
    language_model,
    long_dependency,
    lookahead,  # noqa: E402,F401
    memory_add,
    music,
    parity,
    reber,
    speech,
)
from tasks.base import IO, Batch, Metric, Settings, Task, TaskError
from tasks.registry import (
    TaskInfo,
    UnknownTaskError,
    build,
    data_dir_override,
    info,
    names,
    register,
    setting_names,
    unregister,
)
from tasks.synthetic import SyntheticTask

__all__ = [
    "IO",
    "Batch",
    "Metric",
    "Settings",
    "SyntheticTask",
    "Task",
    "TaskError",
    "TaskInfo",
    "UnknownTaskError",
    "build",
    "data_dir_override",
    "info",
    "names",
    "register",
    "setting_names",
    "unregister",
]
