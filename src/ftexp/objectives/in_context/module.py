"""In-context classification: label words scored after a (few-shot) prompt, nothing trained."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from ftexp.memory.passes import ModelPass
from ftexp.objectives.classify.module import ClassifyModule
from ftexp.objectives.in_context.spec import InContext

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


CONTENT_FREE = "N/A"  # the text whose label scores contextual calibration subtracts
MARK = "\x00query\x00"  # where each text goes in the rendered chat template
ROWS_PER_PASS = 64  # prompt continuations scored per forward pass (bounds the shared cache)


class InContextModule(ClassifyModule):
    """Class scores = log p(label word | prompt); metrics, figures and eval sets as classify."""

    @property
    def settings(self) -> InContext:
        """The ``objective.*`` settings."""
        return cast(InContext, self.objective)

    def prepared(self, model: nn.Module) -> nn.Module:
        """The pretrained LM, every weight frozen (no update is the point of the baseline)."""
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        return model

    def memory_passes(self, batch: dict[str, torch.Tensor]) -> list[ModelPass]:
        """The texts scored without gradients (the shared prompt's cache is not counted)."""
        return [ModelPass({"input_ids": batch["input_ids"]}, grad=False)]

    def on_test_epoch_start(self) -> None:
        """Draw the solved examples shown in every prompt (the run's seed picks them)."""
        super().on_test_epoch_start()
        data = self.trainer.datamodule.data
        self.demos = demonstrations(data, self.settings.shots, torch.initial_seed())

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each example's summed log-probability of every class's label word.

        With ``calibrate`` the scores of a content-free text ("N/A") are subtracted: contextual
        calibration (Zhao et al. 2021), which removes the prompt's bias towards one label.
        """
        texts = self.processor.batch_decode(batch["input_ids"], skip_special_tokens=True)
        calibrated = self.settings.calibrate
        prefix, suffixes = self.prompt_parts([*texts, CONTENT_FREE] if calibrated else texts)
        words = self.label_words()
        rows: list[list[int]] = []
        scored: list[int] = []
        for suffix, gap in suffixes:
            for word in words:
                answer = _ids(self.processor, gap + word)
                rows.append(suffix + answer)
                scored.append(len(answer))
        scores = torch.cat(
            [
                self._score(prefix, rows[i : i + ROWS_PER_PASS], scored[i : i + ROWS_PER_PASS])
                for i in range(0, len(rows), ROWS_PER_PASS)
            ]
        ).view(len(suffixes), len(words))
        if calibrated:
            return scores[:-1] - scores[-1]
        return scores

    def _score(self, prefix: list[int], rows: list[list[int]], scored: list[int]) -> torch.Tensor:
        """Summed log-probabilities of each row's last ``scored`` tokens after ``prefix``.

        The prefix (instruction and solved examples, the same for every text) runs once and
        its key/value cache is shared. Rows are left-padded, so every row ends at the last
        column and only the last positions' logits are computed (a batch's logits over a 49k
        vocabulary would take GBs).
        """
        assert self.model is not None
        width, keep = max(map(len, rows)), max(scored) + 1
        ids = torch.full((len(rows), width), int(self.processor.pad_token_id or 0))
        mask = torch.zeros_like(ids)
        for n, row in enumerate(rows):
            ids[n, width - len(row) :] = torch.tensor(row)
            mask[n, width - len(row) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        extra: dict[str, Any] = {}
        if prefix:
            cache = self.model(
                input_ids=torch.tensor([prefix], device=self.device), use_cache=True
            ).past_key_values
            cache.batch_repeat_interleave(len(rows))
            extra = {
                "past_key_values": cache,
                "position_ids": len(prefix) + (mask.cumsum(1) - 1).clamp(min=0),
            }
            mask = torch.cat([torch.ones((len(rows), len(prefix)), dtype=mask.dtype), mask], 1)
        out = self.model(input_ids=ids, attention_mask=mask, logits_to_keep=keep, **extra)
        logprobs = out.logits[:, :-1].float().log_softmax(-1)
        picked = logprobs.gather(-1, ids[:, width - keep + 1 :, None])[..., 0]
        return torch.stack([picked[n, -k:].sum() for n, k in enumerate(scored)])

    def label_words(self) -> list[str]:
        """The word said for each class, in class order."""
        return self.settings.words_for(list(self.labels or []))

    def prompt_parts(self, texts: list[str]) -> tuple[list[int], list[tuple[list[int], str]]]:
        """The prompt's shared prefix ids, and per text its own ids and the gap before a label.

        The prefix holds the instruction and the solved examples (and, with ``chat``, the
        chat template's opening); each text's part holds the text in ``template`` and, with
        ``chat``, the template's close up to the assistant's reply.
        """
        settings, tokenizer = self.settings, self.processor
        words = self.label_words()
        before = settings.template[: -len("{label}")]
        shown = [before.format(text=t) + words[y] + "\n\n" for t, y in getattr(self, "demos", [])]
        head = "".join(shown)
        if settings.instruction:
            head = settings.instruction.format(labels=", ".join(words)) + "\n\n" + head
        queries = [before.format(text=text) for text in texts]
        if settings.chat and getattr(tokenizer, "chat_template", None):
            message = [{"role": "user", "content": head + MARK}]
            rendered = tokenizer.apply_chat_template(
                message, add_generation_prompt=True, tokenize=False
            )
            opening, close = rendered.split(MARK)
            parts = [(_ids(tokenizer, q.rstrip() + close), "") for q in queries]
            return _ids(tokenizer, opening), parts
        gaps = [q[len(q.rstrip()) :] for q in queries]
        parts = [(_ids(tokenizer, q.rstrip()), gap) for q, gap in zip(queries, gaps, strict=True)]
        return _ids(tokenizer, head), parts


def demonstrations(data: Any, shots: int, seed: int) -> list[tuple[str, int]]:
    """``shots`` training examples as (text, class id), the classes taking turns."""
    by_class: dict[int, list[str]] = {}
    for example in data.splits["train"]:
        by_class.setdefault(int(data.label_of(example)), []).append(data.text_of(example))
    rng = random.Random(seed)
    classes = sorted(by_class)
    rng.shuffle(classes)
    picked = []
    for n in range(shots):
        label = classes[n % len(classes)]
        picked.append((rng.choice(by_class[label]), label))
    rng.shuffle(picked)
    return picked


def _ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of ``text`` without special tokens added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
