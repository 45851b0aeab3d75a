"""Devices asked for against what this machine has (a 64-process DDP on 2 cores hangs)."""

from __future__ import annotations

import os

from omegaconf import DictConfig


def device_problems(trainer: DictConfig) -> list[str]:
    """Problems of ``trainer.devices`` here; CPU counts need no torch, GPU counts import it."""
    devices, accelerator = trainer.get("devices", 1), str(trainer.get("accelerator", "auto"))
    if not isinstance(devices, int) or devices <= 0:
        return []  # "auto", a list of ids: Lightning resolves and checks those itself
    if accelerator != "cpu":
        import torch

        gpus = torch.cuda.device_count()
        if accelerator in ("gpu", "cuda") or gpus:
            if devices <= gpus:
                return []
            hint = "" if gpus else " and trainer.accelerator=cpu"
            return [
                f"trainer.devices={devices} but this machine has {gpus} CUDA GPU(s); "
                f"set trainer.devices<={max(gpus, 1)}{hint}"
            ]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if devices > (cores or 1):
        return [
            f"trainer.devices={devices} CPU processes but this machine has {cores} core(s); "
            f"set trainer.devices<={cores}"
        ]
    return []
