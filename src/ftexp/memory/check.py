"""Before the weights load: print the run's memory estimate, refuse a run that cannot fit.

``trainer.memory_check``: ``refuse`` (default) stops a run whose estimate exceeds what the
device has, naming the fixes that would make it fit; ``warn`` prints the same and goes on;
``off`` skips the estimate.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from omegaconf import DictConfig

from ftexp.errors import RunError
from ftexp.memory.available import cuda_free_bytes, host_available_bytes
from ftexp.memory.estimate import (
    SHARDING,
    MemoryEstimate,
    StepSetting,
    checkpointing,
    estimate_memory,
    gib,
    sharded,
    with_rows,
)
from ftexp.utils.compat import strategy_name

# what glibc's defaults keep, as RSS over the estimate (measured peaks: packed SFT 1.61x, the
# same with gradient checkpointing 2.8x, since its blocks are freed and made again within a step)
GLIBC_KEEPS = 1.7
GLIBC_KEEPS_CHECKPOINTED = 3.0


def check_memory(trainer: DictConfig, module: Any, data: Any) -> MemoryEstimate | None:
    """Estimate the run's peak per device; print it, and refuse it when it cannot fit."""
    mode = str(trainer.get("memory_check", "refuse"))
    setting = step_setting(trainer)
    if mode == "off":
        if not setting.on_cuda:
            _keep_heap_within(None, 0, module.speed)  # speed.give_back_memory=true still holds
        return None
    batch = worst_batch(data)
    estimate = estimate_memory(module, batch, setting)
    available, where = _available(setting)
    notes = "".join(f"; {note}" for note in estimate.notes)
    rank_zero_info(
        f"[ftexp] memory estimate: {gib(estimate.total)} GiB per device ({estimate.parts()}) "
        f"of {gib(available)} GiB available{notes}"
    )
    if not setting.on_cuda:
        _keep_heap_within(estimate, available, module.speed)
    if estimate.total <= available or _decided_by_another_rank(setting):
        return estimate
    fixes = "; ".join(fits(estimate, module, batch, setting, available, trainer)) or (
        "a device with more memory"
    )
    problem = (
        f"memory estimate {gib(estimate.total)} GiB per device ({estimate.parts()}) exceeds the "
        f"{gib(available)} GiB {where}; to fit: {fixes}"
    )
    if mode == "warn":
        rank_zero_warn(f"[ftexp] {problem}; going on (trainer.memory_check=warn)")
        return estimate
    raise RunError(f"{problem}; or trainer.memory_check=warn to try anyway")


def heap_gives_back(
    setting: bool | None, estimate: MemoryEstimate | None, available: int, checkpointed: bool
) -> bool:
    """Whether glibc should give each freed tensor back at once (``speed.give_back_memory``).

    ``None`` decides: yes where the estimate fits ``available`` but the estimate times what
    glibc's defaults keep on top of what a step holds would not (a run over the estimate is
    refused, or goes on by the user's choice as it is). No estimate
    (``trainer.memory_check=off``): only where asked.
    """
    if setting is not None:
        return setting
    if estimate is None:
        return False
    keeps = GLIBC_KEEPS_CHECKPOINTED if checkpointed else GLIBC_KEEPS
    return estimate.total <= available < estimate.total * keeps


def _keep_heap_within(estimate: MemoryEstimate | None, available: int, speed: Any) -> None:
    """On the CPU, switch glibc to giving freed tensors back where its keep would not fit."""
    from ftexp.memory.heap import give_back_freed_blocks

    chosen = speed.give_back_memory
    if not heap_gives_back(chosen, estimate, available, speed.gradient_checkpointing):
        return
    if not give_back_freed_blocks():
        return
    why = (
        "glibc's keep of freed memory would not fit; speed.give_back_memory=false keeps it"
        if chosen is None
        else "speed.give_back_memory=true"
    )
    rank_zero_info(f"[ftexp] memory: each freed tensor goes back to the OS at once, slower ({why})")


def step_setting(trainer: DictConfig) -> StepSetting:
    """What of the trainer group the estimate reads: precision, strategy, devices, accelerator."""
    accelerator = str(trainer.get("accelerator", "auto"))
    on_cuda = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    devices = trainer.get("devices", 1)
    if isinstance(devices, int):
        count = devices
    elif str(devices).isdigit():
        count = int(str(devices))
    elif on_cuda:
        count = torch.cuda.device_count()
    else:
        count = len(devices) if not isinstance(devices, str) else 1
    strategy = trainer.get("strategy", "auto")
    offloaded = isinstance(strategy, DictConfig) and bool(strategy.get("offload_optimizer"))
    return StepSetting(
        precision=str(trainer.get("precision", "32-true")),
        strategy=strategy_name(trainer),
        devices=count * int(trainer.get("num_nodes", 1) or 1),
        on_cuda=on_cuda,
        optimizer_offloaded=offloaded,
    )


def worst_batch(data: Any) -> dict[str, Any]:
    """The training batch of the longest examples: the step with the highest peak."""
    data.setup()
    examples = sorted(data.encoded["train"], key=data.length, reverse=True)
    rows: list[Any] = examples[: data.batch_size]
    if data.varies_per_draw:  # its training set yields (example, draw) pairs
        rows = [(example, draw) for draw, example in enumerate(rows)]
    return dict(data.collator(True)(rows))


def fits(
    estimate: MemoryEstimate,
    module: Any,
    batch: dict[str, Any],
    setting: StepSetting,
    available: int,
    trainer: DictConfig,
) -> list[str]:
    """The changes that would bring the estimate under ``available``, each with its estimate."""
    found = []
    accumulate = int(trainer.get("accumulate_grad_batches", 1) or 1)
    rows = estimate.rows
    while rows > 1:
        rows //= 2
        smaller = with_rows(estimate, rows)
        if smaller.total <= available:
            steps = accumulate * estimate.rows // rows
            found.append(
                f"data.batch_size={rows} trainer.accumulate_grad_batches={steps} "
                f"({gib(smaller.total)} GiB, the same effective batch)"
            )
            break
    if not module.speed.gradient_checkpointing:
        found += _with_checkpointing(estimate, module, batch, setting, available)
    frozen = replace(estimate, gradients=0, optimizer=0)
    if estimate.gradients > 0.1 * estimate.weights and frozen.total <= available:
        found.append(
            f"method=lora or method=qlora (under {gib(frozen.total)} GiB: no gradients or "
            "optimiser state for the frozen weights)"
        )
    visible = torch.cuda.device_count() if setting.on_cuda else 0
    if visible > 1 and not SHARDING.get(setting.strategy, SHARDING["ddp"]).weights:
        split = sharded(estimate, replace(setting, strategy="fsdp", devices=visible))
        if split.total <= available:
            found.append(
                f"trainer=fsdp trainer.devices={visible} ({gib(split.total)} GiB: weights, "
                "gradients and optimiser state split over the GPUs)"
            )
    return found


def _with_checkpointing(
    estimate: MemoryEstimate,
    module: Any,
    batch: dict[str, Any],
    setting: StepSetting,
    available: int,
) -> list[str]:
    """Gradient checkpointing, when the model supports it and it brings the step under."""
    try:
        with checkpointing(module, True):
            recomputed = estimate_memory(module, batch, setting)
    except Exception:  # a model without checkpointing support
        return []
    if recomputed.total > available or recomputed.activations >= 0.9 * estimate.activations:
        return []
    return [f"speed.gradient_checkpointing=true ({gib(recomputed.total)} GiB)"]


def _available(setting: StepSetting) -> tuple[int, str]:
    if setting.on_cuda:
        return cuda_free_bytes(), "free on this GPU"
    processes = setting.devices if setting.strategy in SHARDING else 1
    room = host_available_bytes() // max(processes, 1)
    shared = f" shared by {processes} processes" if processes > 1 else ""
    return room, f"of RAM this machine has free{shared}"


def _decided_by_another_rank(setting: StepSetting) -> bool:
    """On CPU rank 0 decides for the host (it checked the RAM all its processes share)."""
    return not setting.on_cuda and int(os.environ.get("LOCAL_RANK", "0")) > 0


def measured_against(
    estimate: MemoryEstimate | None, metrics: dict[str, float]
) -> dict[str, float]:
    """The estimate's figures and its ratio to the measured peak, for ``metrics.json``."""
    if estimate is None:
        return {}
    facts = estimate.facts()
    peak = metrics.get("memory/peak_gpu_mb") or metrics.get("memory/peak_rss_mb")
    if peak:
        facts["memory/estimate_over_peak"] = facts["memory/estimate_mb"] / peak
    return facts
