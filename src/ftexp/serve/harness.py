"""A fine-tuned LM scored by EleutherAI's lm-evaluation-harness, beside ftexp's own score.

The run's held-out conversations become a local harness task (a jsonl file and a task YAML; no
hub): the context is every turn before the last reply, rendered with the run's chat template
and its generation prompt; the target is the reply and its end-of-turn token. The harness
(``lm_eval``, ``--model hf``) reads the run's merged export and reports the reply's
log-likelihood as ``perplexity`` (``exp`` of minus the mean per-reply log-likelihood) and
``acc`` (the share of replies that are the model's greedy continuation). ftexp computes the
same two numbers from its own encoding of the same conversations (``data.train_on=
last_assistant``), so the two must agree.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftexp.batch import IGNORE
from ftexp.data.conversations import Conversation
from ftexp.errors import RunError
from ftexp.run.reload import SavedRun

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

HELD_OUT = "held-out"  # ``--harness held-out``: the run's own test conversations


@dataclass(frozen=True)
class HarnessReport:
    """What ``ftexp.cli.evaluate`` found: the task, how many examples, each scorer's figures."""

    task: str
    examples: int | None  # None: a task of the user's, counted by the harness
    scores: dict[str, dict[str, float]]  # scorer ("lm_eval", "ftexp") -> metric -> value


@dataclass(frozen=True)
class ReplyScores:
    """Per-reply log-likelihood and greedy match, summarised as the harness does."""

    log_likelihoods: list[float]
    greedy: list[bool]

    @property
    def perplexity(self) -> float:
        """``exp(-mean log-likelihood)`` over replies (the harness's ``perplexity``)."""
        return math.exp(-sum(self.log_likelihoods) / len(self.log_likelihoods))

    @property
    def accuracy(self) -> float:
        """The share of replies that are the greedy continuation (the harness's ``acc``)."""
        return sum(self.greedy) / len(self.greedy)


def held_out_conversations(run: SavedRun, split: str, limit: int | None) -> list[Conversation]:
    """The conversations of a run's ``split``, re-read and re-split as the run did."""
    data = run.parts.data
    if "prompt" not in data.provides:
        raise RunError(
            f"{run.run_dir} trained on {type(data).__name__}, which holds no conversations; "
            "score it with a harness task of your own: --harness <task.yaml>"
        )
    data.load()
    return list(data.splits[split][:limit])


def write_task(
    folder: Path, name: str, tokenizer: PreTrainedTokenizerBase, conversations: list[Conversation]
) -> Path:
    """Write the conversations as a local harness task; return its YAML file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [_context_and_target(tokenizer, c) for c in conversations]
    docs = folder / f"{name}.jsonl"
    docs.write_text("".join(json.dumps({"context": c, "target": t}) + "\n" for c, t in rows))
    task = folder / f"{name}.yaml"
    task.write_text(
        "\n".join(
            [
                f"task: {name}",
                "dataset_path: json",
                "dataset_kwargs:",
                "  data_files:",
                f"    test: {json.dumps(str(docs))}",
                "test_split: test",
                "output_type: loglikelihood",
                'doc_to_text: "{{context}}"',
                'doc_to_target: "{{target}}"',
                'target_delimiter: ""',
                "metric_list:",
                "  - metric: perplexity",
                "  - metric: acc",
                "",
            ]
        )
    )
    return task


def run_harness(
    model_dir: Path, task: str, include: Path | None, batch_size: int = 1, templated: bool = False
) -> Any:
    """``lm_eval.simple_evaluate`` with ``--model hf`` on ``model_dir``; its results dict.

    ``templated``: the task's texts are chat-template renderings, which hold every special
    token already, so the tokenizer adds none of its own (a BERT-style one would wrap each
    text in [CLS] ... [SEP]); otherwise the harness's own default applies.
    """
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError as err:
        raise RunError("--harness needs EleutherAI's harness: pip install 'ftexp[eval]'") from err
    manager = TaskManager(include_path=str(include) if include else None)
    model_args: dict[str, Any] = {"pretrained": str(model_dir), "dtype": "float32"}
    if templated:
        model_args["add_bos_token"] = False
    return lm_eval.simple_evaluate(
        model="hf",
        model_args=model_args,
        tasks=[task],
        task_manager=manager,
        batch_size=batch_size,
        device="cpu",
    )


def own_scores(
    model: Any, tokenizer: PreTrainedTokenizerBase, conversations: list[Conversation]
) -> ReplyScores:
    """Each last reply's log-likelihood and greedy match, from ftexp's own encoding."""
    import torch

    from ftexp.data.chat import ChatData
    from ftexp.objectives.preference.module import sequence_logps

    data = ChatData(path="held-out", train_on="last_assistant", max_length=1 << 30)
    data.connect(tokenizer)
    lls, greedy = [], []
    for conversation in conversations:
        example = data.encode(conversation)
        assert example is not None
        ids = torch.tensor([example["input_ids"]], device=model.device)
        labels = torch.tensor([example["labels"]], device=model.device)
        with torch.inference_mode():
            logits = model(input_ids=ids).logits
        lls.append(float(sequence_logps(logits, labels)[0]))
        scored = labels[0, 1:] != IGNORE
        greedy.append(bool((logits[0, :-1].argmax(-1)[scored] == labels[0, 1:][scored]).all()))
    return ReplyScores(lls, greedy)


def harness_scores(results: Any, task: str) -> dict[str, float]:
    """The harness's ``perplexity`` and ``acc`` of ``task`` from its results dict."""
    scores = results["results"][task]
    return {
        metric.split(",")[0]: float(value)
        for metric, value in scores.items()
        if metric.split(",")[0] in ("perplexity", "acc")
    }


def _context_and_target(
    tokenizer: PreTrainedTokenizerBase, conversation: Conversation
) -> tuple[str, str]:
    messages = [{"role": role, "content": text} for role, text in conversation]
    context = tokenizer.apply_chat_template(
        messages[:-1], add_generation_prompt=True, tokenize=False
    )
    whole = tokenizer.apply_chat_template(messages, tokenize=False)
    if not whole.startswith(context):
        raise RunError("the run's chat template does not render the prompt as a prefix")
    return context, whole[len(context) :]
