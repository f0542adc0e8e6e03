"""SIGTERM and Ctrl-C as interruptions, and a step that no signal may cut in half."""

from __future__ import annotations

import os
import signal
import threading

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
    # the put-back runs uncut: the next signals pass, with the handler still installed (no
    # switch to SIG_IGN, which races with a signal already caught: "Signal 15 ignored due
    # to race condition")
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
        os.kill(os.getpid(), number)
    assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT)
    assert callable(signal.getsignal(signal.SIGTERM))


def test_signals_held_back_arrive_when_released(installed) -> None:
    """What a worker process inherits while its parent starts it: a signal meanwhile waits,
    then interrupts. (Sent to this thread: a signal sent to the whole process may be taken
    by another thread of a test process, which holds nothing back; a worker starting up has
    no other thread.)"""
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with signals.held_back():
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            steps.append("still starting")  # blocked: not even the handler has run
        steps.append("never")
    assert steps == ["still starting"]


def test_a_deferred_step_in_another_thread_neither_holds_nor_raises(installed) -> None:
    """A heartbeat thread's journal append: signals are the main thread's business."""
    seen = []

    def beat() -> None:
        with signals.deferred():
            seen.append(signals._held)

    thread = threading.Thread(target=beat)
    thread.start()
    thread.join()
    assert seen == [0]


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
