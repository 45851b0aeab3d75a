"""``make bench-refusals``: seconds from ``python -m ftexp <bad input>`` to its exit-2 refusal.

    python bench/refusals.py            # writes bench/results/refusals.json and prints a table

Each case runs in a fresh process on the tiny model and the fixture data, three times; the
median wall time is reported. A benchmark, not a test: the tests check the messages and exit
codes (``tests/integration/test_refusals.py``); this measures how fast they come.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "sentiment_tiny.csv"
TINY = [
    "model=tiny_bert",
    "data=local",
    f"data.path={FIXTURE}",
    "data.labels=[neg,pos]",
    "trainer.accelerator=cpu",
]
CASES = {  # class of mistake -> arguments
    "config value out of range": ["method.r=0"],
    "value of the wrong type": ["optim.lr=abc"],
    "objective/data mismatch": ["objective=dpo", "data=sentiment"],
    "max_length beyond the model": ["data.max_length=4096"],
    "more CPU processes than cores": ["trainer=ddp", "trainer.devices=64"],
    "label outside data.labels": ["data.path={tmp}/bad_label.csv"],
    "one class in train": ["data.path={tmp}/one_class.csv"],
    "LoRA target matching no layer": ["method.target_modules=[qkv]"],
    "corrupt checkpoint": ["ckpt_path={tmp}/bad.ckpt"],
}


def refusal_seconds(args: list[str], tmp: Path, repeats: int = 3) -> tuple[float, int]:
    """Median seconds to the refusal, and the exit code."""
    times, code = [], 0
    for i in range(repeats):
        argv = [a.format(tmp=tmp) for a in args] + [f"hydra.run.dir={tmp}/run{i}-{time.time_ns()}"]
        base = TINY if not any(a.startswith("data=") for a in args) else TINY[:1] + TINY[4:]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ftexp", *base, *argv], capture_output=True, text=True
        )
        times.append(time.perf_counter() - started)
        code = done.returncode
    return statistics.median(times), code


def main() -> None:
    """Measure every case and write ``bench/results/refusals.json``."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "bad_label.csv").write_text("text,label\na,neg\nb,pos\nc,meh\n")
        (tmp / "one_class.csv").write_text(
            "text,label\n" + "".join(f"t{i},pos\n" for i in range(30))
        )
        (tmp / "bad.ckpt").write_text("not a checkpoint")
        results = {}
        for case, args in CASES.items():
            seconds, code = refusal_seconds(args, tmp)
            results[case] = {"seconds": round(seconds, 2), "exit_code": code}
            print(f"| {case} | {seconds:.1f} s | {code} |", flush=True)
    out = HERE / "results" / "refusals.json"
    machine = {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    out.write_text(json.dumps({"machine": machine, "cases": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
