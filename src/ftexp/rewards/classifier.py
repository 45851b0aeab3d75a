"""A finished ftexp classifier run as a reward: the probability it gives one label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass
class ClassifierReward:
    """Probability that a finished ftexp classifier run assigns ``label`` to each completion.

    E.g. the default sentiment run scores "fresh" (positive review) in [0, 1]. The classifier is
    loaded on first use, never at config time.
    """

    run_dir: str = "???"
    label: str = "fresh"
    max_length: int = 128
    _loaded: Any = field(default=None, init=False, repr=False)

    def problems(self) -> list[str]:
        """Check that ``run_dir`` is a finished classifier run."""
        run = Path(self.run_dir).expanduser()
        if not (run / "config.yaml").is_file() or not (run / "model").is_dir():
            return [
                f"objective.reward.run_dir={self.run_dir!r} is not a finished ftexp run "
                "(needs config.yaml and model/): train a classifier first, e.g. `python -m ftexp`"
            ]
        return []

    def __call__(
        self, prompts: list[str], completions: list[str], **fields: Sequence[object]
    ) -> torch.Tensor:
        """Score the completions (no gradients)."""
        if self._loaded is None:
            from ftexp.run.reload import load_run

            model, tokenizer, labels = load_run(self.run_dir)
            if self.label not in labels:
                raise ValueError(f"reward label {self.label!r} is not one of {labels}")
            self._loaded = (model, tokenizer, labels.index(self.label))
        model, tokenizer, index = self._loaded
        batch = tokenizer(
            completions,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        import torch

        with torch.inference_mode():
            probs = model(**batch).logits.float().softmax(-1)
        return probs[:, index].clone()
