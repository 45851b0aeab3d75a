"""``python -m ftexp.cli.generate <run_dir> "prompt" ...``: chat replies from an LM run."""

from __future__ import annotations

import argparse

from ftexp.errors import refusals
from ftexp.infra.console import quiet_libraries
from ftexp.run.reload import SavedRun
from ftexp.serve.generate import generate_replies


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished objective=sft/dpo/rl run dir")
    parser.add_argument("prompts", nargs="+", help="user messages")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        model, tokenizer, _ = SavedRun.read(args.run_dir).serving("generate").load()
    for prompt, reply in zip(
        args.prompts,
        generate_replies(model, tokenizer, args.prompts, args.max_new_tokens, args.temperature),
        strict=True,
    ):
        print(f"> {prompt}\n{reply.strip()}\n")


if __name__ == "__main__":
    main()
