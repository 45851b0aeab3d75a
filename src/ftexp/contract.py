"""The contract between objective, data and model, checked before any weights load.

An objective declares the batch fields it ``needs`` and the ``ModelTask`` it trains (how the
model is loaded from a model spec, wrapped by PEFT and reloaded); a data module declares the
fields it ``provides``. ``contract_problems`` compares them from the classes alone, so a
mismatch such as ``objective=dpo data=sentiment`` is refused at config time. This module
imports nothing heavy: it runs before torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelTask:
    """How an objective's model is built, wrapped and rebuilt: one object, read by all.

    Attributes:
        name: what the model does, for messages.
        loader: the model-spec method that loads a pretrained model for this task.
        auto_class: the ``transformers`` auto class that reloads a saved full model.
        peft_task: PEFT's task type for wrapping (``None``: PEFT's generic model).
        labelled: the head is sized by class names (passed to ``loader``).
    """

    name: str
    loader: str
    auto_class: str
    peft_task: str | None
    labelled: bool = False

    def served_by(self, spec: Any) -> bool:
        """Whether a model spec can load a model for this task."""
        return callable(getattr(spec, self.loader, None))

    def load(self, spec: Any, labels: list[str] | None, **load_kwargs: Any) -> Any:
        """Load the pretrained model for this task from ``spec``."""
        loader = getattr(spec, self.loader)
        return loader(list(labels or []), **load_kwargs) if self.labelled else loader(**load_kwargs)

    def load_saved(self, model_dir: Path, **load_kwargs: Any) -> Any:
        """Reload a complete saved model (``save_pretrained`` folder)."""
        import transformers

        return getattr(transformers, self.auto_class).from_pretrained(model_dir, **load_kwargs)


SEQUENCE_CLASSIFICATION = ModelTask(
    "sequence classification",
    "load_classifier",
    "AutoModelForSequenceClassification",
    "SEQ_CLS",
    labelled=True,
)
CAUSAL_LM = ModelTask(
    "causal language model", "load_causal_lm", "AutoModelForCausalLM", "CAUSAL_LM"
)
MASKED_LM = ModelTask(
    "masked language model", "load_masked_lm", "AutoModelForMaskedLM", "FEATURE_EXTRACTION"
)
IMAGE_CLASSIFICATION = ModelTask(
    "image classification",
    "load_image_classifier",
    "AutoModelForImageClassification",
    None,
    labelled=True,
)


def contract_problems(
    objective: Any, data: Any, spec: Any, names: dict[str, str], partners: dict[str, frozenset[str]]
) -> list[str]:
    """Problems between the chosen objective, data and model, each naming the valid partners.

    ``names`` gives the chosen option of each group (``{"objective": "dpo", ...}``) for the
    message; ``partners`` maps every data option to the fields it provides.
    """
    issues = []
    missing = sorted(set(objective.needs) - set(data.provides))
    if missing:
        valid = sorted(name for name, fields in partners.items() if objective.needs <= fields)
        issues.append(
            f"objective={names['objective']} cannot train on data={names['data']}: it needs the "
            f"batch fields {sorted(objective.needs)}, the data provides {sorted(data.provides)} "
            f"(missing {missing}); data options that fit objective={names['objective']}: "
            f"{', '.join(valid) or 'none'}"
        )
    if spec is not None and not objective.task.served_by(spec):
        issues.append(
            f"objective={names['objective']} needs a model that can load a {objective.task.name} "
            f"({objective.task.loader}()); model={names['model']} ({type(spec).__name__}) cannot: "
            "pick a matching model=..."
        )
    return issues


def run_identity(method: Any, spec: Any, objective: Any) -> dict[str, str]:
    """What a checkpoint records of the run that wrote it, so a resume can be checked."""
    family = spec.model_type() if callable(getattr(spec, "model_type", None)) else None
    return {
        "method": type(method).__name__,
        "model": f"{type(spec).__name__} ({family or 'unknown family'})",
        "objective": type(objective).__name__,
    }
