"""``python -m ftexp.cli.export <run_dir> --merged | --adapter``: folders that standard tools read.

``--merged`` writes one plain Hugging Face model: LoRA, DoRA and IA3 folded into the base
(QLoRA into its de-quantised base), ``id2label`` set, the processor beside it, so
``transformers.pipeline(..., model=<folder>)`` prints the real label names and causal LMs
generate with ``AutoModelForCausalLM``. ``--adapter`` copies the adapter with a portable base
reference (a hub id or the pinned artifact) instead of this machine's cache path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ftexp.errors import refusals
from ftexp.infra.console import quiet_libraries
from ftexp.run.reload import SavedRun
from ftexp.serve.export import DTYPES, export_adapter, export_merged, push_to_hub


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a finished run dir")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--merged", action="store_true", help="one plain HF model folder")
    kind.add_argument("--adapter", action="store_true", help="the adapter, portable base")
    parser.add_argument("--dtype", choices=DTYPES, help="cast the merged weights")
    parser.add_argument("--out", type=Path, help="default: <run_dir>/export-merged|adapter")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="also upload (needs a login)")
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        run = SavedRun.read(args.run_dir).serving("export")
        out = args.out or args.run_dir / ("export-merged" if args.merged else "export-adapter")
        if args.merged:
            export_merged(run, out, args.dtype)
        else:
            export_adapter(run, out)
        if args.push_to_hub:
            push_to_hub(out, args.push_to_hub)
    print(out)


if __name__ == "__main__":
    main()
