"""A found cell as a one-file plugin: its graph, its equations in the docstring, and one
``register_graph`` call, so that ``--plugin MODULE`` (or ``HARNESS_PLUGINS``) gives the
registry, ``bench``, ``inspect`` and grids a cell like any other.
"""

from __future__ import annotations

import keyword
import pprint
import re
import textwrap
from pathlib import Path

from harness.evolution import suite
from harness.evolution.candidates import Candidate
from variants import graphs

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def module_name(variant: str) -> str:
    """The plugin's module for variant ``variant`` (``evolved-1`` -> ``evolved_1``)."""
    return variant.replace("-", "_")


def check_name(variant: str) -> None:
    """A variant name that is also a module once its hyphens are underscores."""
    if not _NAME.match(variant) or keyword.iskeyword(module_name(variant)):
        raise ValueError(
            f"--export {variant!r}: a variant name is lowercase letters, digits and hyphens, "
            "starting with a letter (e.g. evolved-1)"
        )


def write(variant: str, candidate: Candidate, study: str, folder: Path) -> Path:
    """``folder/MODULE.py`` registering ``candidate``'s graph as ``variant``; returns it."""
    check_name(variant)
    equations = textwrap.indent(graphs.render(candidate.graph), "    ")
    scores = ", ".join(
        f"{task} {suite.by_name(task).metric} {suite.by_name(task).metric_of(result['test']):.4g}"
        for task, result in candidate.rungs.get(candidate.top_rung, {}).items()
    )
    fitness = candidate.fitness.get(candidate.top_rung)
    shown = "none" if fitness is None else f"{fitness:.3f}"
    graph = pprint.pformat(candidate.graph.to_json(), width=96)
    module = module_name(variant)
    text = f'''"""{variant}: a recurrent cell found by ``harness evolve`` (study {study}, trial
#{candidate.number}, graph {candidate.hash[:12]}; mutation "{candidate.mutation}" of
{(candidate.parent or "-")[:12]}).

{equations}

Fitness {shown} (its worst task's score over the GRU's, rung {candidate.top_rung}); on the
test splits: {scores or "none"}.

    python -m harness run --grid --plugin {module} --variants {variant},gru,lstm-b
"""

from variants.graphs import register_graph

GRAPH = {graph}

register_graph(
    "{variant}",
    GRAPH,
    description="found by harness evolve ({study} #{candidate.number})",
)
'''
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}.py"
    path.write_text(text)
    return path
