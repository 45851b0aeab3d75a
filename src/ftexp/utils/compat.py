"""Which method x strategy x device combinations cannot work, decided from the config alone."""

from __future__ import annotations

import importlib.util
from typing import Any

import torch
from omegaconf import DictConfig


def strategy_name(trainer: DictConfig) -> str:
    """A short name for the strategy: ``ddp``, ``fsdp``, ``deepspeed_stage_3``, ``auto``..."""
    strategy = trainer.get("strategy", "auto")
    if isinstance(strategy, DictConfig):
        target = str(strategy.get("_target_", ""))
        if target.endswith("DeepSpeedStrategy"):
            return f"deepspeed_stage_{strategy.get('stage', 2)}"
        if target.endswith("ModelParallelStrategy"):  # trainer=fsdp: FSDP2 via fully_shard
            return "fsdp"
        if target.endswith("DDPStrategy"):
            return "ddp"
        return target.rsplit(".", 1)[-1]
    return str(strategy)


def strategy_problems(cfg: DictConfig, method: Any, objective: Any = None) -> list[str]:
    """Problems of running ``method`` and ``objective`` under the configured strategy here."""
    trainer = cfg.get("trainer")
    if trainer is None:
        return []
    name = strategy_name(trainer)
    issues = []
    refusal = method.incompatible_strategies.get(name)
    if refusal:
        issues.append(f"method {type(method).__name__} with trainer strategy {name}: {refusal}")
    refusal = None if objective is None else objective.incompatible_strategies.get(name)
    if refusal:
        issues.append(
            f"objective {type(objective).__name__} with trainer strategy {name}: {refusal}"
        )
    sharded = name == "fsdp" or name.startswith("deepspeed")
    if sharded and (cfg.get("optim") or {}).get("new_rows_lr") is not None:
        issues.append(
            f"optim.new_rows_lr with trainer strategy {name}: the added rows' rate is set "
            "inside the embedding matrix, which this strategy shards; use trainer=ddp"
        )
    if name.startswith("deepspeed"):
        if importlib.util.find_spec("deepspeed") is None:
            issues.append("trainer=deepspeed_* needs `pip install deepspeed`")
        if trainer.get("accelerator") == "cpu" or not torch.cuda.is_available():
            issues.append(
                f"{name} needs CUDA GPUs (Lightning's DeepSpeed strategy refuses CPU); "
                "on CPU use trainer=ddp trainer.accelerator=cpu"
            )
    return issues
