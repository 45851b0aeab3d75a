"""One run per run dir: a dir that holds a run is never reused, except to resume that run."""

from __future__ import annotations

import os
from pathlib import Path

from ftexp.errors import RunError

CLAIM = ".ftexp-run"
CLAIM_ENV = "FTEXP_CLAIMED_RUN_DIR"  # inherited by the DDP ranks this process launches


def claim_run_dir(out_dir: Path, resuming: bool) -> None:
    """Take ``out_dir`` for this run, atomically; refuse a dir that already holds another run.

    The claim is an exclusively created marker file, so of two runs started at once with the
    same dir exactly one wins. Ranks launched by this process (DDP) share its claim, and the
    processes of other nodes (``NODE_RANK``/``SLURM_PROCID`` > 0) join the dir node 0 claimed.
    """
    if os.environ.get(CLAIM_ENV) == str(out_dir.resolve()) or _joins_another_process():
        return
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if not resuming:
            raise RunError(
                f"{out_dir} already holds a run, and runs never overwrite each other; "
                f"choose another hydra.run.dir, or resume that run with "
                f"ckpt_path={out_dir}/checkpoints/last.ckpt"
            ) from None
    except OSError as err:
        raise RunError(
            f"cannot write the run dir {out_dir} ({err.strerror}); "
            "set hydra.run.dir (or FTEXP_OUTPUTS) to a writable folder"
        ) from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    os.environ[CLAIM_ENV] = str(out_dir.resolve())


def _joins_another_process() -> bool:
    """Whether this process is a further rank or node of a run another process started."""
    keys = ("NODE_RANK", "LOCAL_RANK", "SLURM_PROCID", "GROUP_RANK")
    return any(
        os.environ.get(key, "0").isdigit() and int(os.environ[key]) > 0
        for key in keys
        if key in os.environ
    )
