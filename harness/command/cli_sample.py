"""``harness sample``: what a kept model does when it runs on its own. A language model
writes text (after a prime, a token at a time, each fed back in), the music model a chorale
(a MIDI file and a picture of its piano roll), a synthetic task's model its answers beside
the targets on held-out examples, a handwriting model its readings of held-out lines.

The model is a trial (``--study NAME --trial N``), the best run of a variant on a task
(``--variant V --task T``) or a file (``--model FILE``); see ``model_choice``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.queue import storage_url

if TYPE_CHECKING:
    import tasks
    from harness.command.model_choice import Chosen

DEFAULT_OUT = f"{storage_url.OUTPUT}/samples"
# what each kind of model takes besides the choice of model, and what it is called
TAKES = {
    "text": ("prime", "temperature", "length"),
    "music": ("temperature", "length"),
    "answers": ("examples", "input"),
    "lines": ("examples",),
}
CALLED = {
    "text": "a language model",
    "music": "a music model",
    "answers": "a synthetic task's model",
    "lines": "a handwriting model",
}
DEFAULTS = {"temperature": 1.0, "text length": 200, "music length": 64, "examples": 8}
BEATS_PER_FRAME = {"quarter": 1.0, "8th": 0.5, "16th": 0.25}  # tasks.music resolutions


def add_arguments(p: argparse.ArgumentParser, positive_int: Callable[[str], int]) -> None:
    """The options of ``sample`` (its parser is made with the others in ``cli``)."""
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="N", help="trial N of --study")
    which.add_argument(
        "--variant",
        metavar="V",
        help="the best completed run of V on --task in --study, by the task's primary test metric",
    )
    which.add_argument(
        "--model", metavar="FILE", help="a kept model file (`harness models` lists them)"
    )
    p.add_argument(
        "--study",
        default="grid-default",
        help="a grid, search or study (default grid-default; single runs: runs)",
    )
    p.add_argument("--task", help="the model's task: needed with --variant, else checked")
    p.add_argument(
        "--prime",
        metavar="TEXT",
        help="language models: the text to start "
        "from, in the model's vocabulary (default: a line break)",
    )
    p.add_argument(
        "--temperature",
        type=_temperature,
        metavar="T",
        help="language and music "
        "models: 0 takes the most likely token or keys (default "
        f"{DEFAULTS['temperature']})",
    )
    p.add_argument(
        "--length",
        type=positive_int,
        metavar="N",
        help="tokens of text (default "
        f"{DEFAULTS['text length']}) or frames of music ({DEFAULTS['music length']})",
    )
    p.add_argument(
        "--examples",
        type=positive_int,
        metavar="N",
        help="synthetic and handwriting tasks: held-out examples shown "
        f"(default {DEFAULTS['examples']})",
    )
    p.add_argument(
        "--input",
        metavar="TEXT",
        help="sequence-to-sequence models: decode this input (addition: '123+45')",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder of the MIDI file and piano roll (default {DEFAULT_OUT}/)",
    )


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a temperature of 0 or more, got {text}")
    return value


def cmd_sample(args: argparse.Namespace) -> int:
    from harness.training.train import build_task

    chosen = _choose(args)
    task = build_task(chosen.kept.config)
    kind = _kind(task, chosen)
    _check_options(args, kind, chosen)
    return {"text": _text, "music": _music, "answers": _answers, "lines": _lines}[kind](
        args, chosen, task
    )


def _say_which(chosen: Chosen, task: tasks.Task, how: str) -> None:
    """The model sampled, and how (on stderr: stdout holds the sample alone)."""
    config, metric = chosen.kept.config, task.metrics[0].name
    print(
        f"{chosen.name}: {config.variant} on {config.task} (seed {config.seed}), test "
        f"{metric} {chosen.kept.test[metric]:.4g}; {how}",
        file=sys.stderr,
    )


def _choose(args: argparse.Namespace) -> Chosen:
    from harness.command import model_choice

    if args.model is not None:
        return model_choice.of_file(args.model, args.task)
    if args.variant is not None:
        if args.task is None:
            raise ValueError("--variant needs --task: the best run of V on which task?")
        return model_choice.best_of(args.storage, args.study, args.variant, args.task)
    return model_choice.of_trial(args.storage, args.study, args.trial, args.task)


def _kind(task: tasks.Task, chosen: Chosen) -> str:
    """text, music, answers or lines: what sampling means for the model's task."""
    import tasks as registry
    from tasks.handwriting import Handwriting
    from tasks.music import Music

    if chosen.kept.vocabulary is not None and task.io.output == "classes":
        return "text"
    if isinstance(task, Music):
        return "music"
    if isinstance(task, Handwriting):
        return "lines"
    if isinstance(task, registry.SyntheticTask):
        return "answers"
    raise ValueError(
        f"{chosen.name} is a {task.name} model; sample takes language models, "
        "music, handwriting and the synthetic tasks"
    )


def _check_options(args: argparse.Namespace, kind: str, chosen: Chosen) -> None:
    """An option the model's kind does not take is a mistake about the model: say so."""
    stray = [
        name
        for name in ("prime", "temperature", "length", "examples")
        if getattr(args, name) is not None and name not in TAKES[kind]
    ]
    if stray:
        given = ", ".join(f"--{name}" for name in stray)
        takes = ", ".join(f"--{name}" for name in TAKES[kind])
        raise ValueError(
            f"{given} is not for {chosen.name}, {CALLED[kind]} "
            f"({chosen.kept.config.task}), which takes {takes}"
        )


def _text(args: argparse.Namespace, chosen: Chosen, task: tasks.Task) -> int:
    import torch

    from harness.training import vocabulary
    from harness.training.generate import sample_tokens

    words, level = chosen.kept.vocabulary, getattr(task, "level", "char")
    prime = (
        vocabulary.encode(args.prime, words, level)
        if args.prime
        else vocabulary.default_prime(words)
    )
    temperature = _temperature_of(args)
    _say_which(chosen, task, f"{level} level, temperature {temperature:g}, seed {args.seed}")
    tokens = sample_tokens(
        chosen.kept.model,
        prime,
        args.length or DEFAULTS["text length"],
        temperature,
        torch.Generator().manual_seed(args.seed),
    )
    print(vocabulary.decode(prime + tokens, words, level))
    return 0


def _music(args: argparse.Namespace, chosen: Chosen, task: tasks.Task) -> int:
    import torch

    from harness.command import piano_roll
    from harness.training.generate import sample_piano_roll
    from tasks.music import LOWEST

    piano_roll.require_mido()  # before any work
    temperature = _temperature_of(args)
    frames = args.length or DEFAULTS["music length"]
    _say_which(
        chosen,
        task,
        f"{frames} {task.settings.resolution} frames, temperature "
        f"{temperature:g}, seed {args.seed}",
    )
    roll = sample_piano_roll(
        chosen.kept.model, frames, temperature, torch.Generator().manual_seed(args.seed)
    )
    stem = f"{chosen.stem}-t{temperature:g}-seed{args.seed}"
    midi = piano_roll.write_midi(
        roll, Path(args.out) / f"{stem}.mid", LOWEST, BEATS_PER_FRAME[task.settings.resolution]
    )
    picture = piano_roll.write_png(
        roll,
        Path(args.out) / f"{stem}.png",
        LOWEST,
        f"{chosen.name}, temperature {temperature:g}, seed {args.seed}",
    )
    print(f"{roll.sum(1).mean():.1f} keys sounding a frame on average", file=sys.stderr)
    print(midi)
    print(picture)
    return 0


def _answers(args: argparse.Namespace, chosen: Chosen, task: tasks.Task) -> int:
    from harness.command.table import format_table
    from harness.training.answers import held_out_answers

    if args.input is not None:
        return _decode(args.input, chosen, task)
    count = args.examples or DEFAULTS["examples"]
    _say_which(chosen, task, f"its answers on the first {count} held-out test examples")
    answers = held_out_answers(chosen.kept.model, task, count)
    print(
        format_table(
            ("example", "input", "target", "answer", "agrees"),
            [(k, a.input, a.target, a.answer, a.agrees) for k, a in enumerate(answers)],
            right=("example",),
        )
    )
    return 0


def _lines(args: argparse.Namespace, chosen: Chosen, task: tasks.Task) -> int:
    """A handwriting model's best-path transcriptions of held-out test lines beside them."""
    from harness.command.table import format_table
    from harness.training.evaluate import evaluating
    from tasks.handwriting import edit_distance

    count = args.examples or DEFAULTS["examples"]
    _say_which(chosen, task, f"best-path transcriptions of the first {count} test lines")
    model, rows = chosen.kept.model, []
    with evaluating(model):
        for batch in task.batches("test"):
            outputs, _ = model(batch.x, lengths=model.lengths_of(batch.mask))
            rows += task.decode(outputs.float(), batch)  # type: ignore[attr-defined]
            if len(rows) >= count:
                break
    print(
        format_table(
            ("example", "line", "read", "errors"),
            [
                (k, line, read, edit_distance(list(read), list(line)))
                for k, (line, read) in enumerate(rows[:count])
            ],
            right=("example", "errors"),
        )
    )
    return 0


def _decode(text: str, chosen: Chosen, task: tasks.Task) -> int:
    """``--input``: a sequence-to-sequence model's answer to the given input."""
    from harness.training.answers import decode

    if not getattr(task, "sequence_to_sequence", False):
        raise ValueError(
            f"--input is for sequence-to-sequence models (addition); "
            f"{chosen.name} is a model of {chosen.kept.config.task}"
        )
    task.parse(text)  # a typed input that is none fails before anything is said
    _say_which(chosen, task, "greedy decoding of the given input")
    print(f"{text.strip()} = {decode(chosen.kept.model, task, text)}")
    return 0


def _temperature_of(args: argparse.Namespace) -> float:
    return DEFAULTS["temperature"] if args.temperature is None else args.temperature
