"""Overrides Hydra cannot compose are answered in ftexp's words, with the closest valid name."""

from __future__ import annotations

import pytest

from ftexp.checks.override_check import override_problems


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["method.rr=8"], "method.rr is not a setting here; did you mean method.r=8?"),
        (["method=full", "method.lrr=1e-4"], "did you mean method.lr=1e-4?"),
        (["metod=lora"], "metod is not a setting here; did you mean method=lora?"),
        (
            ["method=lorra"],
            "method=lorra: 'lorra' is not a method option; did you mean method=lora?",
        ),
        (
            ["+method.r=8"],
            "+method.r: method.r is already set; override it without the +: method.r=8",
        ),
        (["-m", "method=lora,full", "method.rr=8"], "did you mean method.r=8?"),
    ],
)
def test_uncomposable_overrides_name_the_fix(arguments: list[str], expected: str) -> None:
    problems = override_problems(arguments)
    assert len(problems) == 1
    assert expected in problems[0]
    assert "HYDRA_FULL_ERROR" not in problems[0]


@pytest.mark.parametrize(
    "arguments",
    [
        ["method=full", "optim.lr=1e-4"],
        ["-m", "method=lora,full"],
        ["--cfg", "job", "method.r=4"],
        ["+method.rnak=4"],  # composes: ftexp's own check names method.r later
        ["hydra.run.dir=/tmp/x", "hydra/launcher=basic"],
        ["--config-dir", "/elsewhere", "method.rr=8"],  # another search path: Hydra reads it all
    ],
)
def test_composable_or_hydras_own_overrides_pass(arguments: list[str]) -> None:
    assert override_problems(arguments) == []
