"""SIGTERM outside a training step: the run stops at once and says what its checkpoints hold."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from ftexp.callbacks.preemption import StopOnSignal, Stopped


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises in this thread before the sleep ends


@pytest.mark.usefixtures("sigterm_restored")
def test_a_sigterm_before_training_stops_with_143_and_says_nothing_was_saved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    StopOnSignal(["SIGTERM"])
    with pytest.raises(Stopped) as stop:
        _terminate_self()
    assert stop.value.code == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "SIGTERM: stopped outside training (nothing to save)" in err
    assert "no checkpoint was saved by this run" in err


@pytest.mark.usefixtures("sigterm_restored")
def test_a_sigterm_after_training_names_the_step_of_the_newest_checkpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    callback = StopOnSignal(["SIGTERM"])
    callback.saved_step = 20  # what on_save_checkpoint noted for the final save
    with pytest.raises(Stopped):
        _terminate_self()
    assert "its newest checkpoint holds step 20" in capsys.readouterr().err
