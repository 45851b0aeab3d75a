"""NER tags and spans (checked against seqeval), CoNLL and class-file readers, vocabulary growth."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ftexp.data.lines_per_class import LinesPerClassData
from ftexp.data.tagged import TaggedTokensData
from ftexp.errors import DataError
from ftexp.metrics.entities import entity_counts, scores, spans, tag_problems
from ftexp.models.tiny import TinyBert, char_tokenizer
from ftexp.models.vocab import extend_tokenizer, unknown_units

FIXTURES = Path(__file__).parents[1] / "fixtures"


def random_tags(prefixes: str, rng: random.Random) -> list[str]:
    pool = ["O"] + [f"{p}-{t}" for p in prefixes for t in ("PER", "LOC")]
    return [rng.choice(pool) for _ in range(rng.randint(0, 12))]


@pytest.mark.parametrize("prefixes", ["BI", "BIES"])
def test_spans_match_seqeval_on_random_tag_sequences(prefixes: str) -> None:
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    for _ in range(2000):
        tags = random_tags(prefixes, rng)
        assert sorted(spans(tags)) == sorted(get_entities(tags)), tags


def test_bmes_reads_as_bioes() -> None:
    bmes = ["B-ORG", "M-ORG", "E-ORG", "O", "S-LOC", "B-PER", "E-PER"]
    assert spans(bmes) == [("ORG", 0, 2), ("LOC", 4, 4), ("PER", 5, 6)]


def test_micro_scores_match_seqeval() -> None:
    from seqeval.metrics import f1_score, precision_score, recall_score

    rng = random.Random(1)
    gold = [random_tags("BI", rng) for _ in range(300)]
    guess = [
        [t if rng.random() < 0.7 else rng.choice(["O", "B-PER", "I-LOC"]) for t in g] for g in gold
    ]
    counts = entity_counts(gold, guess)
    total = [sum(v for (_, k), v in counts.items() if k == kind) for kind in ("tp", "pred", "gold")]
    ours = scores(*total)
    assert ours["f1"] == pytest.approx(f1_score(gold, guess))
    assert ours["precision"] == pytest.approx(precision_score(gold, guess))
    assert ours["recall"] == pytest.approx(recall_score(gold, guess))


def test_tags_outside_the_scheme_are_named() -> None:
    assert tag_problems(["O", "B-PER", "I-PER"], "bio") == []
    (problem,) = tag_problems(["O", "B-PER", "E-PER"], "bio")
    assert "E-PER" in problem
    assert "data.scheme" in problem


def tagged(tmp_path: Path, text: str, **settings: object) -> TaggedTokensData:
    path = tmp_path / "ner.txt"
    path.write_text(text, encoding="utf-8")
    return TaggedTokensData(path=str(path), **settings)  # type: ignore[arg-type]


def test_conll_reader_splits_sentences_and_takes_tags_from_the_data(tmp_path: Path) -> None:
    data = tagged(tmp_path, "a\tO\nb\tB-X\r\n\t\nc O\nd B-Y\n\n\n", val_fraction=0, test_fraction=0)
    assert data.read()["all"] == [(("a", "b"), ("O", "B-X")), (("c", "d"), ("O", "B-Y"))]
    assert data.class_names() == ["O", "B-X", "B-Y"]


def test_a_line_without_a_tag_is_refused_with_its_line_number(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"ner.txt, line 3: expected `token<TAB>tag`"):
        tagged(tmp_path, "a\tO\n\nlonely\n").read()


def test_tags_of_another_scheme_are_refused_at_their_sentence(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"line 4: tags \['E-X'\] are not BIO tags"):
        tagged(tmp_path, "a\tO\n\nb\tB-X\nc\tE-X\n").read()


def test_first_sub_token_of_each_word_carries_the_tag(tmp_path: Path) -> None:
    data = tagged(tmp_path, "ab\tB-X\ncd\tO\n", max_length=5)
    data.connect(char_tokenizer())
    data.tags = ["O", "B-X"]
    (encoded,) = data.encode_split([(("ab", "cd"), ("B-X", "O"))])
    # [CLS] a ##b c ##d [SEP] cut to 5: [CLS] a ##b c [SEP]; the cut word is counted
    assert encoded["tags"] == [-100, 1, -100, 0, -100]
    assert data.dropped == {}
    (short,) = data.encode_split([(("ab", "cd", "ef"), ("B-X", "O", "O"))])
    assert data.dropped["cut_words"] == 1
    assert short["tags"][-1] == -100


def test_class_files_dedupe_and_drop_texts_of_two_classes() -> None:
    data = LinesPerClassData(
        path=str(FIXTURES / "sentiment_zh"), class_files={"负面": "neg.txt", "正面": "pos.txt"}
    )
    data.load()
    assert data.class_names() == ["负面", "正面"]
    assert data.dropped["conflicting"] == 1
    assert data.dropped["duplicates"] == 4
    texts = [x[0] for split in data.splits.values() for x in split]
    assert "一般般吧" not in texts
    assert len(texts) == len(set(texts)) == 72


def test_from_data_adds_the_frequent_unknown_units_only() -> None:
    tokenizer = char_tokenizer()
    texts = ["这部电影 good", "这部书", "电影 ok 好"]
    assert unknown_units(tokenizer, texts)["这"] == 2
    spec = TinyBert(extend_vocab="from_data", extend_vocab_min_count=2)
    before = len(tokenizer)
    added = extend_tokenizer(spec, tokenizer, texts)
    assert added == 4  # 这 部 电 影 appear twice; 书 and 好 once; ascii is known
    assert len(tokenizer) == before + 4
    assert (
        tokenizer.unk_token_id not in tokenizer("这部电影", add_special_tokens=False)["input_ids"]
    )


def test_a_vocabulary_file_adds_what_is_unknown_most_frequent_first(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n##书\na\n书\n好\n电\n", encoding="utf-8")
    tokenizer = char_tokenizer()
    spec = TinyBert(extend_vocab=str(vocab), extend_vocab_max=2)
    assert extend_tokenizer(spec, tokenizer, ["好 好 电", "电 好"]) == 2
    added = sorted(tokenizer.get_added_vocab(), key=tokenizer.get_added_vocab().get)[-2:]
    assert added == ["好", "电"]  # "a" is known, "[PAD]" and "##书" are not plain tokens; 书 unseen


def test_vocabulary_settings_are_checked() -> None:
    assert "neither a vocabulary file" in TinyBert(extend_vocab="/no/such/vocab.txt").problems()[0]
    assert "extend_vocab_max must be > 0" in TinyBert(extend_vocab_max=0).problems()[0]
