"""Multi-turn conversations for SFT: the three record shapes users bring, loss on replies only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftexp.batch import IGNORE
from ftexp.data.chat import ChatData, fit_whole_turns, render_turns, thread_conversations
from ftexp.data.conversations import (
    ChatFormat,
    RecordProblem,
    conversation_of,
    detect_format,
    judged_of,
    preference_of,
)
from ftexp.data.preference import PreferenceData
from ftexp.data.unpaired_preference import UnpairedPreferenceData
from ftexp.errors import DataError
from ftexp.models.tiny import char_tokenizer, chat_tokenizer
from ftexp.run.wiring import train
from tests.conftest import FIXTURES, compose_cfg, refused

TALK = (
    ("system", "be brief"),
    ("user", "hi"),
    ("assistant", "hello"),
    ("user", "two plus two"),
    ("assistant", "four"),
)
RECORDS = {
    ChatFormat.MESSAGES: {"messages": [{"role": r, "content": c} for r, c in TALK]},
    ChatFormat.SHAREGPT: {
        "conversations": [
            {"from": {"user": "human", "assistant": "gpt"}.get(r, r), "value": c} for r, c in TALK
        ]
    },
}
COLUMNS = ("prompt", "response")
SFT = [
    "objective=sft",
    "model=tiny_llama",
    "data=chat",
    "data.artifact=null",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
    "data.batch_size=4",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "save_model=false",
]


def _write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _scored_text(tokenizer: object, example: dict[str, list[int]]) -> str:
    pairs = zip(example["input_ids"], example["labels"], strict=True)
    scored = [i for i, y in pairs if y != IGNORE]
    return tokenizer.decode(scored).replace(" ", "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", [ChatFormat.MESSAGES, ChatFormat.SHAREGPT])
def test_messages_and_sharegpt_records_become_the_same_conversation(fmt: ChatFormat) -> None:
    record = RECORDS[fmt]
    assert detect_format(record, COLUMNS) is fmt
    assert conversation_of(record, fmt, COLUMNS, None) == TALK


def test_an_alpaca_record_is_one_exchange_with_its_input_after_the_instruction() -> None:
    record = {"instruction": "add", "input": "2 and 2", "output": "4", "system": "be brief"}
    assert detect_format(record, COLUMNS) is ChatFormat.ALPACA
    assert conversation_of(record, ChatFormat.ALPACA, COLUMNS, None) == (
        ("system", "be brief"),
        ("user", "add\n\n2 and 2"),
        ("assistant", "4"),
    )


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        ([("user", "a"), ("user", "b"), ("assistant", "c")], "turn 2 is a user turn"),
        ([("user", "a"), ("assistant", " ")], "turn 2 is an empty assistant turn"),
        ([("user", "a"), ("assistant", "b"), ("user", "c")], "ends on a user turn"),
        ([("user", "a"), ("system", "b"), ("assistant", "c")], "a system turn after the first"),
    ],
)
def test_a_record_out_of_order_is_refused_with_why(
    turns: list[tuple[str, str]], problem: str
) -> None:
    record = {"messages": [{"role": r, "content": c} for r, c in turns]}
    with pytest.raises(RecordProblem, match=problem):
        conversation_of(record, ChatFormat.MESSAGES, COLUMNS, None)


def test_every_reply_carries_loss_and_no_user_or_system_token_does() -> None:
    tokenizer = chat_tokenizer()
    _ids, spans = render_turns(tokenizer, TALK)
    assert len(spans) == 2
    every = ChatData(path="x", train_on="all_assistant", max_length=512)
    every.processor = tokenizer
    last = ChatData(path="x", train_on="last_assistant", max_length=512)
    last.processor = tokenizer
    # each reply and the [SEP] that ends its turn; never "be brief", "hi" or "two plus two"
    assert _scored_text(tokenizer, every.encode(TALK) or {}) == "hello[SEP]four[SEP]"
    assert _scored_text(tokenizer, last.encode(TALK) or {}) == "four[SEP]"


def test_a_long_conversation_ends_at_the_last_whole_reply_that_fits() -> None:
    tokenizer = chat_tokenizer()
    ids, spans = render_turns(tokenizer, TALK)
    first_reply_end = spans[0][1]
    kept, kept_spans, cut = fit_whole_turns(ids, spans, first_reply_end + 3)
    assert cut == "cut_turns"
    assert kept == ids[:first_reply_end]
    assert kept_spans == spans[:1]
    _, mid, cut = fit_whole_turns(ids, spans, spans[0][0] + 2)
    assert cut == "cut_mid_turn"
    assert mid == [(spans[0][0], spans[0][0] + 2)]
    _, none, cut = fit_whole_turns(ids, spans, spans[0][0])
    assert cut == "no_reply_left"
    assert none == []


def test_a_tokenizer_without_a_chat_template_is_refused_and_chatml_serves_it() -> None:
    data = ChatData(path="x")
    with pytest.raises(DataError, match=r"no chat template.*data\.chat_template=chatml"):
        data.connect(char_tokenizer())
    named = ChatData(path="x", chat_template="chatml")
    named.connect(char_tokenizer())
    ids, spans = render_turns(named.processor, TALK)
    assert len(spans) == 2
    assert spans[0][0] < spans[0][1] < spans[1][0] < spans[1][1] <= len(ids)


def test_sft_trains_on_multi_turn_messages_and_counts_what_it_cut(tmp_path: Path) -> None:
    records = [
        {"messages": [{"role": r, "content": f"{c} {i}"} for r, c in TALK]} for i in range(20)
    ]
    path = _write_jsonl(tmp_path / "talk.jsonl", records)
    # 60 tokens: the first reply of each conversation fits whole, the second does not
    metrics = train(compose_cfg([*SFT, f"data.path={path}", "data.max_length=60"], tmp_path))
    assert metrics["test/ppl"] > 1
    assert metrics["data/dropped_cut_turns"] == 20


def test_a_bad_record_is_refused_at_its_line_or_skipped_and_counted(tmp_path: Path) -> None:
    good = [
        {"conversations": [{"from": "human", "value": f"q {i}"}, {"from": "gpt", "value": "a"}]}
        for i in range(12)
    ]
    bad = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}]}
    path = _write_jsonl(tmp_path / "talk.jsonl", [*good[:5], bad, *good[5:]])
    stderr = refused(*SFT, f"data.path={path}", f"hydra.run.dir={tmp_path / 'refused'}")
    assert f"{path}, line 6: not a sharegpt conversation: turn 2 is an empty assistant" in stderr
    assert "data.bad_records=skip" in stderr
    metrics = train(
        compose_cfg([*SFT, f"data.path={path}", "data.bad_records=skip"], tmp_path / "skip")
    )
    assert metrics["data/dropped_bad_records"] == 1


def test_explicit_and_implicit_preference_records_give_the_same_pair() -> None:
    history = [{"role": r, "content": c} for r, c in TALK[:4]]
    explicit = {
        "prompt": history,
        "chosen": [{"role": "assistant", "content": "four"}],
        "rejected": "five",
    }
    implicit = {
        "chosen": [*history, {"role": "assistant", "content": "four"}],
        "rejected": [*history, {"role": "assistant", "content": "five"}],
    }
    assert preference_of(explicit) == preference_of(implicit) == (TALK[:4], "four", "five")
    assert preference_of({"prompt": "hi", "chosen": "hello", "rejected": "go"}) == (
        (("user", "hi"),),
        "hello",
        "go",
    )


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"chosen": "a", "rejected": "b"}, "share no turn"),
        ({"prompt": "q", "chosen": "", "rejected": "b"}, "empty assistant turn"),
        (
            {"prompt": "q", "chosen": [{"role": "user", "content": "a"}], "rejected": "b"},
            "chosen side is not one assistant reply",
        ),
    ],
)
def test_a_preference_record_without_a_usable_pair_is_refused(
    record: dict[str, object], problem: str
) -> None:
    with pytest.raises(RecordProblem, match=problem):
        preference_of(record)


def test_dpo_reads_implicit_prompt_records_and_scores_only_the_replies(tmp_path: Path) -> None:
    def said(i: int, reply: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": reply}]

    records = [{"chosen": said(i, "yes"), "rejected": said(i, "no")} for i in range(12)]
    path = _write_jsonl(tmp_path / "pairs.jsonl", records)
    bad = _write_jsonl(tmp_path / "bad.jsonl", [*records, {"chosen": "a", "rejected": "b"}])
    data = PreferenceData(path=str(path), prompts=None)
    data.connect(chat_tokenizer())
    data.setup()
    example = data.encoded["train"][0]
    for side, reply in (("chosen", "yes"), ("rejected", "no")):
        pair = {"input_ids": example[f"{side}_input_ids"], "labels": example[f"{side}_labels"]}
        assert _scored_text(data.processor, pair) == f"{reply}[SEP]"
    stderr = refused(
        "objective=dpo",
        "model=tiny_llama",
        "data=preference",
        "data.artifact=null",
        "data.prompts=null",
        f"data.path={bad}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert "bad.jsonl, line 13: not a preference record" in stderr


def test_explicit_and_implicit_unpaired_records_give_the_same_judged_reply() -> None:
    history = [{"role": r, "content": c} for r, c in TALK[:4]]
    explicit = {"prompt": history, "completion": [{"role": "assistant", "content": "four"}]}
    implicit = {"completion": [*history, {"role": "assistant", "content": "four"}]}
    for label, desirable in ((True, True), ("false", False), (1, True), ("0", False)):
        expected = (TALK[:4], "four", desirable)
        assert judged_of({**explicit, "label": label}) == expected
        assert judged_of({**implicit, "label": label}) == expected
    assert judged_of({"prompt": "hi", "completion": "go", "label": False}) == (
        (("user", "hi"),),
        "go",
        False,
    )


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"completion": "a", "label": True}, "completion is a single turn"),
        ({"prompt": "q", "completion": "", "label": True}, "empty assistant turn"),
        ({"prompt": "q", "completion": "a", "label": "maybe"}, "label 'maybe' is not true"),
        ({"prompt": "q", "completion": "a"}, "label None is not true"),
        (
            {"prompt": "q", "completion": [{"role": "user", "content": "a"}], "label": True},
            "completion is not one assistant reply",
        ),
    ],
)
def test_an_unpaired_record_without_a_judged_reply_is_refused(
    record: dict[str, object], problem: str
) -> None:
    with pytest.raises(RecordProblem, match=problem):
        judged_of(record)


def test_kto_reads_unpaired_records_and_scores_only_the_replies(tmp_path: Path) -> None:
    def said(i: int, reply: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": reply}]

    records = [
        {"completion": said(i, "yes" if i % 3 else "no"), "label": bool(i % 3)} for i in range(15)
    ]
    path = _write_jsonl(tmp_path / "judged.jsonl", records)
    bad = _write_jsonl(tmp_path / "bad.jsonl", [*records, {"prompt": "q", "completion": "a"}])
    data = UnpairedPreferenceData(path=str(path), prompts=None)
    data.connect(chat_tokenizer())
    data.setup()
    for example in data.encoded["train"]:
        assert (
            _scored_text(data.processor, example)
            == ("yes" if example["desirable"] else "no") + "[SEP]"
        )
    batch = data.collator(train=True)(data.encoded["train"][:4])
    assert batch["desirable"].dtype.is_floating_point is False
    assert batch["labels"].shape == batch["input_ids"].shape == batch["attention_mask"].shape
    stderr = refused(
        "objective=kto",
        "model=tiny_llama",
        "data=unpaired_preference",
        "data.artifact=null",
        "data.prompts=null",
        f"data.path={bad}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert "bad.jsonl, line 16: not an unpaired preference record: its label None" in stderr
    dpo = refused(
        "objective=dpo",
        "model=tiny_llama",
        "data=unpaired_preference",
        f"hydra.run.dir={tmp_path / 'dpo'}",
    )
    assert "objective=dpo cannot train on data=unpaired_preference" in dpo
    assert "data options that fit objective=dpo: preference" in dpo


def test_chatterbot_threads_become_multi_turn_conversations() -> None:
    threads = thread_conversations(FIXTURES / "chat_tiny.yml", None)
    assert threads[0] == (
        ("user", "hello"),
        ("assistant", "hi there"),
        ("user", "how are you"),
        ("assistant", "fine thanks"),
    )
    assert all(turns[-1][0] == "assistant" for turns in threads)
