"""Experiment trackers around a run: who the run is (W&B, MLflow), resuming it, closing it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers import MLFlowLogger, WandbLogger
from omegaconf import DictConfig, OmegaConf, open_dict

from ftexp.infra.hydra_ddp import sweep_command_line

if TYPE_CHECKING:
    import lightning as L

MLFLOW_RUN = ".mlflow-run"  # the MLflow run id of this run dir, for resuming into it


def prepare(cfg: DictConfig, out_dir: Path, resuming: bool) -> None:
    """Fill the trackers' run identity from the job, and continue their runs on a resume."""
    loggers: Any = cfg.get("logger") or {}
    if loggers.get("wandb") is not None:
        _end_leftover_wandb_run()
        if resuming:
            _continue_wandb_run(loggers.wandb, out_dir)
        _name_wandb_run(cfg, loggers.wandb, out_dir)
    if loggers.get("mlflow") is not None:
        node = loggers.mlflow
        with open_dict(node):
            if node.get("run_name") is None:
                node.run_name = _job_name(out_dir)
            record = out_dir / MLFLOW_RUN
            if resuming and node.get("run_id") is None and record.is_file():
                node.run_id = record.read_text(encoding="utf-8").strip()


def log_config(trainer: L.Trainer, cfg: DictConfig, resuming: bool) -> None:
    """The whole resolved config as hyperparameters (W&B, TensorBoard, CSV, MLflow).

    MLflow keeps a run's params fixed, and a resumed run already has them (its ``ckpt_path``
    differs), so MLflow is skipped then.
    """
    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and getattr(logger, "_experiment", 1) is None:
            # also into wandb.init: the config is then part of the run record itself
            logger._wandb_init.setdefault("config", params)
        if not (resuming and isinstance(logger, MLFlowLogger)):
            logger.log_hyperparams(params)


def record(trainer: L.Trainer, out_dir: Path) -> None:
    """Note the MLflow run id in the run dir (rank 0), so a resume logs into the same run."""
    for logger in trainer.loggers:
        run_id = getattr(logger, "run_id", None) if isinstance(logger, MLFlowLogger) else None
        if run_id and trainer.is_global_zero:
            (out_dir / MLFLOW_RUN).write_text(str(run_id), encoding="utf-8")


def upload_model(trainer: L.Trainer, model_dir: Path) -> None:
    """Store the saved model folder with the trackers that keep artifacts (MLflow)."""
    for logger in trainer.loggers:
        if isinstance(logger, MLFlowLogger) and trainer.is_global_zero:
            logger.experiment.log_artifacts(logger.run_id, str(model_dir), artifact_path="model")


def close(trainer: L.Trainer, metrics: dict[str, float]) -> None:
    """Send the final metrics, then end W&B runs.

    The next job of a multirun runs in the same process and must start its own W&B run
    instead of appending to this one.
    """
    for logger in trainer.loggers:
        run = getattr(logger, "_experiment", None)
        summary = getattr(run, "summary", None)  # fast_dev_run's dummy logger has none
        if callable(getattr(summary, "update", None)) and callable(getattr(run, "finish", None)):
            summary.update(metrics)  # type: ignore[union-attr]
            run.finish()  # type: ignore[union-attr]


def _end_leftover_wandb_run() -> None:
    """End a W&B run an earlier job of this process left open (it crashed before ``close``).

    Lightning's logger would otherwise attach to it, and this job's config and metrics would
    land in the earlier job's run.
    """
    import sys

    wandb = sys.modules.get("wandb")
    leftover = getattr(wandb, "run", None) if wandb is not None else None
    if leftover is not None:
        leftover.finish(exit_code=1)


def _job_name(out_dir: Path) -> str:
    """A run's name for the trackers: the overrides that set it apart, else its dir name."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    return (_swept_overrides(hydra) if hydra is not None else "") or out_dir.name


def _name_wandb_run(cfg: DictConfig, node: DictConfig, out_dir: Path) -> None:
    """Fill unset W&B run identity from the job: a sweep is a group, the method the job type."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    with open_dict(node):
        if node.get("name") is None:
            node.name = _job_name(out_dir)
        if node.get("group") is None and hydra is not None and hydra.mode == RunMode.MULTIRUN:
            node.group = Path(hydra.sweep.dir).name
        if node.get("job_type") is None:
            choice = hydra.runtime.choices.get("method") if hydra is not None else None
            node.job_type = choice or str(cfg.method._target_).rsplit(".", 1)[-1].lower()


def _swept_overrides(hydra: Any) -> str:
    """The overrides that tell this job from the other jobs of its sweep (``method=lora``)."""
    from hydra.types import RunMode

    if hydra.mode != RunMode.MULTIRUN:
        return str(hydra.job.override_dirname)
    swept = set((hydra.sweeper.get("params") or {}).keys())
    for arg in sweep_command_line()[1:]:  # the command line's value lists: method=lora,full
        key, _, value = arg.partition("=")
        if ("," in value and not value.startswith(("[", "{"))) or value.startswith(
            ("range(", "choice(")
        ):
            swept.add(key.lstrip("+~"))
    own = [str(o).lstrip("+~") for o in hydra.overrides.task]
    return ",".join(o for o in own if o.partition("=")[0] in swept) or str(
        hydra.job.override_dirname
    )


def _continue_wandb_run(node: DictConfig, out_dir: Path) -> None:
    """A resumed run (``ckpt_path`` in its own run dir) logs into the W&B run it started."""
    if node.get("id"):
        return
    earlier = sorted((out_dir / "wandb").glob("*run-*-*"))
    if earlier:
        with open_dict(node):
            node.id = earlier[-1].name.rsplit("-", 1)[1]
            node.resume = "allow"
