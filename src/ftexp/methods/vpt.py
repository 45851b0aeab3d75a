"""Visual prompt tuning (VPT, Jia et al. 2022, arXiv:2203.12119), shallow or deep.

Learned tokens are inserted into a vision transformer's sequence right after the class token,
before the first block (shallow); ``deep`` gives every later block's input its own tokens in
the same positions. Only they and the head train. PEFT's prompt methods prepend to a text
model's input embeddings; an image model has none, so this lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.methods.base import train_head_and
from ftexp.methods.own_weights import OwnWeightsMethod
from ftexp.models.families import families_with, family_of, model_family
from ftexp.utils.params import transformer_blocks

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask

PROMPTS = "visual_prompts"


@dataclass
class VisualPromptTuning(OwnWeightsMethod):
    """``num_tokens`` learned tokens after the class token; the backbone stays frozen.

    Attributes:
        num_tokens: how many prompt tokens (the paper: 1-200, often 10-50).
        dropout: dropout on the prompt tokens while training.
        deep: every block's input gets its own tokens (VPT-deep: num_tokens x blocks in all),
            not only the first block's.
    """

    weights_file: ClassVar[str] = "visual_prompts.safetensors"
    settings_file: ClassVar[str] = "visual_prompts.json"

    lr: float = 1e-2
    num_tokens: int = 10
    dropout: float = 0.0
    deep: bool = False

    def problems(self) -> list[str]:
        """Check the number of tokens and the dropout."""
        issues = super().problems()
        if self.num_tokens <= 0:
            issues.append(f"method.num_tokens must be > 0, got {self.num_tokens}")
        if not 0 <= self.dropout < 1:
            issues.append(f"method.dropout must be in [0, 1), got {self.dropout}")
        return issues

    def task_problems(self, task: ModelTask) -> list[str]:
        """Prompts go into an image transformer's patch sequence."""
        if "pixel_values" in task.inputs:
            return []
        return [
            f"method=vpt inserts tokens into a vision transformer's patch sequence; a model for "
            f"{task.name} reads text: use method=prompt, ptuning or prefix"
        ]

    def family_problems(self, family: str | None) -> list[str]:
        """Only transformers over patches have a sequence to insert into."""
        if family is None or family_of(family).token_sequence:
            return []
        return [
            f"method=vpt needs a vision transformer (one of {families_with('token_sequence')}); "
            f"model family {family!r} has no patch sequence: use method=lora, full or linear_probe"
        ]

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Freeze everything but the head; add the prompts and the hook that inserts them."""
        from ftexp.methods.visual_prompts import VisualPrompts

        family = model_family(model)
        issues = self.family_problems(family.model_type or None)
        if issues or family.token_sequence is None:
            raise ValueError(issues[0] if issues else "method=vpt: the model has no model_type")
        embeddings = getattr(model.base_model, family.token_sequence)
        config: Any = model.config
        blocks = list(transformer_blocks(model)) if self.deep else []
        train_head_and(model, [])
        prompts = VisualPrompts(
            self.num_tokens, config.hidden_size, config.patch_size, self.dropout, len(blocks) or 1
        )
        model.add_module(PROMPTS, prompts.to(next(model.parameters()).device))
        embeddings.register_forward_hook(lambda _module, _inputs, tokens: prompts(tokens))
        for index, block in enumerate(blocks[1:], start=1):  # the first reads the embeddings'
            block.register_forward_pre_hook(prompts.block_hook(index), with_kwargs=True)
        return model

    def merged(self, model: nn.Module) -> nn.Module:
        """Prompt tokens are inputs, not weights: nothing to fold into the base."""
        from ftexp.errors import RunError

        raise RunError(
            "method=vpt trains prompt tokens that are inputs, not weights, so it cannot be "
            "merged into the base; export it with --adapter (it reloads with ftexp.run.reload)"
        )
