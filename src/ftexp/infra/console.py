"""What a run prints: ftexp's own lines on the console, every library message in the log file.

Hydra's job logging (``conf/train.yaml``) gives the console handler the ``Essentials`` filter
and the file handler (``<run dir>/__main__.log``) everything. Light: no torch import.
"""

from __future__ import annotations

import logging

PREFIXES = ("[ftexp]", "[study]")  # lines ftexp itself logs, through any logger
LOG = logging.getLogger("ftexp")


class Essentials(logging.Filter):
    """Pass ftexp's own lines and every error; count what it keeps off the console."""

    held_back = 0  # across instances: one console handler per process

    def filter(self, record: logging.LogRecord) -> bool:
        """True for ftexp's lines (its loggers or its prefixes) and for errors."""
        ours = record.name.startswith("ftexp") or str(record.msg).startswith(PREFIXES)
        if ours or record.levelno >= logging.ERROR:
            return True
        if record.levelno >= logging.WARNING:
            Essentials.held_back += 1
        return False


def route_library_output() -> None:
    """Send Python warnings and torch's own log lines through logging (so to the log file).

    Torch, transformers and Lightning give their loggers console handlers of their own; they
    are routed to the root logger instead, whose handlers Hydra set up with the filter above.
    """
    logging.captureWarnings(True)
    for name in ("torch", "transformers", "lightning", "lightning.pytorch", "lightning.fabric"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_default_handler()  # its own stderr handler
    transformers_logging.enable_propagation()


def quiet_libraries() -> None:
    """A side command's console: the libraries' errors only, no load reports or notes.

    No progress bars either. Loading a run's base model, transformers reports its classifier
    as newly initialised just before the run's trained head loads over it: true of the base,
    misleading about the run.
    """
    import warnings

    from transformers.utils import logging as transformers_logging

    for name in ("torch", "bitsandbytes", "peft", "torchao"):
        logging.getLogger(name).setLevel(logging.ERROR)

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    for notice in (FutureWarning, DeprecationWarning):  # the libraries' notes to their callers
        warnings.simplefilter("ignore", notice)


def held_back_note(log_file: str) -> str:
    """``[ftexp] 7 library warnings in <file>``, or nothing when none were held back."""
    count = Essentials.held_back
    return f"[ftexp] {count} library warning(s) kept in {log_file}" if count else ""


def choices_line(choices: dict[str, str | None]) -> str:
    """``[ftexp] model=minilm method=lora data=sentiment ...``: what Hydra composed."""
    shown = ("experiment", "model", "method", "objective", "data", "trainer")
    return "[ftexp] " + " ".join(f"{g}={choices[g]}" for g in shown if choices.get(g))


def facts_line(metrics: dict[str, float]) -> str:
    """``[ftexp] 7.9 min, 412 samples/s, peak memory 2,345 MiB (RSS)``: the run's cost."""
    seconds = metrics.get("time/wall_s", 0.0)
    parts = [f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"]
    if "speed/train_samples_per_s" in metrics:
        parts.append(f"{metrics['speed/train_samples_per_s']:,.0f} training samples/s")
    for key, kind in (("memory/peak_gpu_mb", "GPU"), ("memory/peak_rss_mb", "RSS")):
        if metrics.get(key):
            parts.append(f"peak memory {metrics[key]:,.0f} MiB ({kind})")
            break
    return "[ftexp] " + ", ".join(parts)
