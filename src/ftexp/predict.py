"""``python -m ftexp.predict <run_dir> "text" ...``: label and confidence for each text."""

from __future__ import annotations

import argparse

import torch

from ftexp.errors import refusals
from ftexp.reload import load_run


def predict(run_dir: str, texts: list[str], max_length: int = 512) -> list[tuple[str, float]]:
    """Return ``(label, probability)`` for each text."""
    model, tokenizer, labels = load_run(run_dir)
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    with torch.inference_mode():
        probs = model(**batch).logits.float().softmax(-1)
    confidence, index = probs.max(-1)
    return [(labels[int(i)], float(c)) for i, c in zip(index, confidence, strict=True)]


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished run dir, e.g. outputs/2026-11-23/10-00-00")
    parser.add_argument("texts", nargs="+", help="texts to classify")
    args = parser.parse_args(argv)
    with refusals():
        results = predict(args.run_dir, args.texts)
    for text, (label, confidence) in zip(args.texts, results, strict=True):
        print(f"{label}\t{confidence:.3f}\t{text}")


if __name__ == "__main__":
    main()
