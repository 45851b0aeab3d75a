"""Token-level LM losses: next-token (``sft``) and masked-token (``mlm``) cross-entropy."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchmetrics import SumMetric

from ftexp.batch import IGNORE
from ftexp.memory.passes import ModelPass
from ftexp.memory.passes import model_inputs as model_inputs_of
from ftexp.objectives.lm.fused_loss import causal_lm_loss, plain_head
from ftexp.objectives.module import Batch, FinetuneModule, Stage

MODEL_INPUTS = ("input_ids", "attention_mask", "position_ids", "labels")


class TokenLossModule(FinetuneModule):
    """A loss averaged over the tokens the data labels; logs ``{stage}/loss`` and ``{stage}/ppl``.

    Evaluation weighs each batch by its labelled tokens, so the epoch's loss is the mean over
    every token of the split however it is batched or sharded. Subclasses give ``loss``.
    """

    labels_key = "labels"  # the batch field whose tokens carry loss

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eval_loss_sum = nn.ModuleDict({s: SumMetric() for s in ("val", "test")})
        self.eval_tokens = nn.ModuleDict({s: SumMetric() for s in ("val", "test")})

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """One pass with the labels: the model computes the token loss as the step does."""
        return [ModelPass(model_inputs_of(batch, frozenset(MODEL_INPUTS)))]

    def loss(self, batch: Batch) -> torch.Tensor:
        """The mean loss over the batch's labelled tokens."""
        raise NotImplementedError

    def forward(self, batch: Batch) -> torch.Tensor:
        """Return the mean token loss of the batch."""
        return self.loss(batch)

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """The token loss of one batch (val / test: accumulated, token-weighted)."""
        tokens = _target_tokens(batch[self.labels_key])
        loss = self(batch)
        if stage == "train":
            self.log("train/loss", loss, prog_bar=True, batch_size=tokens)
            return loss
        loss_sum: Any = self.eval_loss_sum[stage]
        counted: Any = self.eval_tokens[stage]
        loss_sum.update(loss.float() * tokens)
        counted.update(torch.tensor(float(tokens), device=loss.device))
        return loss

    def end_epoch(self, stage: Stage) -> None:
        """Log the split's token-mean loss and its perplexity."""
        loss_sum: Any = self.eval_loss_sum[stage]
        counted: Any = self.eval_tokens[stage]
        loss = loss_sum.compute() / counted.compute().clamp(min=1)
        self.log(f"{stage}/loss", loss, prog_bar=True)
        self.log(f"{stage}/ppl", loss.exp())
        loss_sum.reset()
        counted.reset()


class CausalLMModule(TokenLossModule):
    """``objective=sft``: fine-tune a decoder on next-token prediction.

    Which tokens carry loss is the data's decision (labels of -100 are ignored: prompts,
    padding), so the same module serves plain LM, SFT on responses and packed batches. The loss
    is the shifted token mean: computed from the final hidden states a chunk at a time
    (``speed.chunked_loss``, the default), or the model's own, which Liger's fused linear
    cross-entropy replaces without materialising logits when ``speed.liger_kernel`` is on.
    """

    def chunked_head(self, model: nn.Module) -> nn.Linear | None:
        """The head the chunked loss runs through, or None where the model's own loss runs."""
        speed = self.speed
        if not speed.chunked_loss or speed.liger_kernel or self.sharded or self._zero_stage_3:
            return None
        return plain_head(model)

    @property
    def _zero_stage_3(self) -> bool:
        """DeepSpeed ZeRO-3 partitions the head's weight outside its own forward."""
        trainer = self._trainer
        return bool(trainer is not None and getattr(trainer.strategy, "zero_stage_3", False))

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """One pass with the labels, through the loss the step uses."""
        return [ModelPass(model_inputs_of(batch, frozenset(MODEL_INPUTS)), loss=self.token_loss)]

    def outputs(self, batch: Batch) -> Any:
        """The model's outputs on a batch (its logits), as ``token_loss`` runs it."""
        assert self.model is not None
        return self.model(**model_inputs(batch), use_cache=False)

    def loss(self, batch: Batch) -> torch.Tensor:
        """The shifted next-token loss of a batch."""
        assert self.model is not None
        return self.token_loss(self.model, model_inputs(batch))

    def token_loss(self, model: nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
        """The loss of ``model`` on model inputs with ``labels``: chunked where it can be.

        Packed rows carry ``position_ids`` and no attention mask. ``use_cache=False`` matters
        beyond memory: with a KV cache object present, Hugging Face models skip the
        packed-sequence detection and attend across packed examples.
        """
        head = self.chunked_head(model)
        if head is None:
            return model(**inputs, use_cache=False).loss
        given = dict(inputs)
        labels = given.pop("labels")
        return causal_lm_loss(model, head, given, labels)


class MaskedLMModule(TokenLossModule):
    """``objective=mlm``: masked-LM continued pretraining (domain adaptation).

    Save it with ``method=full`` and start a classifier from it with
    ``model.init_from=<this run dir>``.
    """

    labels_key = "mlm_labels"

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over the masked tokens."""
        assert self.model is not None
        return masked_lm_loss(self.model, batch, batch["mlm_labels"])


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The batch entries a Hugging Face model takes (with ``labels`` it computes the loss)."""
    return {k: v for k, v in batch.items() if k in MODEL_INPUTS}


def _target_tokens(labels: torch.Tensor) -> int:
    """Tokens that carry loss."""
    return int((labels != IGNORE).sum())


def masked_lm_loss(model: nn.Module, batch: dict[str, Any], labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a masked-LM ``model`` over the tokens whose label is not -100.

    About 15% of tokens carry a label, and the vocabulary projection (e.g. 384 x 30,522 in
    MiniLM) costs as much as the whole encoder, so a pre-hook on the output embeddings keeps
    just the labelled rows: the same loss for a fraction of the head's compute and memory.
    A batch with no labelled token gives 0 (not NaN).
    """
    picked = labels != IGNORE
    count = picked.sum().clamp(min=1)
    head = model.get_output_embeddings()  # type: ignore[operator]
    if not isinstance(head, nn.Module):
        logits = model(**model_inputs(batch)).logits
        return _summed_ce(logits[picked], labels[picked]) / count

    def keep_picked(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
        return (args[0][picked], *args[1:])

    handle = head.register_forward_pre_hook(keep_picked)
    try:
        logits = model(**model_inputs(batch)).logits
    finally:
        handle.remove()
    return _summed_ce(logits, labels[picked]) / count


def _summed_ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
