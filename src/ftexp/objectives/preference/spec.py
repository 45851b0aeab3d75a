"""Learning from chosen / rejected pairs: reward, dpo, kto, orpo and simpo.

``orpo`` and ``simpo`` need no reference model; ``dpo`` takes three losses (sigmoid, hinge, IPO).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from ftexp.contract import CAUSAL_LM, SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective

if TYPE_CHECKING:
    from ftexp.data.base import DataOption

PAIR_FIELDS = frozenset(
    f"{side}_{key}" for side in ("chosen", "rejected") for key in ("input_ids", "attention_mask")
)
LABELLED_PAIRS = PAIR_FIELDS | {"chosen_labels", "rejected_labels"}
# unpaired preference data: one reply per row and whether it is desirable
JUDGED_REPLIES = frozenset({"input_ids", "attention_mask", "labels", "desirable"})


class DPOLoss(StrEnum):
    """``objective.loss_type`` of ``objective=dpo``: the loss on the implicit-reward margin."""

    SIGMOID = "sigmoid"  # DPO, Rafailov et al. 2023
    HINGE = "hinge"  # SLiC, Zhao et al. 2023
    IPO = "ipo"  # Azar et al. 2023, on per-token average log-probabilities


def _positive(name: str, value: float, typical: str) -> list[str]:
    return [] if value > 0 else [f"objective.{name} must be > 0, got {value} (typical: {typical})"]


@dataclass
class Reward(Objective):
    """A pairwise (Bradley-Terry) reward model: ``-log sigmoid(r_chosen - r_rejected)``."""

    needs: ClassVar[frozenset[str]] = PAIR_FIELDS
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION
    module: ClassVar[str] = "ftexp.objectives.preference.module.RewardModule"

    def head_labels(self, data_labels: list[str] | None) -> list[str] | None:
        """One output: the scalar reward."""
        return ["reward"]


@dataclass
class DPO(Objective):
    """Direct preference optimisation against the untrained model (Rafailov et al. 2023).

    Attributes:
        beta: strength of the KL anchor to the reference (0.05-0.5 typical); IPO's tau.
        label_smoothing: conservative DPO: assumed share of flipped preference labels.
        loss_type: sigmoid (DPO), hinge (SLiC) or ipo (IPO).
    """

    needs: ClassVar[frozenset[str]] = LABELLED_PAIRS
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.preference.module.DPOModule"

    beta: float = 0.1
    label_smoothing: float = 0.0
    loss_type: str = DPOLoss.SIGMOID

    def problems(self) -> list[str]:
        """Check beta, the smoothing and the loss type."""
        issues = _positive("beta", self.beta, "0.05-0.5")
        if not 0 <= self.label_smoothing < 0.5:
            issues.append(
                f"objective.label_smoothing must be in [0, 0.5), got {self.label_smoothing}"
            )
        if self.loss_type not in set(DPOLoss):
            names = ", ".join(DPOLoss)
            issues.append(f"objective.loss_type must be one of {names}, got {self.loss_type!r}")
        elif self.label_smoothing and self.loss_type != DPOLoss.SIGMOID:
            issues.append(
                f"objective.label_smoothing applies to loss_type=sigmoid only, "
                f"not {self.loss_type}: set it to 0"
            )
        return issues


@dataclass
class KTO(Objective):
    """Kahneman-Tversky optimisation (Ethayarajh et al. 2024): desirable / undesirable examples.

    Trains on unpaired preference data (``data=unpaired_preference``: each reply judged on its
    own), or on pairs, each giving one desirable (chosen) and one undesirable (rejected)
    example. The reference point is the batch's KL(policy || reference), estimated on each
    prompt with another row's response, as TRL's KTOTrainer does.

    Attributes:
        beta: strength of the anchor to the reference (0.1 typical).
        desirable_weight / undesirable_weight: lambda_D and lambda_U (weigh the rarer kind up).
    """

    needs: ClassVar[frozenset[str]] = LABELLED_PAIRS
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.preference.kto.KTOModule"

    beta: float = 0.1
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0

    @classmethod
    def fields(cls, data: DataOption) -> frozenset[str]:
        """Judged replies on unpaired preference data, else labelled pairs."""
        return JUDGED_REPLIES if "desirable" in data.provides else cls.needs

    def problems(self) -> list[str]:
        """Check beta and the weights."""
        return [
            *_positive("beta", self.beta, "0.1"),
            *_positive("desirable_weight", self.desirable_weight, "1.0"),
            *_positive("undesirable_weight", self.undesirable_weight, "1.0"),
        ]


@dataclass
class ORPO(Objective):
    """Odds-ratio preference optimisation (Hong et al. 2024): SFT plus an odds-ratio term.

    No reference model: one forward pass over both responses per step.

    Attributes:
        beta: lambda, the weight of the odds-ratio term beside the chosen response's NLL.
    """

    needs: ClassVar[frozenset[str]] = LABELLED_PAIRS
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.preference.orpo.ORPOModule"

    beta: float = 0.1

    def problems(self) -> list[str]:
        """Check lambda."""
        return _positive("beta", self.beta, "0.1-0.25")


@dataclass
class SimPO(Objective):
    """Simple preference optimisation (Meng et al. 2024): length-normalised, reference-free.

    Attributes:
        beta: reward scale (2.0-2.5 typical).
        gamma_beta_ratio: the target margin gamma as a share of beta (0.5 typical).
    """

    needs: ClassVar[frozenset[str]] = LABELLED_PAIRS
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.preference.simpo.SimPOModule"

    beta: float = 2.0
    gamma_beta_ratio: float = 0.5

    def problems(self) -> list[str]:
        """Check beta and the margin."""
        issues = _positive("beta", self.beta, "2.0-2.5")
        if self.gamma_beta_ratio < 0:
            issues.append(
                f"objective.gamma_beta_ratio must be >= 0, got {self.gamma_beta_ratio} "
                "(typical: 0.5)"
            )
        return issues
