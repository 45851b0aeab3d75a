"""What a reference model costs: DPO and KTO against the reference-free ORPO and SimPO.

    python bench/preference.py                       # SmolLM2-135M, full and LoRA, 6 steps
    python bench/preference.py --model tiny_llama    # seconds, for a check of the script

Each (objective, method) runs in its own process, built as ``python -m ftexp`` builds it, on the
same preference batches: the training step (forward passes, backward, AdamW) is timed after a
warm-up, the peak RSS is the process's, and the memory estimate's parts (reference copy,
activations) come from ftexp's own estimate. Ratios are against DPO with the same method,
measured in the same run. Writes bench/results/preference.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

OBJECTIVES = ("dpo", "kto", "orpo", "simpo")
METHODS = ("full", "lora")
MIB = 2**20


def worker(model: str, objective: str, method: str, steps: int, batch_size: int) -> dict[str, Any]:
    """One case in this process: its step time, peak RSS and memory estimate."""
    import torch
    from hydra import compose, initialize_config_module

    from ftexp.checks.config_check import check_heavy
    from ftexp.memory.check import worst_batch
    from ftexp.memory.estimate import StepSetting, estimate_memory
    from ftexp.run.wiring import build

    overrides = [
        f"model={model}",
        f"objective={objective}",
        f"method={method}",
        "data=preference",
        f"data.batch_size={batch_size}",
        f"data.max_samples={batch_size * (steps + 2) * 10}",
        "paths.output_dir=/tmp/ftexp-bench-preference",
    ]
    with initialize_config_module("ftexp.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    torch.manual_seed(0)
    module, data = build(check_heavy(cfg))
    estimate = estimate_memory(module, worst_batch(data.data), StepSetting())
    data.setup()
    module.configure_model()
    module.train()
    trained = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=1e-5)
    loader = iter(data.train_dataloader())
    batches = [next(loader) for _ in range(steps + 2)]
    seconds = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        module.step(batch, "train").backward()
        optimizer.step()
        optimizer.zero_grad()
        if i >= 2:  # the first two warm up allocators and kernels
            seconds.append(time.perf_counter() - start)
    return {
        "objective": objective,
        "method": method,
        "step_s": sum(seconds) / len(seconds),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "estimate_mib": estimate.total / MIB,
        "estimate_reference_mib": estimate.reference / MIB,
        "estimate_activations_mib": estimate.activations / MIB,
    }


def main() -> None:
    """Run every case in its own process; print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "preference.json")
    parser.add_argument("--worker", nargs=2, metavar=("OBJECTIVE", "METHOD"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.model, *args.worker, args.steps, args.batch_size)))
        return
    rows = []
    for method in METHODS:
        for objective in OBJECTIVES:
            command = [sys.executable, __file__, "--model", args.model, "--steps", str(args.steps)]
            command += ["--batch-size", str(args.batch_size), "--worker", objective, method]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    for row in rows:
        peer = next(r for r in rows if r["method"] == row["method"] and r["objective"] == "dpo")
        row["step_vs_dpo"] = row["step_s"] / peer["step_s"]
        row["peak_rss_vs_dpo"] = row["peak_rss_mib"] / peer["peak_rss_mib"]
    print(
        "| method | objective | step s | x DPO | peak RSS MiB | x DPO | estimate MiB (reference) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['objective']} | {r['step_s']:.2f} | {r['step_vs_dpo']:.2f} "
            f"| {r['peak_rss_mib']:.0f} | {r['peak_rss_vs_dpo']:.2f} "
            f"| {r['estimate_mib']:.0f} ({r['estimate_reference_mib']:.0f}) |"
        )
    setting = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size}
    args.out.write_text(json.dumps({"setting": setting, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
