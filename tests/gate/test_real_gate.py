"""The real speed gate, end to end, on real timings: a cell made slower fails it, the same
cells unchanged pass. Timing-dependent, so not part of the README's test command (a busy
machine could fail it); run it after changing the gate (harness/gates/speed_gate.py):

    python -m pytest tests/gate -p no:randomly

What the gate decides is tested on injected timings in tests/harness/test_speed_gate.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import variants
from harness.command.cli import main

CELLS = "gate-probe,lstm,cifg,nog,gru,rnn"
ARGS = [
    "bench",
    "--variants",
    CELLS,
    "--shapes",
    "16,40,16,64",
    "--rounds",
    "9",
    "--threads",
    "1",
    "--population",
    "0",
]


class Slowed(variants.LSTMCell):
    """The LSTM, and then as long again asleep: twice its time, whatever the machine."""

    def _forward(self, x, state):  # type: ignore[no-untyped-def]
        begin = time.perf_counter()
        out = super()._forward(x, state)
        time.sleep(time.perf_counter() - begin)
        return out


def test_a_cell_made_twice_as_slow_fails_and_the_unchanged_pass(tmp_path: Path, capsys) -> None:
    baseline = str(tmp_path / "base.json")
    variants.register(
        "gate-probe", variants.LSTMCell, family="lstm", paper="-", description="lstm, to be slowed"
    )
    try:
        assert main([*ARGS, "--json", baseline]) == 0
        assert main([*ARGS, "--compare", baseline, "--tolerance", "0.6"]) == 0
        variants.register(
            "gate-probe", Slowed, family="lstm", paper="-", description="slowed", replace=True
        )
        capsys.readouterr()
        assert main([*ARGS, "--compare", baseline, "--tolerance", "0.6"]) == 1
        err = capsys.readouterr().err
        slower = [line for line in err.splitlines() if line.startswith("slower: ")]
        assert slower and all(line.startswith("slower: gate-probe at ") for line in slower)
    finally:
        variants.unregister("gate-probe")
