"""The overhead floor: a bare PyTorch loop with the same batches and settings as ftexp.

No framework: the model, the optimiser, a LambdaLR schedule, clipping and the loop. Its batches
come from ftexp's own sampler/collator (CPU case) and its kernels follow ftexp's speed settings
(GPU case), so ftexp / bare measures framework overhead alone.
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
from peft import LoraConfig, TaskType, get_peft_model
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer: torch.optim.Optimizer, total: int, warmup_ratio: float) -> LambdaLR:
    """Linear warmup then linear decay to zero (what ftexp and HF use)."""
    warm = max(1, int(total * warmup_ratio))
    return LambdaLR(
        optimizer, lambda s: s / warm if s < warm else max(0.0, (total - s) / (total - warm))
    )


def train(model: torch.nn.Module, batches: Any, total: int, case: Case, meter: Meter) -> None:
    """The loop: forward, backward, clip, step, schedule."""
    params = [p for p in model.parameters() if p.requires_grad]
    fused = torch.cuda.is_available()
    optimizer = torch.optim.AdamW(params, lr=case.lr, weight_decay=0.01, fused=fused)
    scheduler = linear_warmup(optimizer, total, 0.06)
    model.train()
    for batch in batches:
        loss = _loss(model, batch, case)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        mask = batch.get("attention_mask")
        ids = batch["input_ids"]
        meter.step(mask.sum(1).tolist() if mask is not None else [ids.shape[1]] * ids.shape[0])
    meter.stop()


def _loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], case: Case) -> torch.Tensor:
    if case.task == "classify":
        inputs = {k: v for k, v in batch.items() if k != "label"}
        return torch.nn.functional.cross_entropy(model(**inputs).logits, batch["label"])
    return model(**batch).loss  # type: ignore[no-any-return]


def classify(case: Case) -> dict[str, Any]:
    """MiniLM + LoRA, ftexp's length-grouped batches, one epoch, then test accuracy."""
    from transformers import AutoModelForSequenceClassification

    from ftexp.data.collate import PaddingCollator
    from ftexp.data.sampling import ShardedBatchSampler

    torch.manual_seed(42)
    data, location = sentiment_data()
    model = AutoModelForSequenceClassification.from_pretrained(location, num_labels=2)
    model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, **LORA_CLASSIFY))
    train_rows = data.encoded["train"]
    lengths = [len(x["input_ids"]) for x in train_rows]
    sampler = ShardedBatchSampler(len(train_rows), case.batch_size, data.split_seed, lengths)
    collate = PaddingCollator(data.processor.pad_token_id)
    batches = (collate([train_rows[i] for i in idx]) for idx in sampler)
    meter = Meter(case.warmup_steps, model)
    train(model, batches, len(sampler), case, meter)
    model.eval()
    correct = 0
    test = sorted(data.encoded["test"], key=lambda x: len(x["input_ids"]))
    with torch.inference_mode():
        for start in range(0, len(test), 128):
            batch = collate(test[start : start + 128])
            labels = batch.pop("label")
            correct += int((model(**batch).logits.argmax(-1) == labels).sum())
    return {"meter": meter, "test_acc": correct / len(test)}


def causal_lm(case: Case, liger: bool, compile_model: bool) -> dict[str, Any]:
    """Random-init 1.1B Llama in bf16 (weights and adapters), fused AdamW, optional kernels."""
    from transformers import AutoModelForCausalLM

    config = llama_config()
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    if liger:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance

        _apply_liger_kernel_to_instance(model=model)
    if case.method == "lora":
        lora = LoraConfig(task_type=TaskType.CAUSAL_LM, **LORA_CAUSAL)
        model = get_peft_model(model, lora, autocast_adapter_dtype=False)
    if compile_model:
        model.compile()
    steps = int(case.max_steps or 0)
    ids = synthetic_tokens(steps * case.batch_size, case.seq_len, config.vocab_size).cuda()
    batches = (
        {"input_ids": ids[i : i + case.batch_size], "labels": ids[i : i + case.batch_size]}
        for i in range(0, len(ids), case.batch_size)
    )
    meter = Meter(case.warmup_steps, model)
    train(model, batches, steps, case, meter)
    return {"meter": meter}


def main() -> None:
    """Run one case and write its result JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--out", required=True)
    parser.add_argument("--liger", action="store_true")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    case = CASES[args.case]
    if case.task == "classify":
        measure_and_write(args.out, "bare_loop", case, lambda: classify(case))
    else:
        measure_and_write(
            args.out, "bare_loop", case, lambda: causal_lm(case, args.liger, args.compile)
        )


if __name__ == "__main__":
    main()
