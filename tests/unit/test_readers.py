"""Data files: every format reads, and every malformed file names the file, the line and a fix."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ftexp.data.classification import ClassificationData
from ftexp.data.readers import read_columns, read_rows
from ftexp.errors import DataError
from ftexp.models.tiny import char_tokenizer


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_multiline_quoted_field_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", 'text,label\n"two\nlines",pos\nplain,neg\n')
    rows = read_rows(path)
    assert rows == [
        (2, {"text": "two\nlines", "label": "pos"}),
        (4, {"text": "plain", "label": "neg"}),
    ]


def test_jsonl_parquet_and_bz2_read_the_same_records(tmp_path: Path) -> None:
    records = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}]
    jsonl = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    parquet = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    packed = write(tmp_path / "a.csv.bz2", bz2.compress(b"text,label\ngood,pos\nbad,neg\n"))
    for path in (jsonl, parquet, packed):
        assert [r for _, r in read_rows(path)] == records, path
        assert set(read_columns(path)) == {"text", "label"}


@pytest.mark.parametrize(
    ("name", "content", "problem", "line"),
    [
        ("empty.csv", "", "file is empty", None),
        ("header_only.csv", "text,label\n", "no data rows", None),
        ("ragged.csv", "text,label\nok,pos\ntoo,many,fields\n", "3 fields but the header has 2", 3),
        ("latin1.csv", b"text,label\nok,pos\ncaf\xe9,neg\n", "not valid UTF-8", 3),
        ("bad.jsonl", '{"text": "a", "label": "pos"}\n{"text": oops}\n', "invalid JSON", 2),
        ("list.jsonl", '{"text": "a", "label": "pos"}\n[1, 2]\n', "expected a JSON object", 2),
        ("bad.xlsx", "x", "unknown data format", None),
    ],
)
def test_malformed_files_name_file_line_and_fix(
    tmp_path: Path, name: str, content: str | bytes, problem: str, line: int | None
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(DataError) as err:
        read_rows(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)
    assert "Fix: " in str(err.value)
    assert err.value.line == line
    if line is not None:
        assert f"line {line}" in str(err.value)


def module_for(path: Path, **kwargs: object) -> ClassificationData:
    data = ClassificationData(path=str(path), **kwargs)  # type: ignore[arg-type]
    data.connect(char_tokenizer())
    return data


def test_label_out_of_range_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "text,label\na,0\nb,1\nc,7\n")
    data = module_for(path, labels=["neg", "pos"])
    with pytest.raises(DataError, match=r"d.csv, line 4: label '7' is not one of \['neg', 'pos'\]"):
        data.load()


def test_missing_column_is_a_config_problem_and_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", '{"review": "a", "label": "pos"}\n')
    data = module_for(path)
    assert any("column 'text' not found" in p for p in data.problems())
    with pytest.raises(DataError, match=r"line 1: record has no column 'text'"):
        data.load()


def test_split_is_seeded_deduplicated_and_disjoint(tmp_path: Path) -> None:
    lines = [f"text {i},{'pos' if i % 2 else 'neg'}" for i in range(200)]
    path = write(tmp_path / "d.csv", "text,label\n" + "\n".join(lines + lines[:20]) + "\n")
    first, second = module_for(path), module_for(path)
    first.load()
    second.load()
    assert first.splits == second.splits
    sizes = {k: len(v) for k, v in first.splits.items()}
    assert sizes == {"train": 160, "val": 20, "test": 20}
    texts = [{t for t, _ in first.splits[k]} for k in ("train", "val", "test")]
    assert not (texts[0] & texts[1])
    assert not (texts[0] & texts[2])
    assert not (texts[1] & texts[2])
    assert first.class_names() == ["neg", "pos"]  # inferred, sorted
    other = module_for(path, split_seed=7)
    other.load()
    assert other.splits["test"] != first.splits["test"]


def test_explicit_split_files_are_used_as_given(tmp_path: Path) -> None:
    rows = "".join(f"t{i},{'pos' if i % 2 else 'neg'}\n" for i in range(9))
    train = write(tmp_path / "train.csv", "text,label\n" + rows)
    test = write(tmp_path / "test.csv", "text,label\nx,neg\ny,pos\n")
    data = ClassificationData(
        path={"train": str(train), "test": str(test)}, labels=["neg", "pos"], val_fraction=1 / 3
    )
    data.load()
    assert [t for t, _ in data.splits["test"]] == ["x", "y"]
    assert len(data.splits["val"]) == 3
    assert len(data.splits["train"]) == 6


def test_rows_repeated_across_given_splits_stay_in_one_split(tmp_path: Path) -> None:
    rows = "".join(f"t{i},pos\n" for i in range(9))
    train = write(tmp_path / "train.csv", "text,label\n" + rows + "x,neg\ny,neg\n")
    val = write(tmp_path / "val.csv", "text,label\nt1,pos\nt2,pos\n")
    test = write(tmp_path / "test.csv", "text,label\nx,neg\nt2,pos\n")
    data = ClassificationData(
        path={"train": str(train), "val": str(val), "test": str(test)}, labels=["neg", "pos"]
    )
    data.load()
    texts = {k: [t for t, _ in v] for k, v in data.splits.items()}
    assert texts["test"] == ["x", "t2"]
    assert texts["val"] == ["t1"]  # t2 is a test row
    assert "x" not in texts["train"]
    assert "t1" not in texts["train"]
    assert data.dropped["train_overlap"] == 3
    assert data.dropped["val_overlap"] == 1


def test_tsv_reads_its_columns_by_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.tsv", "text\tlabel\ngreat, truly\tpos\nawful\tneg\n")
    assert read_columns(path) == ["text", "label"]
    assert [r for _, r in read_rows(path)] == [
        {"text": "great, truly", "label": "pos"},
        {"text": "awful", "label": "neg"},
    ]
    packed = write(tmp_path / "reviews.tsv.gz", gzip.compress(path.read_bytes()))
    assert read_columns(packed) == ["text", "label"]
