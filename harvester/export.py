"""``harvester export``: stream an archive's records as JSON lines, CSV or Parquet.

Records come from :class:`harvester.archive.Archive` in batches, so memory stays flat however
large the archive is (``--unique`` keeps one story id per story seen). The cursor to pass as
``--since`` next time is returned for the caller to print.

Field names are the export record's keys (``url``, ``final_url``, ``outlet``, ``title``,
``authors``, ``published``, ``fetched``, ``language``, ``text``, ``story``, ``is_original``,
``original``, ``warc``), plus ``cursor`` (the record's position) and, with ``--unique``,
``copies``. JSON lines keep nested objects; CSV and Parquet flatten them: ``original`` becomes
``original_url``, ``original_outlet``, ``original_seen``, ``original_evidence`` (JSON);
``warc`` becomes ``warc_file``, ``warc_offset``, ``warc_record_id``; ``authors`` is a list in
Parquet and ``"; "``-joined in CSV; ``copies`` is JSON text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from harvester.archive import Archive, ArchivedArticle
from harvester.errors import ConfigError

__all__ = ["EXPORT_FIELDS", "FORMATS", "ExportResult", "export"]

FORMATS = ("jsonl", "csv", "parquet")
RECORD_FIELDS = (
    "url",
    "final_url",
    "outlet",
    "title",
    "authors",
    "published",
    "fetched",
    "language",
    "text",
    "story",
    "is_original",
    "original",
    "warc",
)
EXPORT_FIELDS = (*RECORD_FIELDS, "cursor", "copies")
_FLAT = {
    "original": ("original_url", "original_outlet", "original_seen", "original_evidence"),
    "warc": ("warc_file", "warc_offset", "warc_record_id"),
}
# Parquet column types by flattened name (anything else is a string).
_INT_COLUMNS = frozenset({"warc_offset", "cursor"})
_BOOL_COLUMNS = frozenset({"is_original", "original_seen"})
_PARQUET_BATCH = 1000


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    """How many records were written, and the cursor to pass as ``since`` next time."""

    records: int
    cursor: int


def choose_fields(names: str | None, *, unique: bool) -> tuple[str, ...]:
    """The fields to write: the ones named (comma-separated) or the default set."""
    if not names:
        return (*RECORD_FIELDS, "copies") if unique else RECORD_FIELDS
    chosen = tuple(n.strip() for n in names.split(",") if n.strip())
    known = EXPORT_FIELDS if unique else tuple(f for f in EXPORT_FIELDS if f != "copies")
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        raise ConfigError(
            f"--fields: unknown field(s) {', '.join(unknown) or '(none given)'} "
            f"(known: {', '.join(known)})"
        )
    return chosen


def _record(article: ArchivedArticle, archive: Archive, unique: bool) -> dict[str, Any]:
    if not unique:
        return {**article.to_json(), "cursor": article.cursor}
    found = archive.story_lead(article.story)
    lead, members = found if found is not None else (article, (article,))
    out = {**lead.to_json(), "cursor": article.cursor}
    out["copies"] = [
        {"url": m.final_url, "outlet": m.outlet, "fetched": m.fetched}
        for m in members
        if m.final_url != lead.final_url
    ]
    return out


def _records(
    archive: Archive, *, since: int, outlet: str | None, unique: bool, upto: int
) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for article in archive.articles(since, outlet=outlet, until=upto):
        if unique:
            if article.story in seen:
                continue
            seen.add(article.story)
        yield _record(article, archive, unique)


def _flatten(record: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name in fields:
        value: Any = record[name]
        if name == "original":
            flat["original_url"] = value["url"]
            flat["original_outlet"] = value["outlet"]
            flat["original_seen"] = value["seen"]
            flat["original_evidence"] = json.dumps(value["evidence"], ensure_ascii=False)
        elif name == "warc":
            flat["warc_file"] = value["file"]
            flat["warc_offset"] = value["offset"]
            flat["warc_record_id"] = value["record_id"]
        elif name == "copies":
            flat["copies"] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def _columns(fields: Sequence[str]) -> list[str]:
    return [column for name in fields for column in _FLAT.get(name, (name,))]


def _write_jsonl(rows: Iterator[dict[str, Any]], fields: Sequence[str], out: IO[bytes]) -> int:
    count = 0
    for row in rows:
        line = json.dumps({f: row[f] for f in fields}, ensure_ascii=False) + "\n"
        out.write(line.encode("utf-8"))
        count += 1
    return count


class _BytesText:
    """A text adapter over a binary stream for csv (which wants ``write(str)``)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(text.encode("utf-8"))
        return len(text)


def _write_csv(rows: Iterator[dict[str, Any]], fields: Sequence[str], out: IO[bytes]) -> int:
    writer = csv.DictWriter(_BytesText(out), fieldnames=_columns(fields), lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        flat = _flatten(row, fields)
        if "authors" in flat:
            flat["authors"] = "; ".join(flat["authors"])
        writer.writerow(flat)
        count += 1
    return count


def _write_parquet(rows: Iterator[dict[str, Any]], fields: Sequence[str], out: IO[bytes]) -> int:
    try:
        import pyarrow as pa  # noqa: PLC0415 (optional extra)
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError:
        raise ConfigError(
            "--format parquet needs pyarrow, which is not installed: "
            "pip install 'harvester[parquet]' (or pip install pyarrow)"
        ) from None
    columns = _columns(fields)

    def kind(column: str) -> Any:
        if column in _INT_COLUMNS:
            return pa.int64()
        if column in _BOOL_COLUMNS:
            return pa.bool_()
        if column == "authors":
            return pa.list_(pa.string())
        return pa.string()

    schema = pa.schema([(c, kind(c)) for c in columns])
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(_flatten(row, fields))
            if len(batch) >= _PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


_WRITERS: dict[str, Callable[[Iterator[dict[str, Any]], Sequence[str], IO[bytes]], int]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
}


def export(
    archive: Archive,
    out: IO[bytes],
    *,
    fmt: str = "jsonl",
    since: int = 0,
    unique: bool = False,
    outlet: str | None = None,
    fields: str | None = None,
) -> ExportResult:
    """Write the archive's records (changed after ``since``) to ``out`` in ``fmt``.

    Raises ConfigError for an unknown format or field, or parquet without pyarrow.
    """
    if fmt not in _WRITERS:
        raise ConfigError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    chosen = choose_fields(fields, unique=unique)
    upto = archive.cursor
    rows = _records(archive, since=since, outlet=outlet, unique=unique, upto=upto)
    count = _WRITERS[fmt](rows, chosen, out)
    return ExportResult(records=count, cursor=max(upto, since))
