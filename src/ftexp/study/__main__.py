"""``python -m ftexp.study``: the command line over ``ftexp.study``'s library."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ftexp.checks.method_overrides import configured_method_overrides, not_given
from ftexp.errors import refusals
from ftexp.study import __doc__ as STUDY_DOC
from ftexp.study.curve import (
    parse_sizes,
    size_label,
    size_override,
    steps_overrides,
    write_curve,
)
from ftexp.study.jobs import JobStore, compose
from ftexp.study.report import ReportRow, summarize, write_report
from ftexp.study.search import Study


def _per_method(pairs: list[str]) -> dict[str, list[str]]:
    """``METHOD:OVERRIDE`` pairs grouped by method, in the order given."""
    from ftexp.errors import ConfigError

    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        method, sep, override = pair.partition(":")
        if not sep or not method or "=" not in override:
            raise ConfigError([f"--method-overrides {pair!r}: write METHOD:KEY=VALUE"])
        grouped.setdefault(method, []).append(override)
    return grouped


def merged_overrides(
    configured: dict[str, list[str]], flags: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Each method's overrides: its experiment's, then its flags.

    A flag replaces the experiment's value of the same key, so its row names each key once.
    """
    merged: dict[str, list[str]] = {}
    for method in {**configured, **flags}:
        given = flags.get(method, [])
        merged[method] = [*not_given(configured.get(method, []), given), *given]
    return merged


def _check_names(methods: list[str], baselines: list[str], args: argparse.Namespace) -> None:
    """Every method, baseline and per-method override names a real option: refused before any job.

    A typo would otherwise run the other jobs and leave the misspelt one's row missing.
    """
    from ftexp.checks.config_check import unknown_options
    from ftexp.errors import ConfigError

    issues = unknown_options("method", methods, "--methods")
    issues += unknown_options("baseline", baselines, "--baselines")
    if not methods and not baselines and not args.kept_only:
        issues.append("name at least one --methods or --baselines option")
    for name in _per_method(args.method_overrides):
        if name not in methods + baselines:
            issues.append(
                f"--method-overrides {name}:...: {name!r} is not among --methods/--baselines "
                f"({', '.join(methods + baselines) or 'none'})"
            )
    try:
        parse_sizes(args.train_samples)
    except ConfigError as err:
        issues += err.problems
    for option, text, kind in (
        ("--seeds", args.seeds, int),
        ("--lr-factors", args.lr_factors, float),
    ):
        try:
            _numbers(option, text, kind)
        except ConfigError as err:
            issues += err.problems
    if args.steps < 0:
        issues.append(f"--steps={args.steps}: write a number of optimiser steps > 0 (0: off)")
    if issues:
        raise ConfigError(issues)


def _budget(steps: int, shared: Any) -> list[str]:
    """The overrides of ``--steps`` (none without it), counted in the run's own batches."""
    if not steps:
        return []
    return steps_overrides(steps, int(shared.trainer.accumulate_grad_batches))


def _numbers(option: str, text: str, kind: type[float] | type[int]) -> list[Any]:
    """``1,2,3`` as numbers, or ``ConfigError`` naming the option."""
    from ftexp.errors import ConfigError

    try:
        return [kind(part) for part in text.split(",")]
    except ValueError:
        word = "integers" if kind is int else "numbers"
        raise ConfigError(
            [f"{option}={text!r} must be comma-separated {word}, e.g. 1,2,3"]
        ) from None


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=STUDY_DOC)
    parser.add_argument("dir", type=Path, help="the study folder (results are kept here)")
    parser.add_argument("--methods", default="", help="comma-separated method options")
    parser.add_argument(
        "--baselines", default="", help="comma-separated +baseline= options (e.g. zero_shot)"
    )
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--lr-factors", default="0.3,1,3", help="times each method's own lr")
    parser.add_argument(
        "--widen",
        type=int,
        default=0,
        help="while a method's best rate is the grid's highest or lowest, search up to N more "
        "rates past it (one grid step each)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="run failed jobs again")
    parser.add_argument(
        "--kept-only",
        action="store_true",
        help="run nothing: the table of the results kept so far (e.g. while the study runs)",
    )
    parser.add_argument(
        "--method-overrides",
        action="append",
        default=[],
        metavar="METHOD:OVERRIDE",
        help="an override for one method's or baseline's jobs (repeatable), e.g. "
        "prompt:trainer.max_epochs=3",
    )
    parser.add_argument(
        "--train-samples",
        default="",
        help="a data-size axis: run the whole study at each training-split size, e.g. "
        "100,1000,all (val and test stay whole); adds learning_curve.md/.png",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=0,
        help="train every job N optimiser steps (as many epochs as that takes), validated once "
        "at the end: the same budget at every --train-samples size (0: the configured epochs)",
    )
    parser.add_argument("overrides", nargs="*", help="config overrides shared by every job")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after options
    methods = [m for m in args.methods.split(",") if m]
    baselines = [b for b in args.baselines.split(",") if b]
    with refusals():
        _check_names(methods, baselines, args)
        sizes = parse_sizes(args.train_samples)
        jobs = JobStore(args.dir, retry_failed=args.retry_failed, kept_only=args.kept_only)
        by_size: dict[str, list[ReportRow]] = {}
        shared = compose(args.overrides)  # once: the budget and the experiment's own rows
        budget = _budget(args.steps, shared)
        own = merged_overrides(
            configured_method_overrides(shared), _per_method(args.method_overrides)
        )
        axis: list[int | None] = sizes or [None]  # no axis: the study as configured, once
        for size in axis:
            extra = [size_override(size)] if sizes else []
            study = Study(
                jobs=jobs,
                overrides=[*args.overrides, *budget, *extra],
                seeds=_numbers("--seeds", args.seeds, int),
                lr_factors=_numbers("--lr-factors", args.lr_factors, float),
                widen=args.widen,
                method_overrides=own,
            )
            rows = [summarize(study.method_rows(m)) for m in methods]
            rows += [summarize(study.baseline_rows(b)) for b in baselines]
            by_size[size_label(size)] = rows
    task = " ".join([*args.overrides, *([f"steps={args.steps}"] if args.steps else [])])
    if sizes:
        for label, rows in by_size.items():
            (args.dir / f"train-{label}").mkdir(parents=True, exist_ok=True)
            write_report(rows, args.dir / f"train-{label}", task=f"{task} train={label}")
        print(write_curve(by_size, args.dir, task=task))
    else:
        print(write_report(by_size[size_label(None)], args.dir, task=task))
    print(f"[study] {jobs.ran} job(s) run now; the rest kept from {args.dir / 'results'}")


if __name__ == "__main__":
    main()
