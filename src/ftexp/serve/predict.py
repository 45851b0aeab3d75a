"""What a run's model says about texts, images and entities.

The library side of ``python -m ftexp.cli.predict``; ``ModelTask.predictor`` names the function
that answers for a task.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ftexp.errors import RunError
from ftexp.run.reload import load_run

if TYPE_CHECKING:
    from transformers import BatchEncoding


def predict(run_dir: str, inputs: list[str], max_length: int = 512) -> list[tuple[str, float]]:
    """Return ``(label, probability)`` for each input (a text, or an image path)."""
    model, processor, labels = load_run(run_dir)
    if not labels:
        raise RunError(
            f"{run_dir} is not a classifier run; use python -m ftexp.cli.generate for LMs"
        )
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


def classes(run_dir: str, inputs: list[str]) -> list[str]:
    """``label<TAB>confidence<TAB>input`` for each input."""
    found = predict(run_dir, inputs)
    return [f"{label}\t{p:.3f}\t{item}" for item, (label, p) in zip(inputs, found, strict=True)]


Entity = tuple[str, str, float]  # (text, type, mean confidence of its words)


def find_entities(run_dir: str, texts: list[str], max_length: int = 512) -> list[list[Entity]]:
    """The entities a token-classification run finds in each text (exact spans of the text)."""
    from ftexp.metrics.entities import spans

    model, tokenizer, labels = load_run(run_dir)
    found = []
    for text in texts:
        batch = tokenizer(
            text,
            truncation=True,
            max_length=max_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = batch.pop("offset_mapping")[0].tolist()
        with torch.inference_mode():
            logits = model(**batch).logits[:, -len(offsets) :]  # after any soft prompt
        probs = logits.float().softmax(-1)[0]
        first: dict[int, int] = {}  # word -> its first sub-token
        for position, word in enumerate(batch.word_ids(0)):
            if word is not None:
                first.setdefault(word, position)
        words = sorted(first)
        tags = [labels[int(probs[first[w]].argmax())] for w in words]
        entities = []
        for kind, start, end in spans(tags):
            positions = [first[w] for w in words[start : end + 1]]
            begin, finish = offsets[positions[0]][0], offsets[_last_token(batch, words[end])][1]
            confidence = float(probs[positions].max(-1).values.mean())
            entities.append((text[begin:finish], kind, confidence))
        found.append(entities)
    return found


def _last_token(batch: BatchEncoding, word: int) -> int:
    return max(i for i, w in enumerate(batch.word_ids(0)) if w == word)


def entities(run_dir: str, inputs: list[str]) -> list[str]:
    """``text<TAB>type<TAB>confidence`` for each entity, under a ``# input`` line per text."""
    lines = []
    for text, found in zip(inputs, find_entities(run_dir, inputs), strict=True):
        lines.append(f"# {text}")
        lines += [f"{span}\t{kind}\t{p:.3f}" for span, kind, p in found] or ["(no entities)"]
    return lines


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
