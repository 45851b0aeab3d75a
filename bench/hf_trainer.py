"""The baseline users reach for: a plain Hugging Face Trainer + PEFT script.

Written the way the Transformers/PEFT docs show it (DataCollatorWithPadding, default sampler,
bf16 autocast on GPU, PEFT's fp32 adapters), with the case's hyperparameters.
``--group-by-length`` turns on the Trainer's own length grouping for a like-for-like row.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from common import (
    CASES,
    LORA_CAUSAL,
    LORA_CLASSIFY,
    Case,
    Meter,
    llama_config,
    measure_and_write,
    sentiment_data,
    synthetic_tokens,
)
from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    BitsAndBytesConfig,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)


class MeterCallback(TrainerCallback):  # type: ignore[misc]
    """Feeds the meter one entry per optimiser step (batch lengths come from the collator)."""

    def __init__(self, meter: Meter, lengths: list[list[int]]) -> None:
        self.meter, self.lengths = meter, lengths

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Count the step that just ended."""
        self.meter.step(self.lengths[state.global_step - 1])

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Close the timed window."""
        self.meter.stop()


class RecordingCollator:
    """Wraps a collator and records each batch's real sequence lengths."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.lengths = inner, []

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate and remember the lengths."""
        batch = self.inner(features)
        mask = batch.get("attention_mask")
        ids = batch["input_ids"]
        self.lengths.append(
            mask.sum(1).tolist() if mask is not None else [ids.shape[1]] * ids.shape[0]
        )
        return batch  # type: ignore[no-any-return]


# what every Trainer-based peer sets alike: no logging, saving or evaluation inside the timed run
QUIET = {
    "logging_steps": 10_000,
    "save_strategy": "no",
    "eval_strategy": "no",
    "report_to": [],
    "seed": 42,
    "dataloader_num_workers": 0,
    "disable_tqdm": True,
}


def args_for(case: Case, out: str, group_by_length: bool, steps: int) -> TrainingArguments:
    """TrainingArguments matching ftexp's defaults for the case."""
    gpu = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=case.batch_size,
        per_device_eval_batch_size=128,
        learning_rate=case.lr,
        weight_decay=0.01,
        warmup_steps=0.06,  # a float below 1 is a ratio of the total steps
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        num_train_epochs=1,
        max_steps=steps,
        bf16=gpu,
        use_cpu=not gpu,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        **QUIET,
    )


def classify(case: Case, out: str, group_by_length: bool) -> dict[str, Any]:
    """MiniLM + LoRA on the sentiment data for one epoch; test accuracy at the end."""
    data, location = sentiment_data()
    model = AutoModelForSequenceClassification.from_pretrained(location, num_labels=2)
    model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, **LORA_CLASSIFY))
    collator = RecordingCollator(DataCollatorWithPadding(data.processor))
    meter = Meter(case.warmup_steps, model)
    trainer = Trainer(
        model=model,
        args=args_for(case, out, group_by_length, -1),
        train_dataset=data.encoded["train"],
        data_collator=collator,
        callbacks=[MeterCallback(meter, collator.lengths)],
    )
    trainer.train()
    predictions = trainer.predict(data.encoded["test"])
    accuracy = float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())
    return {"meter": meter, "test_acc": accuracy}


def causal_lm(case: Case, out: str, group_by_length: bool) -> dict[str, Any]:
    """Random-init 1.1B Llama on random tokens: LoRA, full or QLoRA."""
    config = llama_config()
    steps = int(case.max_steps or 0)
    if case.method == "qlora":
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        torch.manual_seed(0)
        base = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        base.save_pretrained(f"{out}/base")
        del base
        model = AutoModelForCausalLM.from_pretrained(
            f"{out}/base", quantization_config=quant, dtype=torch.bfloat16, device_map={"": 0}
        )
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    if case.method in ("lora", "qlora"):
        model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, **LORA_CAUSAL))
    ids = synthetic_tokens(steps * case.batch_size, case.seq_len, config.vocab_size)
    dataset = [{"input_ids": row, "labels": row} for row in ids]
    meter = Meter(case.warmup_steps, model)
    lengths = [[case.seq_len] * case.batch_size] * steps
    trainer = Trainer(
        model=model,
        args=args_for(case, out, group_by_length, steps),
        train_dataset=dataset,
        callbacks=[MeterCallback(meter, lengths)],
    )
    trainer.train()
    return {"meter": meter}


def main() -> None:
    """Run one case and write its result JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", default="/tmp/ftexp-bench-hf")
    parser.add_argument("--group-by-length", action="store_true")
    args = parser.parse_args()
    case = CASES[args.case]
    run = classify if case.task == "classify" else causal_lm
    runner = "hf_trainer_grouped" if args.group_by_length else "hf_trainer"
    measure_and_write(args.out, runner, case, lambda: run(case, args.work, args.group_by_length))


if __name__ == "__main__":
    main()
