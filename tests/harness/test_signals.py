"""SIGTERM and Ctrl-C as interruptions, and a step that no signal may cut in half."""

from __future__ import annotations

import os
import signal

import pytest

from harness.queue import signals


@pytest.fixture
def installed():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


def test_sigterm_interrupts_as_terminated_and_ignores_the_next(installed) -> None:
    with pytest.raises(signals.Terminated) as caught:
        os.kill(os.getpid(), signal.SIGTERM)  # Python runs the handler at the next step
        pytest.fail("SIGTERM did not interrupt")
    assert signals.exit_code(caught.value) == 143
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # the put-back runs uncut


def test_a_signal_inside_a_deferred_step_interrupts_right_after_it(installed) -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt) as caught:
        with signals.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")  # the handler has run by now, and held it
            with signals.deferred():  # nested: only the outermost end raises
                steps.append("nested")
            steps.append("end of the step")
        steps.append("never")
    assert steps == ["after the signal", "nested", "end of the step"]
    assert not isinstance(caught.value, signals.Terminated)
    assert signals.exit_code(caught.value) == 130
    with signals.deferred():  # nothing pending any more
        steps.append("again")
    assert steps[-1] == "again"
