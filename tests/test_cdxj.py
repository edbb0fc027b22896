"""CDXJ indexes agree line for line with cdxj-indexer: on harvester's own archive, on real WARC
files from other tools (../shared/data/warc), and on SURT keys of generated URLs."""

from __future__ import annotations

import gc
import gzip
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from cdxj_indexer.main import write_cdx_index  # type: ignore[import-untyped]
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mockserver import CHUNKED, GZIP, MockServer
from pages import WIRE_PARAGRAPHS, article_page, listing_page

from harvester.clock import FrozenClock
from harvester.config import Settings
from harvester.errors import ArchiveError
from harvester.models import Archived, FetchRequest, HttpError, NotArticle
from harvester.pipeline import Harvester
from harvester.warc.cdxj import (
    DEFAULT_RECORDS,
    CdxjLine,
    archive_warc_files,
    cdxj_records,
    surt_urlkey,
    write_cdxj,
)
from harvester.warc.reader import iter_records

CDXJ_INDEXER = Path(sys.executable).parent / "cdxj-indexer"


def harvest(settings: Settings, url: str) -> object:
    with Harvester(settings, clock=FrozenClock()) as harvester:
        return harvester.harvest(FetchRequest(url=url))


def reference_cli(root: Path, *args: str) -> str:
    """cdxj-indexer's sorted index of ``<root>/warc``, run from the root with relative paths."""
    done = subprocess.run(
        [str(CDXJ_INDEXER), "--sort", "--dir-root", ".", *args, "warc"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def reference(paths: list[Path], **opts: object) -> tuple[str, BaseException | None]:
    """cdxj-indexer's output (via its Python API) and the exception it stopped with, if any."""
    out = io.StringIO()
    # warcio's ensure_digest (cdxj-indexer's digest fallback) leaves SpooledTemporaryFiles open
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            write_cdx_index(out, [str(p) for p in paths], dict(opts))
        except Exception as exc:  # noqa: BLE001  (cdxj-indexer lets anything through)
            return out.getvalue(), exc
        finally:
            gc.collect()
    return out.getvalue(), None


def ours(root: Path, **kw: object) -> tuple[str, int]:
    out = io.StringIO()
    count = write_cdxj(root, out, **kw)  # type: ignore[arg-type]
    return out.getvalue(), count


# -- harvester's own archive ----------------------------------------------------------------------


@pytest.fixture
def harvested(server: MockServer, settings: Settings, archive_dir: Path) -> Path:
    """An archive with an article, its unchanged refetch (revisit), a redirect, a listing page
    (not an article), a 404, a gzip and a chunked response: one WARC file per harvest."""
    server.route("/2026/03/story", article_page())
    server.redirect("/short", "/2026/03/other", status=301)
    server.route("/2026/03/other", article_page(paragraphs=(*WIRE_PARAGRAPHS, "Another one.")))
    server.route("/news", listing_page())
    server.route("/gz", article_page(paragraphs=(*WIRE_PARAGRAPHS, "Zipped.")), behaviour=GZIP)
    chunked = article_page(paragraphs=("Chunked.", *WIRE_PARAGRAPHS))
    server.route("/chunked?page=2&a=1", chunked, behaviour=CHUNKED)
    outcomes = [
        harvest(settings, server.url("/2026/03/story")),
        harvest(settings, server.url("/2026/03/story")),
        harvest(settings, server.url("/short")),
        harvest(settings, server.url("/news")),
        harvest(settings, server.url("/missing")),
        harvest(settings, server.url("/gz")),
        harvest(settings, server.url("/chunked?page=2&a=1")),
    ]
    assert [type(o) for o in outcomes] == [
        Archived,
        Archived,
        Archived,
        NotArticle,
        HttpError,
        Archived,
        Archived,
    ]
    assert isinstance(outcomes[1], Archived) and outcomes[1].revisit
    return archive_dir


def test_harvester_archive_matches_cdxj_indexer(harvested: Path) -> None:
    files = archive_warc_files(harvested)
    assert len(files) == 7
    text, count = ours(harvested)
    assert text == reference_cli(harvested)
    lines = text.splitlines()
    assert count == len(lines)
    assert lines == sorted(lines)

    parsed = [(key, ts, json.loads(block)) for key, ts, block in (ln.split(" ", 2) for ln in lines)]
    by_mime: dict[str, int] = {}
    for key, ts, fields in parsed:
        by_mime[fields["mime"]] = by_mime.get(fields["mime"], 0) + 1
        assert re.fullmatch(r"\d{14}", ts)
        if fields["mime"] == "application/json":  # derived records: a URN of their own
            assert key.startswith("urn:harvester:metadata:http://127.0.0.2:"), key
        else:
            assert key.startswith("2,0,0,127:"), key  # SURT: the IP reversed, the port kept
        assert fields["filename"].startswith("warc/") and fields["filename"].endswith(".warc.gz")
        assert (harvested / fields["filename"]).is_file()
        assert list(fields)[:2] == ["url", "mime"]
        assert list(fields)[-3:] == ["length", "offset", "filename"]
    # one line per response, revisit and metadata (application/json) record; never the
    # conversion records (text/plain), warcinfo or request
    types = Counter(rec.type for path in files for rec in iter_records(path))
    assert count == types["response"] + types["revisit"] + types["metadata"]
    assert by_mime["warc/revisit"] == types["revisit"] == 1
    assert by_mime["application/json"] == types["metadata"] >= 6
    assert types["conversion"] == 4 and "text/plain" not in by_mime
    statuses = sorted(f.get("status", "-") for _, _, f in parsed)
    assert statuses.count("301") == 1 and statuses.count("404") == 1
    keys = {key for key, _, _ in parsed}
    assert any(k.endswith(")/chunked?a=1&page=2") for k in keys)  # query arguments sorted

    revisit = next(f for _, _, f in parsed if f["mime"] == "warc/revisit")
    assert revisit["status"] == "200" and revisit["digest"].startswith("sha1:")
    # offset and length locate the record
    for _, _, fields in parsed:
        start, length = int(fields["offset"]), int(fields["length"])
        with (harvested / fields["filename"]).open("rb") as fh:
            fh.seek(start)
            member = fh.read(length)
        record = gzip.decompress(member)
        assert record.startswith(b"WARC/1.1\r\n")
        assert f"WARC-Target-URI: {fields['url']}\r\n".encode() in record


def test_conversion_records_on_request(harvested: Path) -> None:
    records = (*sorted(DEFAULT_RECORDS), "conversion")
    text, _ = ours(harvested, records=records)
    assert text == reference_cli(harvested, "--records", ",".join(records))
    mimes = [json.loads(ln.split(" ", 2)[2])["mime"] for ln in text.splitlines()]
    assert mimes.count("text/plain") == 4  # one per article


def test_cli_indexes_captures_and_conversions(
    harvested: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harvester.cli import main

    assert main(["cdxj", "--archive", str(harvested)]) == 0
    out, err = capsys.readouterr()
    default = ",".join((*sorted(DEFAULT_RECORDS), "conversion"))
    assert out == reference_cli(harvested, "--records", default)
    assert err.strip() == f"harvester: {len(out.splitlines())} CDXJ lines"
    target = tmp_path / "index.cdxj"
    assert main(["cdxj", "--archive", str(harvested), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == out
    assert not list(tmp_path.glob("*.partial"))
    capsys.readouterr()
    assert main(["cdxj", "--archive", str(tmp_path / "none")]) == 6
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("harvester: no WARC files under")


def test_every_record_on_request(harvested: Path) -> None:
    text, _ = ours(harvested, records=None)
    assert text == reference_cli(harvested, "--records", "all")
    assert '"mime": "application/warc-fields"' in text  # the warcinfo records


def test_cdxj_records_in_file_order(harvested: Path) -> None:
    path = archive_warc_files(harvested)[0]
    name = path.relative_to(harvested).as_posix()
    lines = list(cdxj_records(path, filename=name))
    assert all(isinstance(line, CdxjLine) for line in lines)
    offsets = [int(line.fields["offset"]) for line in lines]
    assert offsets == sorted(offsets)
    expected, error = reference([path], dir_root=str(harvested))
    assert error is None
    assert [f"{line}\n" for line in lines] == expected.splitlines(keepends=True)


# -- sorting, .open files, errors -----------------------------------------------------------------


def test_open_files_and_other_names_skipped(harvested: Path) -> None:
    files = archive_warc_files(harvested)
    before, count = ours(harvested)
    month = files[0].parent
    shutil.copy(files[0], month / "harvester-still-writing.warc.gz.open")
    (month / "notes.txt").write_text("not a WARC file\n", encoding="utf-8")
    (harvested / "stray.warc.gz").write_bytes(files[0].read_bytes())  # outside warc/
    assert archive_warc_files(harvested) == files
    after, again = ours(harvested)
    assert (after, again) == (before, count)
    assert ".open" not in after
    assert after == reference_cli(harvested)


def test_external_sort_equals_in_memory_sort(harvested: Path) -> None:
    expected, count = ours(harvested)
    for limit in (1, 500, 5000):  # 1: a run per line, > 64 runs, merged in two rounds
        assert ours(harvested, sort_buffer=limit) == (expected, count)


def test_duplicate_lines_dropped_like_cdxj_indexer(harvested: Path) -> None:
    files = archive_warc_files(harvested)
    text, count = ours(harvested, files=[files[0], files[0].relative_to(harvested)])
    single, single_count = ours(harvested, files=files[:1])
    assert (text, count) == (single, single_count)
    expected, error = reference([files[0], files[0]], sort=True, dir_root=str(harvested))
    assert error is None and text == expected


def test_sorted_across_files_in_string_order(tmp_path: Path, shared_data: Path) -> None:
    warcs = shared_data / "warc" / "pywb" / "warcs"
    names = ["iana.warc.gz", "dupes.warc.gz", "example.warc.gz", "example2.warc.gz"]
    text, count = ours(warcs, files=[Path(n) for n in names])
    lines = text.splitlines(keepends=True)
    assert lines == sorted(lines) and count == len(lines) == 171 + 12 + 3 + 1
    expected, error = reference([warcs / n for n in names], sort=True, dir_root=str(warcs))
    assert error is None and text == expected


def test_unreadable_file_is_an_archive_error(harvested: Path) -> None:
    files = archive_warc_files(harvested)
    broken = files[0].parent / "harvester-broken.warc.gz"
    # a record that is not WARC after valid ones (a truncated gzip member is not detected:
    # warcio, and so cdxj-indexer, index what it holds)
    broken.write_bytes(files[-1].read_bytes() + b"<!doctype html>\n")
    out = io.StringIO()
    with pytest.raises(ArchiveError) as caught:
        write_cdxj(harvested, out, files=[*files, broken])
    message = str(caught.value)
    assert str(broken) in message and "\n" not in message
    assert "Unknown archive format" in message and "at offset" in message
    assert out.getvalue() == ""  # nothing written before every file was read

    with pytest.raises(ArchiveError, match=re.escape("warc/missing.warc.gz")):
        write_cdxj(harvested, out, files=[Path("warc/missing.warc.gz")])
    with pytest.raises(ArchiveError, match="no archive"):
        write_cdxj(harvested / "nowhere", out)


def test_empty_archive(tmp_path: Path) -> None:
    assert ours(tmp_path) == ("", 0)


# -- real WARC files from other tools ------------------------------------------------------------

# What cdxj-indexer (and so cdxj_records) cannot read, and why (see shared/data/warc/README.md).
BROKEN = {
    "pywb/warcs/example-bad.warc.gz.bad": "non-chunked gzip",
    "warcio/example-bad.warc.gz.bad": "non-chunked gzip",
    "warcio/example-bad-non-chunked.warc.gz": "non-chunked gzip",
    "warcio/example-wrong-chunks.warc.gz": "Unknown archive format",
    "resiliparse/block-sized-records.warc.lz4": "Unknown archive format",
    "resiliparse/warcfile.warc.lz4": "Unknown archive format",
    # ClueWeb09's WARC-Date "2008-10-294T05:21:46-0700" has no valid day
    "resiliparse/clueweb-quirk.warc.gz": "bad WARC-Date '2008-10-294T05:21:46-0700'",
}


def archive_files(data: Path) -> Iterator[Path]:
    for path in sorted((data / "warc").rglob("*")):
        if path.is_file() and path.suffix not in (".json", ".md", ".cdxj"):
            yield path


@pytest.mark.shared_data
def test_real_files_match_cdxj_indexer(shared_data: Path) -> None:
    root = shared_data / "warc"
    readable: list[Path] = []
    broken: dict[str, str] = {}
    for path in archive_files(shared_data):
        rel = path.relative_to(root).as_posix()
        expected, error = reference([path])
        lines: list[str] = []
        try:
            lines.extend(f"{line}\n" for line in cdxj_records(path, filename=path.name))
        except ArchiveError as exc:
            broken[rel] = str(exc)
        # line for line, also the lines before the point where both stop on a broken file
        assert "".join(lines) == expected, rel
        assert (error is None) == (rel not in broken), f"{rel}: {error!r} / {broken.get(rel)}"
        if error is None:
            readable.append(path)
    assert set(broken) == set(BROKEN)
    for rel, message in broken.items():
        assert BROKEN[rel] in message and str(root / rel) in message, message
        assert "\n" not in message
    assert len(readable) >= 30

    # all readable files at once, sorted, names relative to the root as given to --dir-root
    text, count = ours(root, files=readable)
    expected, error = reference(readable, sort=True, dir_root=str(root))
    assert error is None and text == expected and count == len(text.splitlines())


# pywb's own expected indexes of its sample WARCs. They come from pywb's older indexer, which
# writes digests without the "sha1:" prefix, no status for revisits and "unk" for a missing mime;
# with those three differences normalised they must equal ours (and cdxj-indexer's).
PYWB_SAME = {
    "iana.cdxj": ["iana.warc.gz"],
    "dupes.cdxj": ["dupes.warc.gz"],
    "example2.cdxj": ["example2.warc.gz"],
    "url-agnost-example.cdxj": [
        "example-url-agnostic-orig.warc.gz",
        "example-url-agnostic-revisit.warc.gz",
    ],
}
# Hand-trimmed fixtures (fields removed to test pywb's fallbacks): every field they keep agrees.
PYWB_TRIMMED = {"example.cdxj": ["example.warc.gz"], "example-no-digest.cdxj": ["example.warc.gz"]}
# Indexed with POST bodies appended to the key (cdxj-indexer --post-append, not what we do):
# every field but the key agrees.
PYWB_POST_APPEND = {"post-test.cdxj": ["post-test.warc.gz"]}


def normalised(text: str) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for line in text.splitlines():
        key, ts, block = line.split(" ", 2)
        fields = json.loads(block)
        if "digest" in fields:
            fields["digest"] = fields["digest"].removeprefix("sha1:")
        if fields.get("mime") == "unk":
            del fields["mime"]
        if fields.get("mime") == "warc/revisit":
            fields.pop("status", None)
        out.append((key, ts, fields))
    return out


@pytest.mark.shared_data
def test_pywb_expected_indexes(shared_data: Path) -> None:
    pywb = shared_data / "warc" / "pywb"

    def index(names: list[str]) -> list[tuple[str, str, dict[str, str]]]:
        return normalised(ours(pywb / "warcs", files=[Path(n) for n in names])[0])

    def expected(name: str) -> list[tuple[str, str, dict[str, str]]]:
        return normalised((pywb / "cdxj" / name).read_text(encoding="utf-8"))

    for name, names in PYWB_SAME.items():
        assert index(names) == expected(name), name
    for name, names in PYWB_TRIMMED.items():
        mine, theirs = index(names), expected(name)
        assert len(mine) == len(theirs), name
        for (key, ts, fields), (their_key, their_ts, their_fields) in zip(
            mine, theirs, strict=True
        ):
            assert (key, ts) == (their_key, their_ts)
            assert their_fields.items() <= fields.items(), name
    for name, names in PYWB_POST_APPEND.items():
        mine_by_offset = {f["offset"]: (ts, f) for _, ts, f in index(names)}
        theirs = expected(name)
        assert len(mine_by_offset) == len(theirs)
        for their_key, their_ts, their_fields in theirs:
            assert "__wb_method=post" in their_key
            assert mine_by_offset[their_fields["offset"]] == (their_ts, their_fields)


# -- SURT keys ------------------------------------------------------------------------------------


def surt_reference(url: str) -> str:
    """cdxj-indexer's key: surt.surt(url), or the URL itself where surt raises."""
    import surt  # type: ignore[import-untyped]

    try:
        key: str = surt.surt(url)
    except Exception:  # noqa: BLE001  (cdxj-indexer's bare except)
        return url
    return key


_real_gethostbyname_ex = socket.gethostbyname_ex


def _no_dns(name: str | bytes) -> tuple[str, list[str], list[str]]:
    """surt resolves digits-and-dots host names; never let it reach DNS with anything else."""
    raw = name.encode() if isinstance(name, str) else name
    if not re.fullmatch(rb"[0-9.]+", raw):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (no DNS in tests)")
    return _real_gethostbyname_ex(raw.decode("ascii"))


_labels = st.text(
    alphabet=st.sampled_from("abcXYZ019-_%é.ü~ "),
    min_size=0,
    max_size=8,
)
_hosts = st.one_of(
    st.lists(_labels, min_size=1, max_size=4).map(".".join),
    st.sampled_from(
        [
            "www.Example.com",
            "WWW2.example.co.uk",
            "www.",
            "127.0.0.2",
            "1.2.3",
            "0x7f.1",
            "0177.0.0.1",
            "0.1.2.777",
            "4294967297",
            "999.1.1.1",
            "[::1]",
            "[FE80::1%25eth0]",
            "b%C3%BCcher.de",
            "bücher.de",
            "xn--bcher-kva.de",
            "ex%2Eample.com",
            "a..b...c.",
            "%31%32%37.0.0.1",
        ]
    ),
    st.lists(st.integers(0, 400).map(str), min_size=1, max_size=4).map(".".join),
)
_schemes = st.sampled_from(
    ["http://", "https://", "HTTP://", "ftp://", "http://https://", "", "//", "dns:", "urn:"]
)
_ports = st.sampled_from(["", ":80", ":443", ":8080", ":", ":0", ":99999", ":x1"])
_segments = st.text(alphabet=st.sampled_from("aB9./%2F()é~;= \t-_"), max_size=12)
_queries = st.one_of(
    st.just(""),
    st.just("?"),
    st.lists(
        st.sampled_from(
            [
                "b=2",
                "a=1",
                "A",
                "a=",
                "jsessionid=0123456789abcdef0123456789ABCDEF",
                "PHPSESSID=0123456789abcdef0123456789abcdef",
                "CFID=12&CFTOKEN=ab",
                "x=%20y",
                "q=caf%C3%A9",
                "",
            ]
        ),
        max_size=4,
    ).map(lambda args: "?" + "&".join(args)),
)
_urls = st.builds(
    lambda pad, scheme, user, host, port, path, query, frag: (
        f"{pad}{scheme}{user}{host}{port}{path}{query}{frag}{pad}"
    ),
    st.sampled_from(["", " ", "\n"]),
    _schemes,
    st.sampled_from(["", "user:pw@"]),
    _hosts,
    _ports,
    st.lists(_segments, max_size=4).map(lambda parts: "/" + "/".join(parts) if parts else ""),
    _queries,
    st.sampled_from(["", "#top", "#"]),
)


@settings(max_examples=1500, deadline=None)
@given(
    url=st.one_of(
        _urls,
        st.text(max_size=30),
        st.text(alphabet="htps:/.%[]@?#&=0123456789abcfAEwé\n\t ~()-", max_size=40),
    )
)
@example(url="http://archive.org/goo/?a=2&b&a=1")
@example(url="http://www.example.com/(s(abcdefghijklmnopqrstuvwx))/x.aspx")
@example(url="filedesc://iana.warc.gz")
@example(url="http:////////////www.vikings.com")
@example(url="   ")
@example(url="")
def test_surt_keys_match_surt(url: str) -> None:
    with mock.patch.object(socket, "gethostbyname_ex", _no_dns):
        expected = surt_reference(url)
    assert surt_urlkey(url) == expected, url


def test_surt_examples() -> None:
    assert surt_urlkey("http://archive.org/goo/?a=2&b&a=1") == "org,archive)/goo?a=1&a=2&b"
    assert surt_urlkey("http://www.Example.com:80/A/") == "com,example)/a"
    assert surt_urlkey("https://127.0.0.2:8443/x") == "2,0,0,127:8443)/x"
    assert surt_urlkey("dns:www.example.com") == "dns:www.example.com"
    assert surt_urlkey(None) == surt_urlkey("") == "-"
    assert surt_urlkey("http://example.com:99999/") == "http://example.com:99999/"
