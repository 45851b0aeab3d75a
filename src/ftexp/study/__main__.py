"""``python -m ftexp.study``: the command line over ``ftexp.study``'s library."""

from __future__ import annotations

import argparse
from pathlib import Path

from ftexp.errors import refusals
from ftexp.study import __doc__ as STUDY_DOC
from ftexp.study.jobs import JobStore
from ftexp.study.report import summarize, write_report
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
    parser.add_argument("overrides", nargs="*", help="config overrides shared by every job")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after options
    with refusals():
        jobs = JobStore(args.dir, retry_failed=args.retry_failed, kept_only=args.kept_only)
        study = Study(
            jobs=jobs,
            overrides=list(args.overrides),
            seeds=[int(s) for s in args.seeds.split(",")],
            lr_factors=[float(f) for f in args.lr_factors.split(",")],
            widen=args.widen,
            method_overrides=_per_method(args.method_overrides),
        )
        rows = [summarize(study.method_rows(m)) for m in args.methods.split(",") if m]
        rows += [summarize(study.baseline_rows(b)) for b in args.baselines.split(",") if b]
    print(write_report(rows, args.dir, task=" ".join(args.overrides)))
    print(f"[study] {jobs.ran} job(s) run now; the rest kept from {args.dir / 'results'}")


if __name__ == "__main__":
    main()
