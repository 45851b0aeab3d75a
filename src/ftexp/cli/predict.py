"""``python -m ftexp.cli.predict <run_dir> INPUT ...``: what a run's model says about inputs.

A classifier prints a label and its confidence for each text, or each image file of a run
trained on images (e.g. ``data=digits``); a token classifier (NER) prints the entities it finds.
The run's task names the function that answers (``ModelTask.predictor``).
"""

from __future__ import annotations

import argparse

from hydra.utils import get_object

from ftexp.errors import refusals
from ftexp.infra.console import quiet_libraries
from ftexp.run.reload import SavedRun


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished run dir, e.g. outputs/2026-11-23/10-00-00-1a2b")
    parser.add_argument("inputs", nargs="+", help="texts, or image files for an image run")
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        answer = get_object(SavedRun.read(args.run_dir).serving("predict").task.predictor)
        lines = answer(args.run_dir, args.inputs)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
