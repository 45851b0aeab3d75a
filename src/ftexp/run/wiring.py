"""The one place that wires config groups into a training run."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, open_dict

from ftexp.checks.config_check import check_heavy, resolved
from ftexp.checks.trainer_settings import lightning_settings
from ftexp.data.module import DataModule
from ftexp.errors import ConfigError
from ftexp.infra import tracking
from ftexp.infra.cluster import requeued_checkpoint, restart_count
from ftexp.infra.console import facts_line, held_back_note
from ftexp.infra.sweep_resume import resumable_job
from ftexp.memory.check import check_memory, measured_against
from ftexp.methods.base import Method, save_labels
from ftexp.models.vocab import extend_tokenizer, save_new_rows
from ftexp.parts import Parts
from ftexp.run.checkpoint_io import use_atomic_checkpoints
from ftexp.run.eval_sets import evaluate, load_eval_sets
from ftexp.utils.io import atomic_write_text, replaced_dir
from ftexp.utils.run_dir import claim_run_dir

if TYPE_CHECKING:
    from torch import nn

    from ftexp.objectives.module import FinetuneModule


def instantiate_dict(node: DictConfig | None) -> list[Any]:
    """Instantiate every ``name: {_target_: ...}`` entry of a callbacks/logger group."""
    return [instantiate(v) for v in (node or {}).values() if v is not None and "_target_" in v]


def build(parts: Parts, cfg: DictConfig | None = None) -> tuple[Any, DataModule]:
    """The objective's LightningModule (weights not yet loaded) and the run's data module.

    The data (and any ``eval_sets`` of ``cfg``) is read and split here, before any weights
    load, so a data error costs seconds.
    """
    spec, objective, data = parts.model, parts.objective, parts.data
    data.connect(spec.load_processor())
    data.load()
    added = extend_tokenizer(spec, data.processor, data.train_texts())
    sets = load_eval_sets(cfg or {}, data.class_names(), data.processor)
    module = objective.module_class()(
        spec=spec,
        method=parts.method,
        optim=parts.optim,
        objective=objective,
        task=objective.model_task(data),
        speed=parts.speed,
        labels=data.class_names(),
        processor=data.processor,
        new_tokens=added,
    )
    if sets and not callable(getattr(module, "score", None)):
        name = type(objective).__name__
        raise ConfigError([f"eval_sets score classifiers; objective {name} is not one"])
    module.eval_sets = sets
    return module, DataModule(data, batch_repeats=objective.batch_repeats)


def train(cfg: DictConfig, checked: Parts | None = None) -> dict[str, float]:
    """Validate, build, fit, test on the best checkpoint, save; return the final metrics.

    ``checked``: the parts the command line already built and checked (light phase).
    """
    started = time.perf_counter()
    parts = check_heavy(cfg, checked)  # raises ConfigError before any weights load
    module, data = build(parts, cfg)  # reads the data: a DataError stops here, before the run dir
    estimate = check_memory(cfg.trainer, module, data.data)  # refuses what cannot fit
    method = parts.method
    out_dir = Path(cfg.paths.output_dir)
    _resume_if_requeued(cfg, out_dir)
    sweep_checkpoint, sweep_job_began = resumable_job(cfg)
    if sweep_checkpoint is not None:
        with open_dict(cfg):
            cfg.ckpt_path = str(sweep_checkpoint)
    # a requeued SLURM job or a rerun sweep's job goes on in its own dir, checkpoint or not
    again = restart_count() > 0 or sweep_job_began
    claim_run_dir(out_dir, resuming=_resumes_own_run(cfg, out_dir) or again)
    atomic_write_text(out_dir / "config.yaml", resolved(cfg))
    L.seed_everything(cfg.seed, workers=True)

    tracking.prepare(cfg, out_dir, resuming=_resumes_own_run(cfg, out_dir))
    loggers = instantiate_dict(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        lightning_settings(cfg.trainer),
        callbacks=[
            *_callbacks(cfg, logged=bool(loggers)),
            *method.callbacks(),
            *parts.speed.callbacks(),
        ],
        logger=loggers or False,
    )
    use_atomic_checkpoints(trainer)
    tracking.log_config(trainer, cfg, resuming=_resumes_own_run(cfg, out_dir))
    tracking.record(trainer, out_dir)
    fits = bool(cfg.get("train")) and parts.objective.trains
    if fits:
        trainer.fit(module, datamodule=data, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if cfg.get("test"):
        ckpt = _best_checkpoint(trainer) if fits else cfg.get("ckpt_path")
        tested = trainer.test(module, datamodule=data, ckpt_path=ckpt, weights_only=False)
        metrics.update({k: float(v) for k, v in tested[0].items()})
        module.write_figures(out_dir)
        metrics.update(evaluate(module, module.eval_sets))
    if cfg.get("save_model"):
        exported = module.exportable_model()  # under FSDP2 a collective: every rank calls it
        if exported is not None:
            new_rows = module.first_new_row if module.new_tokens else None
            save_model(exported, module.method, data, out_dir / "model", new_rows)
            if cfg.get("upload_model"):
                tracking.upload_model(trainer, out_dir / "model")
    if cfg.get("test"):
        metrics.update(_test_converted(module, trainer, data))
    metrics.update(_run_facts(module, trainer, started))
    metrics.update(measured_against(estimate, metrics))
    metrics.update({f"data/dropped_{k}": v for k, v in data.data.dropped.items() if v})
    if trainer.is_global_zero:
        atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
        rank_zero_info(facts_line(metrics))
        rank_zero_info(f"[ftexp] run dir: {out_dir}")
        if note := held_back_note(str(out_dir / "__main__.log")):
            rank_zero_info(note)
    tracking.close(trainer, metrics)
    return metrics


def _callbacks(cfg: DictConfig, logged: bool) -> list[Any]:
    """The run's callbacks; without a logger (``~logger``) no learning-rate monitor.

    It would have nowhere to write, and Lightning stops the run for it at the first step.
    """
    callbacks = instantiate_dict(cfg.get("callbacks"))
    return [c for c in callbacks if logged or not isinstance(c, LearningRateMonitor)]


def _resumes_own_run(cfg: DictConfig, out_dir: Path) -> bool:
    """Whether the run continues from a checkpoint inside its own run dir."""
    ckpt = cfg.get("ckpt_path")
    return bool(ckpt) and out_dir.resolve() in Path(str(ckpt)).resolve().parents


def _resume_if_requeued(cfg: DictConfig, out_dir: Path) -> None:
    """A SLURM job that was requeued (preempted, timed out) resumes from its ``last.ckpt``."""
    if cfg.get("ckpt_path"):
        return
    checkpoint = requeued_checkpoint(out_dir)
    if checkpoint:
        rank_zero_info(f"[ftexp] requeued SLURM job: resuming from {checkpoint}")
        with open_dict(cfg):
            cfg.ckpt_path = checkpoint


def save_model(
    model: nn.Module,
    method: Method,
    data: DataModule,
    model_dir: Path,
    first_new_row: int | None = None,
) -> None:
    """Save the fine-tuned model in HF/PEFT format with its processor (tokenizer).

    Written into a temporary folder that replaces ``model_dir`` only once complete, so a run
    killed while saving leaves the previous model folder intact. An adapter holds no embeddings:
    the rows of tokens added to the vocabulary (from ``first_new_row`` on) are saved beside it.
    """
    with replaced_dir(model_dir) as tmp:
        method.save(model, tmp)
        if first_new_row is not None and method.saves_adapter:
            save_new_rows(model, tmp, first_new_row)
        data.data.processor.save_pretrained(tmp)
        labels = data.data.class_names()
        if labels is not None:
            save_labels(labels, tmp)


def _test_converted(module: FinetuneModule, trainer: L.Trainer, data: Any) -> dict[str, float]:
    """Test the method's deployment form (e.g. QAT's real int weights) as ``converted/*``."""
    assert module.model is not None  # built in configure_model, before any test
    converted = module.method.convert(module.model)
    if converted is None:
        return {}
    module.model = converted
    tested = trainer.test(module, datamodule=data)
    return {f"converted/{k}": float(v) for k, v in tested[0].items()}


def _best_checkpoint(trainer: L.Trainer) -> str | None:
    callback = trainer.checkpoint_callback
    if isinstance(callback, ModelCheckpoint) and callback.best_model_path:
        return callback.best_model_path
    rank_zero_info("[ftexp] no best checkpoint; testing the final weights")
    return None


def _run_facts(module: FinetuneModule, trainer: L.Trainer, started: float) -> dict[str, float]:
    facts: dict[str, float] = dict(module.param_counts)
    facts["time/wall_s"] = time.perf_counter() - started
    facts["trainer/global_step"] = trainer.global_step
    facts["trainer/epochs"] = trainer.current_epoch
    callback = trainer.checkpoint_callback
    if isinstance(callback, ModelCheckpoint) and callback.best_model_score is not None:
        facts["best/" + str(callback.monitor)] = float(callback.best_model_score)
    for callback in trainer.callbacks:  # e.g. ResourceMonitor: peak memory, throughput
        if callable(getattr(callback, "facts", None)):
            facts.update(callback.facts())
    facts["threads"] = torch.get_num_threads()
    return {k: v for k, v in facts.items() if not (isinstance(v, float) and math.isnan(v))}
