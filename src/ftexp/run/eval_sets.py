"""Extra labelled datasets a finished classifier is evaluated on (``eval_sets``).

Each entry names a data option and how its labels map onto the model's classes; the set's own
test split is scored after the run's test, as ``eval/<name>/acc|f1|auroc|n`` in
``metrics.json``. Example: the Rotten Tomatoes model on IMDB reviews (``+eval_sets=imdb``).
The sets are read and their labels checked before any weights load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftexp.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ftexp.objectives.module import FinetuneModule


@dataclass
class EvalSet:
    """A labelled data option and its label mapping.

    Attributes:
        data: the data option (its test split is scored; ``test_fraction`` / ``max_samples``
            set the size).
        label_map: the set's label -> the model's label (labels with the same name need none).
    """

    data: Any
    label_map: dict[str, str] = field(default_factory=dict)

    def targets(self, model_labels: list[str]) -> list[int]:
        """The model's class id of each of the set's classes."""
        names = self.data.class_names()
        return [model_labels.index(self.label_map.get(n, n)) for n in names]

    def problems(self, name: str, model_labels: list[str] | None) -> list[str]:
        """Labels that do not reach one of the model's classes."""
        if model_labels is None or "label" not in self.data.provides:
            return [f"eval_sets.{name}: eval sets score classifiers; this run trains no classes"]
        lost = [n for n in self.data.class_names() if self.label_map.get(n, n) not in model_labels]
        if not lost:
            return []
        return [
            f"eval_sets.{name}: its labels {lost} are not classes of the model {model_labels}; "
            f"map them with eval_sets.{name}.label_map"
        ]


_READ: dict[str, dict[str, EvalSet]] = {}  # sets read by the light check, kept for the run


def read_eval_sets(cfg: DictConfig, model_labels: list[str] | None) -> dict[str, EvalSet]:
    """Instantiate, read and check every eval set: no tokenizer, no torch, no weights.

    The command line calls this with the light checks, so a label that cannot reach the
    model's classes is refused in about a second; the run then takes the sets already read.
    """
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    key = OmegaConf.to_yaml(cfg.get("eval_sets") or {})
    if key in _READ:
        return _READ[key]
    sets: dict[str, EvalSet] = {}
    issues: list[str] = []
    for name, node in (cfg.get("eval_sets") or {}).items():
        try:
            built = EvalSet(**instantiate(node, _convert_="all"))
            issues += [f"eval_sets.{name}.data: {p}" for p in built.data.problems()]
            if not issues:
                built.data.load()
                issues += built.problems(str(name), model_labels)
        except ConfigError:
            raise
        except Exception as err:
            issues.append(f"eval_sets.{name}: {err}")
            continue
        sets[str(name)] = built
    if issues:
        raise ConfigError(issues)
    _READ[key] = sets
    return sets


def load_eval_sets(
    cfg: DictConfig, model_labels: list[str] | None, processor: Any
) -> dict[str, EvalSet]:
    """The run's eval sets, read and checked, their data connected to the run's processor."""
    sets = read_eval_sets(cfg, model_labels)
    _READ.clear()  # a later job of a multirun reads its own
    for chosen in sets.values():
        chosen.data.connect(processor)
    return sets


def evaluate(module: FinetuneModule, sets: dict[str, EvalSet]) -> dict[str, float]:
    """Score the model on each set's test split: ``eval/<name>/<metric>``."""
    from torch.utils.data import DataLoader

    out: dict[str, float] = {}
    for name, chosen in sets.items():
        data = chosen.data
        targets = chosen.targets(list(module.labels or []))
        examples = [data.relabel(x, targets[data.label_of(x)]) for x in data.splits["test"]]
        loader = DataLoader(
            data.encode_split(examples),
            batch_size=data.eval_batch_size,
            collate_fn=data.collator(False),
        )
        out.update({f"eval/{name}/{k}": v for k, v in module.score(loader).items()})
    return out
