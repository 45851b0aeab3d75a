"""Bad input, as users really type it, is refused cleanly: exit 2, one message, no traceback.

Each row runs the real command line next to an earlier finished run and checks that the
refusal names the problem, shows no traceback, and leaves the earlier run's files unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TINY, TINY_CSV, refused, run_ftexp

CHAT = FIXTURES / "chat_tiny.yml"

Row = Callable[[Path, Path], list[str]]  # (scratch dir, earlier run dir) -> CLI arguments


def _csv(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _gz_truncated(tmp: Path) -> str:
    path = tmp / "cut.csv.gz"
    data = gzip.compress(TINY_CSV.read_bytes())
    path.write_bytes(data[: len(data) // 2])
    return str(path)


def _config_only_folder(tmp: Path) -> str:
    """A model folder whose weights never arrived: config.json and tokenizer files only."""
    folder = tmp / "half-copied-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n", encoding="utf-8")
    return str(folder)


def _relabelled(tmp: Path) -> list[str]:
    """An eval set whose label 'bad' maps onto none of the model's classes."""
    path = _csv(tmp, "renamed.csv", TINY_CSV.read_text().replace(",neg\n", ",bad\n"))
    node = "+eval_sets.renamed"
    return [
        f"{node}.data._target_=ftexp.data.classification.ClassificationData",
        f"{node}.data.path={path}",
        f"{node}.data.labels=[bad,pos]",
    ]


NO_LOGINS = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"} | {
    "NETRC": "/nonexistent/.netrc"
}
HUGE_BERT = [
    "model.hidden_size=16384",
    "model.intermediate_size=65536",
    "model.num_heads=16",
    "model.num_layers=8",
]
ONE_CLASS = "".join(f"t{i},pos\n" for i in range(30))
BAD_TAGS = "Paris\tB-LOC\nx\tE-LOC\n"  # E- is not a BIO prefix
# (id, arguments, words the message must contain)
ROWS: list[tuple[str, Row, list[str]]] = [
    ("range", lambda t, r: ["method.r=0"], ["method.r must be > 0"]),
    ("unknown-option", lambda t, r: ["method=lorra"], ["did you mean method=lora?", "full"]),
    ("unknown-key", lambda t, r: ["trainer.max_epoch=3"], ["did you mean trainer.max_epochs=3?"]),
    ("misspelt-key", lambda t, r: ["method.rr=8"], ["method.rr is not a setting", "method.r=8?"]),
    ("misspelt-group", lambda t, r: ["metod=lora"], ["did you mean method=lora?"]),
    ("needless-append", lambda t, r: ["+method.r=8"], ["without the +: method.r=8"]),
    ("type", lambda t, r: ["optim.lr=abc"], ["optim.lr must be a number", "'abc'"]),
    ("typo", lambda t, r: ["+method.rnak=4"], ["did you mean method.r?"]),
    (
        "objective-data",
        lambda t, r: ["objective=dpo", "data=sentiment"],
        ["objective=dpo cannot train on data=sentiment", "data options that fit", "preference"],
    ),
    (
        "dpo-loss-type",
        lambda t, r: ["objective=dpo", "objective.loss_type=sigmiod"],
        ["objective.loss_type must be one of sigmoid, hinge, ipo", "'sigmiod'"],
    ),
    (
        "reward-fields",
        lambda t, r: ["objective=rloo", "data=review_prompts", "model=tiny_llama"],
        ["reads the example fields ['answer']", "data=arithmetic"],
    ),
    (
        "objective-data-2",
        lambda t, r: ["objective=classify", "data=chat", f"data.path={CHAT}"],
        ["objective=classify cannot train on data=chat", "local, sentiment"],
    ),
    (
        "two-sources",
        lambda t, r: ["data=sentiment", f"data.path={TINY_CSV}", "data.hub_id=someone/reviews"],
        ["data.path and data.hub_id are both set", "data.path=null or data.hub_id=null"],
    ),
    (
        "multitask-weighting",
        lambda t, r: ["objective=multitask", "+objective.weighting.alpha.sentiment=1.0"],
        ["objective.weighting.alpha names ['sentiment']", "['classify', 'mlm']"],
    ),
    (
        "multitask-model",
        lambda t, r: ["objective=multitask", "model=tiny_llama"],
        ["needs a model that can load a masked language model"],
    ),
    (
        "vocab-file",
        lambda t, r: ["model.extend_vocab=/no/such/vocab.txt"],
        ["model.extend_vocab='/no/such/vocab.txt' is neither a vocabulary file", "from_data"],
    ),
    (
        "ner-tag",
        lambda t, r: [
            "objective=token_classify",
            "data=ner_en",  # the user's path replaces the option's artifact
            f"data.path={_csv(t, 'ner.txt', BAD_TAGS)}",
        ],
        ["ner.txt, line 2", "not BIO tags", "data.scheme"],
    ),
    (
        "objective-model",
        lambda t, r: ["objective=sft", "data=synthetic_lm"],  # on model=tiny_bert
        ["load_causal_lm", "model=tiny_bert"],
    ),
    (
        "max-length",
        lambda t, r: ["data.max_length=4096"],
        ["data.max_length=4096 exceeds the model's 128 position embeddings"],
    ),
    (
        "lora-targets",
        lambda t, r: ["method.target_modules=[qkv]"],
        ["['qkv'] match no layer of this model", "query"],
    ),
    (
        "ckpt-missing",
        lambda t, r: [f"ckpt_path={t}/nope.ckpt"],
        ["nope.ckpt does not exist"],
    ),
    (
        "ckpt-corrupt",
        lambda t, r: [f"ckpt_path={_csv(t, 'bad.ckpt', 'not a checkpoint')}"],
        ["is not a readable checkpoint"],
    ),
    (
        "ckpt-other-method",
        lambda t, r: [f"ckpt_path={r}/checkpoints/last.ckpt", "method=full"],
        ["was written by method LoRA, but this run uses Full"],
    ),
    (
        "devices",
        lambda t, r: ["trainer=ddp", "trainer.devices=64"],
        ["trainer.devices=64 CPU processes but this machine has"],
    ),
    (
        "label",
        lambda t, r: ["data.path=" + _csv(t, "l.csv", "text,label\na,neg\nb,pos\nc,meh\n")],
        ["l.csv, line 4: label 'meh' is not one of ['neg', 'pos']"],
    ),
    (
        "truncated-gz",
        lambda t, r: [f"data.path={_gz_truncated(t)}"],
        ["cut.csv.gz", "truncated or corrupt"],
    ),
    (
        "single-class",
        lambda t, r: ["data.path=" + _csv(t, "one.csv", "text,label\n" + ONE_CLASS)],
        ["single class"],
    ),
    (
        "empty-cell",
        lambda t, r: ["data.path=" + _csv(t, "e.csv", "text,label\na,neg\n,pos\nb,pos\n")],
        ["e.csv, line 3", "cell is empty", "data.skip_empty=true"],
    ),
    (
        "missing-file",
        lambda t, r: ["data.path=/nonexistent/reviews.csv"],
        ["/nonexistent/reviews.csv does not exist"],
    ),
    (
        "precision",
        lambda t, r: ["trainer.precision=17-mixed"],
        ["trainer.precision='17-mixed' is not one Lightning accepts", "bf16-mixed"],
    ),
    (
        "val-check-interval",
        lambda t, r: ["trainer.val_check_interval=1.5"],
        ["trainer.val_check_interval=1.5", "must be in (0, 1]"],
    ),
    ("seed-type", lambda t, r: ["seed=abc"], ["seed must be an integer, got 'abc'"]),
    ("train-type", lambda t, r: ["train=maybe"], ["train must be true or false"]),
    ("mode-value", lambda t, r: ["optimized_mode=maximum"], ["optimized_mode must be one of"]),
    ("group-null", lambda t, r: ["logger=null"], ["logger=null", "~logger"]),
    (
        "model-without-weights",
        lambda t, r: ["model=hf", f"model.name_or_path={_config_only_folder(t)}"],
        ["half-copied-model' has a config.json but no weights", "model.safetensors"],
    ),
    (
        "wandb-no-login",
        lambda t, r: ["logger=wandb", "logger.wandb.mode=online"],
        ["logger.wandb.mode=online but this machine has no W&B login", "wandb login"],
    ),
    (
        "eval-set-labels",
        lambda t, r: _relabelled(t),
        ["eval_sets.renamed: its labels ['bad'] are not classes", "label_map"],
    ),
    (
        "memory",  # ~400 GiB of weights, gradients and optimiser state: refused before they load
        lambda t, r: ["method=full", *HUGE_BERT],
        ["memory estimate", "GiB per device", "exceeds the", "trainer.memory_check=warn"],
    ),
    (
        "memory-check-value",
        lambda t, r: ["trainer.memory_check=maybe"],
        ["trainer.memory_check='maybe' is not one ftexp accepts", "refuse"],
    ),
    (
        "run-dir-taken",
        lambda t, r: [f"hydra.run.dir={r}"],
        ["already holds a run", "ckpt_path="],
    ),
]


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny LoRA run whose files no refusal may touch."""
    run = tmp_path_factory.mktemp("earlier") / "run"
    run_ftexp(*TINY, "method=lora", "trainer.max_epochs=1", f"hydra.run.dir={run}")
    return run


def _fingerprint(run: Path) -> dict[str, str]:
    kept = [p for p in run.rglob("*") if p.is_file() and ".hydra" not in p.parts]
    kept = [p for p in kept if not p.name.endswith(".log")]
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in kept}


@pytest.mark.parametrize(("row", "args", "words"), ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_refused_cleanly(
    row: str, args: Row, words: list[str], tmp_path: Path, earlier_run: Path
) -> None:
    before = _fingerprint(earlier_run)
    arguments = args(tmp_path, earlier_run)
    if not any(a.startswith("hydra.run.dir=") for a in arguments):
        arguments.append(f"hydra.run.dir={tmp_path / 'new'}")
    switches_data = any(a.startswith("data=") for a in arguments)
    base = [a for a in TINY if not a.startswith("data")] if switches_data else TINY
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ftexp", *base, "method=lora", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=NO_LOGINS,
    )
    seconds = time.perf_counter() - started
    print(f"refusal {row}: {seconds:.1f} s")  # the time to refusal, reported (not asserted)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "HYDRA_FULL_ERROR" not in done.stderr  # ftexp's words, not Hydra's
    message = " ".join(done.stderr.split())
    for word in words:
        assert " ".join(word.split()) in message, (word, done.stderr[-2000:])
    assert _fingerprint(earlier_run) == before  # nothing of the earlier run changed
    assert not (tmp_path / "new" / "metrics.json").exists()


def test_two_runs_started_at_once_keep_two_complete_run_dirs(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ftexp", *TINY, f"method={m}", "trainer.max_epochs=1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**__import__("os").environ, "FTEXP_OUTPUTS": str(outputs)},
        )
        for m in ("full", "lora")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    runs = sorted(p.parent for p in outputs.rglob("metrics.json"))
    assert len(runs) == 2, runs
    methods = {
        "Full" if "ftexp.methods.full.Full" in (r / "config.yaml").read_text() else "LoRA"
        for r in runs
    }
    assert methods == {"Full", "LoRA"}
    for run in runs:
        assert (run / "model").is_dir()
        assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize("command", ["generate", "predict", "export", "latency"])
def test_a_side_command_on_a_run_it_does_not_serve_is_refused_before_loading(
    command: str, tmp_path: Path, earlier_run: Path
) -> None:
    """Generating from a classifier, or any command on a run dir that holds no run."""
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    targets = [(not_a_run, "is not a finished ftexp run")]
    if command == "generate":
        targets.append((earlier_run, "trained a sequence classification"))
    extra = {"generate": ["hello"], "predict": ["a fine film"], "export": ["--merged"]}
    before = _fingerprint(earlier_run)
    for run, words in targets:
        stderr = refused(str(run), *extra.get(command, []), command=f"ftexp.{command}", timeout=300)
        assert words in stderr
    assert _fingerprint(earlier_run) == before
