"""Read csv / jsonl / parquet rows with errors that name the file, the line and the fix."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftexp.errors import DataError

Row = tuple[int, dict[str, Any]]  # (1-based line number of the row's first line, record)
FORMATS = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


def file_format(path: Path) -> str:
    """Return the data format of ``path`` ignoring a ``.bz2``/``.gz`` suffix."""
    name = path.name.lower()
    for compressed in (".bz2", ".gz"):
        name = name.removesuffix(compressed)
    for fmt in FORMATS:
        if name.endswith(fmt):
            return fmt
    raise DataError(path, f"unknown data format {path.suffix!r}", fix=f"use one of {FORMATS}")


def read_rows(path: Path) -> list[Row]:
    """Read every record of a csv/tsv/jsonl/parquet file (optionally bz2/gzip-compressed)."""
    if not path.is_file():
        raise DataError(path, "file not found", fix="check data.path")
    fmt = file_format(path)
    if fmt == ".parquet":
        rows = _parquet_rows(path)
    else:
        text = _decode(path)
        rows = list(
            _jsonl_rows(path, text)
            if fmt in {".jsonl", ".json"}
            else _csv_rows(path, text, _delimiter(fmt))
        )
    if not rows:
        raise DataError(path, "file has no data rows", fix="point data.path at a non-empty file")
    return rows


def read_columns(path: Path) -> list[str]:
    """Return the column names of a data file, reading as little as possible."""
    fmt = file_format(path)
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    rows = read_rows(path) if fmt in {".jsonl", ".json"} else None
    if rows is not None:
        return sorted({key for _, record in rows[:100] for key in record})
    first_line = _decode(path).split("\n", 1)[0]
    return next(csv.reader(io.StringIO(first_line), delimiter=_delimiter(fmt)), [])


def _delimiter(fmt: str) -> str:
    """The field separator of a delimited format: tab for ``.tsv``, comma for ``.csv``."""
    return "\t" if fmt == ".tsv" else ","


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        if path.name.endswith(".bz2"):
            raw = bz2.decompress(raw)
        elif path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
    except (OSError, EOFError, ValueError, zlib.error) as err:
        raise DataError(
            path,
            f"the compressed file is truncated or corrupt ({err})",
            fix="download or write the file again, or decompress it to check",
        ) from None
    if not raw.strip():
        raise DataError(path, "file is empty", fix="point data.path at a file with a header + rows")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            path,
            f"byte {raw[err.start]:#04x} is not valid UTF-8",
            line=line,
            fix="re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as err:
        raise DataError(
            path, f"malformed header: {err}", line=1, fix="the first line names the columns"
        ) from None
    if len(set(header)) != len(header):
        raise DataError(
            path,
            f"duplicate column names in header {header}",
            line=1,
            fix="give every column its own name",
        )
    start = reader.line_num + 1
    try:
        for fields in reader:
            if fields and len(fields) != len(header):
                raise DataError(
                    path,
                    f"row has {len(fields)} fields but the header has {len(header)}",
                    line=start,
                    fix="quote fields that contain the delimiter, or fix the row",
                )
            if fields:
                yield start, dict(zip(header, fields, strict=True))
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataError(path, f"malformed CSV: {err}", line=start, fix="check quoting") from None


def _jsonl_rows(path: Path, text: str) -> Iterator[Row]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of records
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                path, f"invalid JSON: {err.msg}", line=err.lineno, fix="validate it with `jq .`"
            ) from None
        for i, record in enumerate(records, start=1):
            yield i, _as_record(path, record, i)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                path, f"invalid JSON ({err.msg})", line=number, fix="one JSON object per line"
            ) from None
        yield number, _as_record(path, record, number)


def _as_record(path: Path, record: Any, line: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataError(
            path,
            f"expected a JSON object, got {type(record).__name__}",
            line=line,
            fix='one object per record, e.g. {"text": "...", "label": "..."}',
        )
    return record


def _parquet_rows(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise DataError(path, f"unreadable parquet file ({err})") from None
    return [(i + 1, record) for i, record in enumerate(table.to_pylist())]


TaggedSentence = tuple[int, tuple[str, ...], tuple[str, ...]]  # (first line, tokens, tags)


def read_tagged(path: Path) -> list[TaggedSentence]:
    """Read a CoNLL-style file: ``token<TAB or space>tag`` per line, a blank line between sentences.

    The tag is the last field of a line (tokens may hold spaces only in tab-separated files);
    lines starting with ``-DOCSTART-`` are skipped.
    """
    if not path.is_file():
        raise DataError(path, "file not found", fix="check data.path")
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 1
    for number, line in enumerate(_decode(path).splitlines(), start=1):
        if not line.strip() or line.startswith("-DOCSTART-"):
            if tokens:
                sentences.append((start, tuple(tokens), tuple(tags)))
            tokens, tags, start = [], [], number + 1
            continue
        fields = line.rstrip().split("\t") if "\t" in line.strip() else line.split()
        if len(fields) < 2 or not fields[0].strip() or not fields[-1].strip():
            raise DataError(
                path,
                f"expected `token<TAB>tag`, got {line.strip()!r}",
                line=number,
                fix="give every token a tag, and separate sentences with an empty line",
            )
        tokens.append(" ".join(f.strip() for f in fields[:-1]))
        tags.append(fields[-1].strip())
    if tokens:
        sentences.append((start, tuple(tokens), tuple(tags)))
    if not sentences:
        raise DataError(path, "file has no tagged sentences", fix="point data.path at a CoNLL file")
    return sentences


def read_lines(path: Path) -> list[str]:
    """The lines of a plain-text file (UTF-8, optionally .gz/.bz2), with clear errors."""
    if not path.is_file():
        raise DataError(path, "file not found", fix="check data.class_files")
    return _decode(path).splitlines()
