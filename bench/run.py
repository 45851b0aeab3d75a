"""``make bench``: ftexp vs HF Trainer + PEFT vs a bare PyTorch loop, side by side.

    python bench/run.py cpu            # MiniLM + LoRA, sentiment, one epoch (CPU)
    python bench/run.py gpu            # 1.1B Llama, seq 2048, batch 4, bf16: LoRA, full, QLoRA
    python bench/run.py sft            # SmolLM2-135M + LoRA SFT on chat: ftexp vs TRL's SFTTrainer

Each runner is its own process. Prints a markdown table and writes JSON with every figure and
the ratios ftexp / HF Trainer and ftexp / bare loop (ratios, not absolute times: machines are
noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
METHOD_KEYS = {  # ftexp overrides per method so every runner trains the same thing
    "lora": ["method.dropout=0.0", "method.modules_to_save=[]", "method.lr=1e-4"],
    "full": ["method.lr=1e-5"],
    "qlora": [
        "method.dropout=0.0",
        "method.modules_to_save=[]",
        "method.lr=1e-4",
        "method.compute_dtype=bfloat16",
    ],
}
SUITES: dict[str, list[tuple[str, str, list[str]]]] = {
    # (case, runner, extra args)
    "cpu": [
        ("cpu_lora", "ftexp", ["experiment=bench_cpu"]),
        ("cpu_lora", "hf_trainer", []),
        ("cpu_lora", "hf_trainer_grouped", ["--group-by-length"]),
        ("cpu_lora", "bare_loop", []),
    ],
    "gpu": [
        *[
            (f"gpu_{m}", "ftexp", ["experiment=bench_gpu", f"method={m}", *METHOD_KEYS[m]])
            for m in ("lora", "full", "qlora")
        ],
        ("gpu_lora", "hf_trainer", []),
        ("gpu_full", "hf_trainer", []),
        ("gpu_qlora", "hf_trainer", []),
        ("gpu_lora", "bare_loop", ["--liger"]),
        ("gpu_full", "bare_loop", ["--liger"]),
    ],
    "sft": [
        *[
            (case, runner, ["experiment=bench_sft", f"data.packing={packed}", *speed])
            for case, packed in (("cpu_sft_padded", "false"), ("cpu_sft_packed", "true"))
            for runner, speed in (
                ("ftexp", []),
                ("ftexp_checkpointing", ["speed.gradient_checkpointing=true"]),
            )
        ],
        *[  # the packed case's allocator keep handed back (speed.give_back_memory)
            (
                "cpu_sft_packed",
                f"ftexp{name}_give_back_memory",
                ["experiment=bench_sft", "data.packing=true", "speed.give_back_memory=true", *more],
            )
            for name, more in (("", []), ("_checkpointing", ["speed.gradient_checkpointing=true"]))
        ],
        *[
            (case, runner, extra)
            for case in ("cpu_sft_padded", "cpu_sft_packed")
            for runner, extra in (("trl", []), ("trl_no_checkpointing", ["--no-checkpointing"]))
        ],
    ],
}
# the peer runners' scripts, by the prefix of the runner's name
RUNNER_SCRIPTS = (
    ("hf_trainer", "hf_trainer.py"),
    ("trl", "trl_sft.py"),
    ("bare_loop", "bare_loop.py"),
)
FTEXP_KEYS = {
    "speed/train_samples_per_s": "samples_per_s",
    "speed/train_tokens_per_s": "tokens_per_s",
    "speed/mfu": "mfu",
    "speed/model_tflops_per_s": "model_tflops_per_s",
    "speed/peak_tflops": "peak_tflops",
    "speed/timed_steps": "timed_steps",
    "memory/peak_gpu_mb": "peak_gpu_mb",
    "memory/peak_rss_mb": "peak_rss_mb",
    "test/acc": "test_acc",
    "test/loss": "test_loss",
    "memory/estimate_mb": "estimate_mb",
}


def run_one(
    case: str, runner: str, extra: list[str], work: Path, timeout_s: float | None = None
) -> dict[str, Any]:
    """Run one runner in a fresh process; return its result record."""
    out = work / f"{case}-{runner}.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE.parent / "src"), env.get("PYTHONPATH")])
    )
    started = time.perf_counter()
    if runner.startswith("ftexp"):
        run_dir = work / f"{case}-{runner}"
        cmd = [
            sys.executable,
            "-m",
            "ftexp",
            *extra,
            f"paths.output_dir={run_dir}",
            f"hydra.run.dir={run_dir}",
        ]
    else:
        script = next(file for prefix, file in RUNNER_SCRIPTS if runner.startswith(prefix))
        cmd = [sys.executable, str(HERE / script), case, "--out", str(out), *extra]
    log = work / f"{case}-{runner}.log"
    with log.open("w") as handle:
        try:
            code = subprocess.call(
                cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            code = 124
    wall = time.perf_counter() - started
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        print(f"[bench] {case}/{runner} failed (exit {code}):\n{tail}", file=sys.stderr)
        return {"case": case, "runner": runner, "error": f"exit {code}", "wall_s": wall}
    if runner.startswith("ftexp"):
        metrics = json.loads((work / f"{case}-{runner}" / "metrics.json").read_text())
        record = {new: metrics[old] for old, new in FTEXP_KEYS.items() if old in metrics}
    else:
        record = json.loads(out.read_text())
        record.pop("case", None)
    record.update({"case": case, "runner": runner, "wall_s": wall})
    print(f"[bench] {case}/{runner}: {_short(record)}", flush=True)
    return record


def _short(record: dict[str, Any]) -> str:
    keys = ("samples_per_s", "tokens_per_s", "mfu", "peak_gpu_mb", "test_acc", "wall_s")
    return ", ".join(f"{k}={record[k]:.4g}" for k in keys if k in record)


def ratios(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per case: ftexp throughput over each baseline's (>1 = ftexp faster)."""
    out: dict[str, dict[str, float]] = {}
    for case in sorted({r["case"] for r in records}):
        rows = {r["runner"]: r for r in records if r["case"] == case and "tokens_per_s" in r}
        for mine, ftexp in rows.items():
            if not mine.startswith("ftexp"):
                continue
            for name, row in rows.items():
                if name.startswith("ftexp"):
                    continue
                speedup = ftexp["tokens_per_s"] / row["tokens_per_s"]
                out.setdefault(case, {})[f"{mine}/{name} tokens_per_s"] = speedup
                out[case][f"{mine}/{name} train_time"] = 1 / speedup
    return out


COLUMNS = [  # (header, record key, format)
    ("samples/s", "samples_per_s", ".1f"),
    ("tokens/s", "tokens_per_s", ",.0f"),
    ("MFU", "mfu_vs_suite_peak", ".3f"),
    ("peak GPU MiB", "peak_gpu_mb", ",.0f"),
    ("peak RSS MiB", "peak_rss_mb", ",.0f"),
    ("test acc", "test_acc", ".3f"),
    ("test loss", "test_loss", ".4f"),
    ("wall s", "wall_s", ".0f"),
]


def add_suite_mfu(records: list[dict[str, Any]]) -> float | None:
    """MFU of every record against the highest matmul ceiling measured in the suite.

    Each process measures its own ceiling, and those readings scatter by ~10%; one shared
    denominator keeps the rows comparable.
    """
    peaks = [r["peak_tflops"] for r in records if r.get("peak_tflops")]
    if not peaks:
        return None
    for r in records:
        if "model_tflops_per_s" in r:
            r["mfu_vs_suite_peak"] = r["model_tflops_per_s"] / max(peaks)
    return max(peaks)


def table(records: list[dict[str, Any]]) -> str:
    """Markdown table of every record."""
    lines = [
        "| case | runner | " + " | ".join(h for h, _, _ in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for r in records:
        cells = [format(r[key], fmt) if key in r else "-" for _, key, fmt in COLUMNS]
        lines.append(f"| {r['case']} | {r['runner']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run a suite; print the table and ratios; write JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument(
        "--out", default=None, help="JSON path (default bench/results/<suite>.json)"
    )
    parser.add_argument("--only", default=None, help="comma-separated runner names")
    parser.add_argument("--cases", default=None, help="comma-separated case names")
    parser.add_argument("--work", default=None, help="keep run dirs and logs here")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per runner")
    args = parser.parse_args()
    out = Path(args.out or HERE / "results" / f"{args.suite}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    cases = set(args.cases.split(",")) if args.cases else None
    records = []
    with tempfile.TemporaryDirectory(prefix="ftexp-bench-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for case, runner, extra in SUITES[args.suite]:
            if (only is None or runner in only) and (cases is None or case in cases):
                records.append(run_one(case, runner, extra, work, args.timeout))
    suite_peak = add_suite_mfu(records)
    summary = {
        "suite": args.suite,
        "records": records,
        "ratios": ratios(records),
        "machine": _machine(),
        "suite_peak_tflops": suite_peak,
    }
    out.write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(table(records))
    print(json.dumps(summary["ratios"], indent=2))
    print(f"[bench] wrote {out}")


def _machine() -> dict[str, Any]:
    import platform

    import torch

    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


if __name__ == "__main__":
    main()
