"""The SFT peer users reach for: TRL's ``SFTTrainer`` + PEFT, its documented configuration.

It trains on ftexp's own encoded chat examples (the same tokens, labels only on the replies,
given to TRL as ``input_ids`` + ``completion_mask``) with the case's LoRA, rate and steps. TRL
keeps its own defaults otherwise: gradient checkpointing on (``--no-checkpointing`` turns it off
for a like-for-like row), its fused LM-head loss, and with ``packing`` its best-fit-decreasing
packing, padding-free. The held-out loss is the token mean over ftexp's test examples, computed
the way ftexp's test step computes it.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

import torch
from common import CASES, LORA_CAUSAL, Case, Meter, chat_data, measure_and_write
from hf_trainer import QUIET, MeterCallback, RecordingCollator
from peft import LoraConfig, TaskType, get_peft_model


def held_out_loss(model: Any, examples: list[dict[str, list[int]]], pad: int) -> float:
    """Token-mean next-token loss over ``examples`` (labels -100 off the replies)."""
    from ftexp.data.collate import ChatCollator

    collate = ChatCollator(pad, packed=False)
    total, tokens = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(examples), 16):
            batch = collate(examples[start : start + 16])
            out = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                labels=batch["labels"],
                use_cache=False,
            )
            counted = int((batch["labels"][:, 1:] != -100).sum())
            total += out.loss.item() * counted
            tokens += counted
    return total / max(tokens, 1)


def sft(case: Case, checkpointing: bool) -> dict[str, Any]:
    """SmolLM2 + LoRA through TRL's SFTTrainer for the case's steps; then the held-out loss."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    packing = bool(case.extra.get("packing"))
    data, spec = chat_data(packing=False)  # TRL packs the examples itself
    tokenizer = data.processor
    rows = [
        {"input_ids": x["input_ids"], "completion_mask": [int(y != -100) for y in x["labels"]]}
        for x in data.encoded["train"]
    ]
    model = spec.load_causal_lm()
    # the GGUF weights are de-quantised to fp32 on load; the flag left behind would make the
    # Trainer refuse to train them (a user would save and reload the model plainly)
    model.hf_quantizer = None
    model.is_quantized = False
    model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, **LORA_CAUSAL))
    steps = int(case.max_steps or 0)
    with tempfile.TemporaryDirectory(prefix="ftexp-bench-trl-") as out:
        args = SFTConfig(
            output_dir=out,
            per_device_train_batch_size=case.batch_size,
            learning_rate=case.lr,
            weight_decay=0.01,
            warmup_steps=0.06,  # ftexp's warmup_ratio
            lr_scheduler_type="linear",
            max_grad_norm=1.0,
            max_steps=steps,
            max_length=case.seq_len,
            packing=packing,
            completion_only_loss=True,
            gradient_checkpointing=checkpointing,
            bf16=False,
            use_cpu=not torch.cuda.is_available(),
            **QUIET,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
        )
        collator = RecordingCollator(trainer.data_collator)
        trainer.data_collator = collator
        meter = Meter(case.warmup_steps, model)
        trainer.add_callback(MeterCallback(meter, collator.lengths))
        trainer.train()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return {"meter": meter, "test_loss": held_out_loss(model, data.encoded["test"], pad)}


def main() -> None:
    """Run one case and write its result JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(c for c in CASES if CASES[c].task == "sft"))
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--no-checkpointing", action="store_true", help="turn off TRL's default checkpointing"
    )
    args = parser.parse_args()
    case = CASES[args.case]
    checkpointing = not args.no_checkpointing
    runner = "trl" if checkpointing else "trl_no_checkpointing"
    measure_and_write(args.out, runner, case, lambda: sft(case, checkpointing))


if __name__ == "__main__":
    main()
