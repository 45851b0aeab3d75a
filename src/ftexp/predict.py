"""``python -m ftexp.predict <run_dir> INPUT ...``: label and confidence for each text or image.

A run trained on images (e.g. ``data=digits``) takes image files; any other takes texts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from ftexp.errors import RunError, refusals
from ftexp.reload import load_run


def predict(run_dir: str, inputs: list[str], max_length: int = 512) -> list[tuple[str, float]]:
    """Return ``(label, probability)`` for each input (a text, or an image path)."""
    model, processor, labels = load_run(run_dir)
    if not labels:
        raise RunError(f"{run_dir} is not a classifier run; use python -m ftexp.generate for LMs")
    if _takes_images(processor):
        batch = processor(images=[_image(p) for p in inputs], return_tensors="pt")
    else:
        batch = processor(
            inputs, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
    with torch.inference_mode():
        probs = model(**batch).logits.float().softmax(-1)
    confidence, index = probs.max(-1)
    return [(labels[int(i)], float(c)) for i, c in zip(index, confidence, strict=True)]


def _takes_images(processor: Any) -> bool:
    return "pixel_values" in getattr(processor, "model_input_names", [])


def _image(path: str) -> Any:
    """An RGB image from a file, refused cleanly when it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(Path(path).expanduser()) as image:
            return image.convert("RGB")
    except (FileNotFoundError, UnidentifiedImageError, OSError) as err:
        raise RunError(f"{path} is not a readable image ({err}); pass PNG/JPEG files") from None


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished run dir, e.g. outputs/2026-11-23/10-00-00-1a2b")
    parser.add_argument("inputs", nargs="+", help="texts, or image files for an image run")
    args = parser.parse_args(argv)
    with refusals():
        results = predict(args.run_dir, args.inputs)
    for item, (label, confidence) in zip(args.inputs, results, strict=True):
        print(f"{label}\t{confidence:.3f}\t{item}")


if __name__ == "__main__":
    main()
