"""Which of our tasks stand for which paper's data, and the margin of each.

A paper's finding is judged on the paper's data or a declared stand-in, never on a task the
paper did not use. Greff et al. (2017) used TIMIT (framewise speech), IAM Online
(handwriting) and JSB Chorales (music); Jozefowicz et al. (2015) searched on arithmetic, XML
modelling and word-level Penn Treebank, and evaluated on music (Nottingham, Piano-midi).
Tasks are matched by name: ``music`` is JSB Chorales itself; ``speech`` and ``handwriting``
are the names reserved for stand-ins of TIMIT and IAM Online. Every other task (``reber``,
``lm``, the synthetic ones) is an extension: reported "beyond the paper", deciding nothing.

Margins are in each dataset's metric units: the difference below which two cells count as
equivalent, a third of the gap between LSTM and a plain RNN measured on it with this
harness. JSB Chorales: 0.10 nats per step (8.54 against 8.84 nats; REFERENCES.md §1.7).
The stand-ins, at the default profile (bidirectional, hidden 32 a direction, 3 seeds,
medians; ``run --grid --profile default --tasks speech,handwriting --variants lstm,rnn
--seeds 3``, docs/reproduction.md): speech 2.0 points of frame error (17.2 % against
23.0 %), handwriting 8.0 points of character error (1.8 % against 26.4 %).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """A paper's dataset (or a stand-in for it) that one of our tasks provides."""

    name: str  # as the paper names it
    greff: bool  # one of Greff et al.'s datasets (findings 1-7)
    jozefowicz: bool  # one of Jozefowicz et al.'s kinds of task (findings 8-10)
    language_model: bool  # the kind both papers make an exception of
    margin: float  # equivalence margin, metric units
    stand_in: bool = False  # a declared stand-in, not the data itself
    part: str = ""  # the half of Greff's finding 7 it tests: "music" or "other"


DATASETS: dict[str, Dataset] = {
    "music": Dataset(
        "JSB Chorales", greff=True, jozefowicz=True, language_model=False, margin=0.10, part="music"
    ),
    "speech": Dataset("TIMIT (stand-in)", True, False, False, 2.0, stand_in=True, part="other"),
    "handwriting": Dataset(
        "IAM Online (stand-in)", True, False, False, 8.0, stand_in=True, part="other"
    ),
}
MARGIN = 0.2  # an extension's margin: this share of lstm's gain over the trivial model
GREFF_DATA = "TIMIT, IAM Online, JSB Chorales"
JOZEFOWICZ_DATA = "arithmetic, XML, Penn Treebank, music"


def dataset(task: str) -> Dataset | None:
    """The paper data ``task`` provides, or None for an extension."""
    return DATASETS.get(str(task))


def greff_tasks(tasks: set[str]) -> list[str]:
    return sorted(t for t in tasks if (d := dataset(t)) is not None and d.greff)


def jozefowicz_tasks(tasks: set[str], language_model: bool = True) -> list[str]:
    return sorted(
        t
        for t in tasks
        if (d := dataset(t)) is not None
        and d.jozefowicz
        and (language_model or not d.language_model)
    )


def extension_tasks(tasks: set[str]) -> list[str]:
    return sorted(t for t in tasks if dataset(t) is None)


def margins(tasks: set[str]) -> dict[str, float]:
    """Each paper task's margin (an extension has none: its margin is ``MARGIN`` × lstm's
    gain, measured where it is compared: ``top_trials.primary``, ``evidence.comparisons``)."""
    return {t: d.margin for t in sorted(tasks) if (d := dataset(t)) is not None}


def names(tasks: list[str]) -> str:
    """ "JSB Chorales" for ["music"]; extensions by their task name."""
    return ", ".join((d.name if (d := dataset(t)) else t) for t in tasks) or "no data"
