"""WACZ evidence packages (``harvester export --format wacz``), written to WACZ 1.1.1.

A WACZ is a ZIP file that web-archive tools (ReplayWeb.page, pywb, ``wacz validate``) open as
one archive::

    archive/<name>.warc.gz    the WARC records (ZIP "stored": readers seek into them)
    indexes/index.cdx         the CDXJ index of those records (file names as in archive/)
    pages/pages.jsonl         one line per article: url, ts, title, its clean text, story
    datapackage.json          every file above with its sha256 and size (Frictionless Data)
    datapackage-digest.json   the sha256 of datapackage.json

Two selections:

* **the whole archive** (no filter): every closed WARC file is copied as it is (every record:
  warcinfo, requests, responses, revisits, metadata, text), of a live writer's ``.open``
  file the complete records written so far, and the source files of imported articles (whose
  responses ``import-warc`` left where they were). Pages: every article.
* **a selection** (``story``, ``outlet``, ``since``): for each selected article its response
  record (and its URL's newest capture: a revisit names the response it stands for, both go
  in), its newest metadata record (evidence,
  removed boilerplate, story, original) and the text record after it, copied byte for byte
  (gzip members as they are in the archive: ids, digests and dates unchanged) into one new
  WARC file opened by a warcinfo record naming the selection. With ``story``, a ``resource``
  record ``urn:harvester:story:<id>`` holds the story as ``harvester story --format json``
  prints it (original, members, evidence, each copy's paragraph diff). The request records are
  not copied: the catalog does not know where they lie (they are in the whole-archive package).

The package is written to ``<output>.partial`` beside the output and renamed at the end: no
half-written package is ever left under the final name; an existing output is never replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.catalog import Catalog
from harvester.dedup.view import story_lead, story_view
from harvester.errors import (
    ArchiveError,
    EmptySelectionError,
    NoSuchStoryError,
    OutputExistsError,
)
from harvester.models import ExportRecord
from harvester.version import __version__
from harvester.warc.cdxj import archive_warc_files, cdxj_records
from harvester.warc.records import build_resource, build_warcinfo, warc_date
from harvester.warc.writer import OPEN_SUFFIX, _Writer

__all__ = ["WACZ_VERSION", "WaczReport", "WaczSelection", "write_wacz"]

WACZ_VERSION = "1.1.1"
STORY_URN = "urn:harvester:story:"
_CHUNK = 1 << 20
_BATCH = 500
_ZIP64_AT = 1 << 31  # entries this large need ZIP64 headers from the start
_NAME_RE = re.compile(r"[^a-z0-9._/-]")


@dataclass(frozen=True, kw_only=True)
class WaczSelection:
    """What goes in: the whole archive (every field empty), or one story, one outlet's
    articles, the articles changed after a cursor (filters combine)."""

    story: str | None = None
    outlet: str | None = None
    since: int = 0

    @property
    def whole(self) -> bool:
        """No filter: the whole archive."""
        return self.story is None and self.outlet is None and not self.since

    def describe(self) -> str:
        """The selection in words (the warcinfo record and the package title say it)."""
        if self.whole:
            return "the whole archive"
        parts = []
        if self.story is not None:
            parts.append(f"story {self.story}")
        if self.outlet is not None:
            parts.append(f"outlet {self.outlet}")
        if self.since:
            parts.append(f"articles after cursor {self.since}")
        return ", ".join(parts)


@dataclass(frozen=True, kw_only=True)
class WaczReport:
    """What a package holds: pages (articles), WARC records, WARC files, its size in bytes."""

    path: Path
    pages: int
    records: int
    warc_files: int
    bytes: int


@dataclass
class _Entry:
    path: str
    size: int = 0
    digest: str = ""


@dataclass
class _Package:
    """The ZIP being written and what datapackage.json will list."""

    zip: zipfile.ZipFile
    entries: list[_Entry] = field(default_factory=list)

    def add_stream(self, arcname: str, chunks: Iterator[bytes], *, size_hint: int) -> _Entry:
        """One stored (uncompressed) entry from ``chunks``, hashed as it is written."""
        info = zipfile.ZipInfo(arcname, date_time=_zip_time())
        info.compress_type = zipfile.ZIP_STORED
        entry = _Entry(path=arcname)
        digest = hashlib.sha256()
        with self.zip.open(info, "w", force_zip64=size_hint >= _ZIP64_AT) as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                entry.size += len(chunk)
        entry.digest = "sha256:" + digest.hexdigest()
        self.entries.append(entry)
        return entry

    def add_bytes(self, arcname: str, data: bytes, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(arcname, date_time=_zip_time())
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.zip.writestr(info, data)
        self.entries.append(
            _Entry(
                path=arcname, size=len(data), digest="sha256:" + hashlib.sha256(data).hexdigest()
            )
        )


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def write_wacz(
    root: Path,
    catalog: Catalog,
    output: Path,
    *,
    selection: WaczSelection,
    new_id: Callable[[], str],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str], None] | None = None,
) -> WaczReport:
    """Write the WACZ package of ``selection`` to ``output``; returns what it holds.

    Raises OutputExistsError (``output`` exists or cannot be written), NoSuchStoryError,
    EmptySelectionError, ArchiveError (a WARC file cannot be read). On any error nothing is
    left at ``output`` nor at its ``.partial`` name.
    """
    if output.exists() or output.is_symlink():
        raise OutputExistsError(f"{output} exists already (a package is never overwritten)")
    story = _story_id(catalog, selection.story) if selection.story is not None else None
    selection = WaczSelection(story=story, outlet=selection.outlet, since=selection.since)
    partial = output.with_name(output.name + ".partial")
    scratch = output.with_name(f".{output.name}.selection.warc.gz")
    try:
        handle = partial.open("xb")
    except FileExistsError:
        raise OutputExistsError(
            f"{partial} exists: another export is writing it, or one was interrupted "
            "(remove it and try again)"
        ) from None
    except OSError as exc:
        raise OutputExistsError(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        with handle, zipfile.ZipFile(handle, "w", allowZip64=True) as zf:
            package = _Package(zip=zf)
            job = _Job(
                root=root,
                catalog=catalog,
                selection=selection,
                new_id=new_id,
                now=now,
                progress=progress,
            )
            report = _fill(job, package, scratch)
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OutputExistsError(f"cannot write {output}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        scratch.unlink(missing_ok=True)
    return WaczReport(
        path=output,
        pages=report.pages,
        records=report.records,
        warc_files=report.warc_files,
        bytes=output.stat().st_size,
    )


def _story_id(catalog: Catalog, story: str) -> str:
    """A story id from a story id or an archived article's URL; NoSuchStoryError otherwise."""
    story = story.strip()
    if not story.startswith("s-"):
        record = catalog.article(story)
        if record is None:
            raise NoSuchStoryError(f"--story: no story {story!r} (nor an archived article's URL)")
        return record.story
    if not catalog.story_docs(story) and story_lead(catalog, story) is None:
        raise NoSuchStoryError(f"--story: no story {story!r} in the archive")
    return story


def _selected(
    catalog: Catalog, selection: WaczSelection
) -> Iterator[tuple[ExportRecord, str, int]]:
    """(newest record, metadata file, metadata offset) of every selected article."""
    after, upto = selection.since, catalog.max_article_id()
    while True:
        batch = catalog.changed_articles(
            after, upto, limit=_BATCH, outlet=selection.outlet, story=selection.story
        )
        if not batch:
            return
        for _, row in batch:
            yield row.record, row.metadata_file, row.metadata_offset
        after = batch[-1][0]


@dataclass
class _Counts:
    pages: int = 0
    records: int = 0
    warc_files: int = 0


@dataclass(frozen=True, kw_only=True)
class _Job:
    root: Path
    catalog: Catalog
    selection: WaczSelection
    new_id: Callable[[], str]
    now: Callable[[], datetime]
    progress: Callable[[str], None] | None


def _fill(job: _Job, package: _Package, scratch: Path) -> _Counts:
    root, catalog, selection, now, progress = (
        job.root,
        job.catalog,
        job.selection,
        job.now,
        job.progress,
    )
    counts = _Counts()
    pages = [_pages_header(selection)]
    warcs: list[tuple[str, Path]] = []  # (name in archive/, the file to index)
    if selection.whole:
        sources: dict[Path, None] = {}  # the WARC files imported articles were read from
        for record, _, _ in _selected(catalog, selection):
            pages.append(_page(record))
            if Path(record.warc.file).is_absolute():
                sources[Path(record.warc.file)] = None
        if len(pages) == 1:
            raise EmptySelectionError("the archive holds no article yet")
        for path, size in [*_archive_files(root), *_source_files(sources, progress)]:
            name = _unique_name(path, warcs)
            package.add_stream(f"archive/{name}", _file_chunks(path, size), size_hint=size)
            warcs.append((name, path))
            if progress is not None:
                progress(f"copied {path} ({size} bytes)")
    else:
        name = f"harvester-{now().strftime('%Y%m%d%H%M%S')}-selection.warc.gz"
        with scratch.open("wb") as out:
            counts.records = _write_selection(job, out, name, pages)
        if len(pages) == 1:
            raise EmptySelectionError(f"no archived article matches {selection.describe()}")
        size = scratch.stat().st_size
        package.add_stream(f"archive/{name}", _file_chunks(scratch, size), size_hint=size)
        warcs.append((name, scratch))
    counts.pages = len(pages) - 1
    counts.warc_files = len(warcs)
    index, indexed = _index(warcs)
    if selection.whole:
        counts.records = indexed
    package.add_bytes("indexes/index.cdx", index)
    package.add_bytes(
        "pages/pages.jsonl",
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages).encode("utf-8"),
    )
    _datapackage(package, selection, now)
    return counts


def _write_selection(job: _Job, out: IO[bytes], name: str, pages: list[dict[str, Any]]) -> int:
    """The selection's WARC file: a warcinfo record, then each article's records copied as
    they are, then (for a story) the story record. Appends the pages; returns the records."""
    root, catalog, selection, new_id, now = (
        job.root,
        job.catalog,
        job.selection,
        job.new_id,
        job.now,
    )
    writer = _Writer(out)
    writer.write_record(
        build_warcinfo(
            filename=name,
            info={
                "software": f"harvester/{__version__}",
                "format": "WARC File Format 1.1",
                "description": f"harvester evidence package: {selection.describe()}; "
                "records copied unchanged from the archive",
            },
            record_id=new_id(),
            date=warc_date(now()),
        )
    )
    records = 1
    seen: set[tuple[str, int]] = set()
    for record, meta_file, meta_offset in _selected(catalog, selection):
        pages.append(_page(record))
        for file, offset, count in [*_capture_spans(catalog, record), (meta_file, meta_offset, 2)]:
            for member in _members(root, file, offset, count, seen):
                out.write(member)
                records += 1
    if selection.story is not None and len(pages) > 1:
        view = story_view(catalog, selection.story)
        if view is not None:
            writer.write_record(_story_record(view.to_json(), selection.story, new_id, now))
            records += 1
    return records


def _archive_files(root: Path) -> Iterator[tuple[Path, int]]:
    """Every closed WARC file with its size, and each live ``.open`` file's complete prefix."""
    yield from ((p, p.stat().st_size) for p in archive_warc_files(root))
    for path in sorted((root / "warc").rglob("*.warc.gz" + OPEN_SUFFIX)):
        complete = _complete_prefix(path)
        if complete:
            yield path, complete


def _source_files(
    sources: dict[Path, None], progress: Callable[[str], None] | None
) -> Iterator[tuple[Path, int]]:
    """The imported articles' source WARC files that still exist (their responses are there,
    not in the archive's own files); a missing one is reported and left out."""
    for path in sources:
        try:
            yield path, path.stat().st_size
        except OSError as exc:
            if progress is not None:
                progress(f"left out {path}, the source of imported articles: {exc.strerror}")


def _complete_prefix(path: Path) -> int:
    """The length of the complete records at the start of a file a writer is appending to."""
    end = 0
    try:
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                record.content_stream().read()
                end = iterator.get_record_offset() + iterator.get_record_length()
    except (OSError, ArchiveLoadFailed, ValueError, EOFError):
        pass  # a record being written: stop at the last complete one
    return end


def _unique_name(path: Path, taken: list[tuple[str, Path]]) -> str:
    name = path.name.removesuffix(OPEN_SUFFIX)
    names = {n for n, _ in taken}
    stem, serial = name, 1
    while name in names:
        serial += 1
        name = f"{serial}-{stem}"
    return name


def _file_chunks(path: Path, size: int) -> Iterator[bytes]:
    try:
        with path.open("rb") as stream:
            left = size
            while left > 0 and (chunk := stream.read(min(_CHUNK, left))):
                left -= len(chunk)
                yield chunk
    except OSError as exc:
        raise ArchiveError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc


def _capture_spans(catalog: Catalog, record: ExportRecord) -> list[tuple[str, int, int]]:
    """(file, offset, 1) of an article's captures: the response its record was made from, the
    newest response of its URL, and the newest capture (a revisit, when the page came back
    unchanged: it names that response, which is therefore in the package too)."""
    spans = [(record.warc.file, record.warc.offset, 1)]
    for row in (
        catalog.latest_response(record.final_url),
        catalog.latest_capture(record.final_url),
    ):
        if row is not None and (row.file, row.offset, 1) not in spans:
            spans.append((row.file, row.offset, 1))
    return spans


def _members(
    root: Path, file: str, offset: int, count: int, seen: set[tuple[str, int]]
) -> Iterator[bytes]:
    """The raw gzip members of up to ``count`` records from ``offset`` of ``file`` (the second
    of a metadata pair only when it is the text record of the same response)."""
    path = root / file
    if not path.exists() and Path(str(path) + OPEN_SUFFIX).exists():
        path = Path(str(path) + OPEN_SUFFIX)
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            iterator = ArchiveIterator(stream)
            spans: list[tuple[int, int]] = []
            refers: str | None = None
            for index, record in enumerate(iterator):
                headers = record.rec_headers
                if index == 1 and (
                    record.rec_type != "conversion"
                    or headers.get_header("WARC-Refers-To") != refers
                ):
                    break
                refers = headers.get_header("WARC-Refers-To")
                record.content_stream().read()
                spans.append((iterator.get_record_offset(), iterator.get_record_length()))
                if len(spans) >= count:
                    break
            for start, length in spans:  # warcio's offsets are the stream's: absolute
                if (file, start) in seen:
                    continue
                seen.add((file, start))
                stream.seek(start)
                yield stream.read(length)
    except (OSError, ArchiveLoadFailed, ValueError, EOFError) as exc:
        raise ArchiveError(f"cannot read {file} at offset {offset}: {exc}") from exc


def _story_record(
    story: dict[str, Any], story_id: str, new_id: Callable[[], str], now: Callable[[], datetime]
) -> Any:
    return build_resource(
        target_uri=STORY_URN + story_id,
        record_id=new_id(),
        date=warc_date(now()),
        body=json.dumps(story, ensure_ascii=False, indent=1).encode("utf-8"),
        content_type="application/json",
    )


def _pages_header(selection: WaczSelection) -> dict[str, Any]:
    return {
        "format": "json-pages-1.0",
        "id": "pages",
        "title": f"harvester: {selection.describe()}",
        "hasText": True,
    }


def _page(record: ExportRecord) -> dict[str, Any]:
    return {
        "id": record.warc.record_id,
        "url": record.final_url,
        "ts": record.fetched,
        "title": record.title or record.final_url,
        "text": record.text,
        "outlet": record.outlet,
        "story": record.story,
        "is_original": record.is_original,
    }


def _index(warcs: list[tuple[str, Path]]) -> tuple[bytes, int]:
    """The sorted CDXJ index of the package's WARC files (named as in ``archive/``)."""
    lines: list[str] = []
    for name, path in warcs:
        lines.extend(f"{line}\n" for line in cdxj_records(path, filename=name, derived_urns=True))
    lines.sort()
    unique = list(dict.fromkeys(lines))
    return "".join(unique).encode("utf-8"), len(unique)


def _datapackage(package: _Package, selection: WaczSelection, now: Callable[[], datetime]) -> None:
    created = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    resources = [
        {
            "name": _NAME_RE.sub("-", Path(e.path).name.lower()),
            "path": e.path,
            "hash": e.digest,
            "bytes": e.size,
        }
        for e in package.entries
    ]
    datapackage = {
        "profile": "data-package",
        "resources": resources,
        "title": f"harvester: {selection.describe()}",
        "created": created,
        "wacz_version": WACZ_VERSION,
        "software": f"harvester {__version__}",
    }
    body = json.dumps(datapackage, indent=2).encode("utf-8")
    package.zip.writestr(
        zipfile.ZipInfo("datapackage.json", date_time=_zip_time()), body, zipfile.ZIP_DEFLATED
    )
    digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(body).hexdigest()}
    package.zip.writestr(
        zipfile.ZipInfo("datapackage-digest.json", date_time=_zip_time()),
        json.dumps(digest, indent=2).encode("utf-8"),
        zipfile.ZIP_DEFLATED,
    )
