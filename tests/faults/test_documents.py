"""Bad documents: XML bombs and external entities in feeds and sitemaps, broken and hostile
HTML, wrong or conflicting charsets, and a feed of a million items.

Every document here is written for these tests (invented outlets, team-written sentences).
XML attacks go through the daemon (``run_daemon(..., once=True)``) against local servers;
pages go through ``Harvester.harvest``. Nothing times anything: "never read" is asserted from
file access times and a sentinel that must appear nowhere, "never fetched" from the request
log of a server listening at the attacker's URL.
"""

from __future__ import annotations

import builtins
import gzip
import html
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree
from mockserver import GZIP, MockServer, free_loopback_host
from pages import article_page

from harvester.clock import SystemClock
from harvester.config import Outlet, Settings
from harvester.daemon import MAX_NEW_PER_POLL, Crawler, run_daemon
from harvester.discover import feeds, sitemaps
from harvester.discover.feeds import EXAMINE_FACTOR, MAX_FEED_BYTES, parse_feed
from harvester.extract.content import decode_html
from harvester.models import Archived, FetchRequest, NotArticle, Outcome
from harvester.pipeline import Harvester
from harvester.warc.reader import iter_records, read_record

pytestmark = pytest.mark.faults

SENTINEL = "sentinel-7d3a91-must-never-be-read"
ENTITIES = "declares entities (<!ENTITY)"
FEED_ITEMS = 5000  # parse_feed's default max_items, the daemon's per-feed cap


# --- helpers --------------------------------------------------------------------------------


def with_outlet(
    settings: Settings, *, feeds: tuple[str, ...] = (), sitemaps: tuple[str, ...] = ()
) -> Settings:
    home = (*feeds, *sitemaps)[0]
    outlet = Outlet(name="Courier", home=home, feeds=feeds, sitemaps=sitemaps)
    return replace(settings, outlets=(outlet,))


def archive_bytes(root: Path) -> bytes:
    """Everything the archive holds, WARC payloads inflated and the catalog dumped as text."""
    parts: list[bytes] = []
    for path in sorted((root / "warc").rglob("*.warc.gz*")):
        parts.extend(record.content for record in iter_records(path))
    catalog = root / "index.sqlite"
    if catalog.exists():
        with sqlite3.connect(catalog) as db:
            parts.extend(line.encode("utf-8", "replace") for line in db.iterdump())
    return b"\n".join(parts)


def response_payload(root: Path, outcome: Outcome) -> bytes:
    """The payload of the WARC response record behind an Archived or NotArticle outcome."""
    if isinstance(outcome, Archived):
        location = outcome.record.warc
    else:
        assert isinstance(outcome, NotArticle) and outcome.warc is not None, outcome
        location = outcome.warc
    record = read_record(root, location.file, location.offset)
    assert record.type == "response"
    return record.content


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file whose reading would leave its access time changed (checked to work here)."""
    control = tmp_path / "control.txt"
    control.write_text("control\n")
    os.utime(control, (1_000_000, 1_000_000))
    control.read_text()
    if control.stat().st_atime == 1_000_000:
        pytest.skip("this file system does not record access times (noatime)")
    secret = tmp_path / "secret.txt"
    secret.write_text(SENTINEL + "\n")
    os.utime(secret, (1_000_000, 1_000_000))
    return secret


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths opened through Python's ``open`` during the test."""
    seen: list[str] = []
    real: Callable[..., Any] = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return seen


@pytest.fixture
def attacker() -> Iterator[MockServer]:
    """A server at the address a hostile document points its entities and DTDs at."""
    with MockServer(free_loopback_host(9)) as srv:
        srv.route("/x", SENTINEL, content_type="text/plain")
        srv.route("/evil.dtd", f'<!ENTITY leak "{SENTINEL}">', content_type="application/xml-dtd")
        yield srv


# --- XML documents ----------------------------------------------------------------------------

KINDS = ("rss", "rss-utf16", "rss-gzip-coded", "atom", "sitemap", "sitemap-gz")


def xml_document(kind: str, doctype: str, *, ref: str, story: str) -> bytes:
    """A feed or sitemap of ``kind`` with ``doctype`` before the root and ``ref`` (an entity
    reference) in its text, listing the one URL ``story``."""
    if kind.startswith("rss"):
        root = "rss"
        body = (
            f'<rss version="2.0"><channel><title>Courier {ref}</title>'
            f"<item><title>Harbour news {ref}</title><link>{story}</link>"
            f'<guid isPermaLink="false">{ref}</guid></item></channel></rss>'
        )
    elif kind == "atom":
        root = "feed"
        body = (
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>Courier {ref}</title>'
            f"<id>urn:courier</id><entry><title>Harbour news {ref}</title>"
            f'<link href="{story}"/><id>{ref}</id></entry></feed>'
        )
    else:
        root = "urlset"
        body = (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
            ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"<url><loc>{story}</loc><news:news><news:title>Harbour news {ref}</news:title>"
            "</news:news></url></urlset>"
        )
    text = '<?xml version="1.0"?>\n' + doctype.replace("ROOT", root) + "\n" + body
    if kind == "rss-utf16":
        return text.replace(
            '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'
        ).encode("utf-16")
    data = text.encode()
    return gzip.compress(data, mtime=0) if kind == "sitemap-gz" else data


def serve_document(server: MockServer, kind: str, data: bytes) -> dict[str, tuple[str, ...]]:
    """Serve ``data`` as the outlet's feed or sitemap; return the Outlet sources for it."""
    if kind.startswith("sitemap"):
        path = "/sitemap.xml.gz" if kind == "sitemap-gz" else "/sitemap.xml"
        server.route(
            path,
            data,
            content_type="application/gzip" if kind == "sitemap-gz" else "application/xml",
        )
        return {"sitemaps": (server.url(path),)}
    path = "/atom.xml" if kind == "atom" else "/rss.xml"
    behaviour = GZIP if kind == "rss-gzip-coded" else "normal"
    server.route(path, data, content_type="application/xml", behaviour=behaviour)
    return {"feeds": (server.url(path),)}


def poll_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "harvester.daemon" and r.levelno >= logging.ERROR
    ]


def assert_refused_at_poll(
    server: MockServer,
    *,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    data: bytes,
    reason: str,
) -> None:
    """The daemon polls the document once: the poll fails with one clear line, the listed
    story is never fetched, and the run exits with 4 (every outlet failed), no traceback."""
    sources = serve_document(server, kind, data)
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(with_outlet(settings, **sources), once=True) == 4
    (error,) = poll_errors(caplog)
    assert error.startswith("Courier: ")
    assert reason in error
    assert "\n" not in error
    assert "Traceback" not in caplog.text
    assert server.requests_for("/story") == []


def billion_laughs(levels: int = 10) -> tuple[str, str]:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels)]
    return "<!DOCTYPE ROOT [\n" + "\n".join(entities) + "\n]>", f"&lol{levels - 1};"


@pytest.mark.parametrize("kind", KINDS)
def test_billion_laughs_is_refused_at_poll(
    server: MockServer, settings: Settings, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    doctype, ref = billion_laughs()
    data = xml_document(kind, doctype, ref=ref, story=server.url("/story"))
    assert_refused_at_poll(
        server, settings=settings, caplog=caplog, kind=kind, data=data, reason=ENTITIES
    )
    assert "lollol" not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_quadratic_blowup_is_refused_at_poll(
    server: MockServer, settings: Settings, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    # One 50,000-character entity referenced 10,000 times: 500 MB if expanded.
    doctype = '<!DOCTYPE ROOT [<!ENTITY big "' + "x" * 50_000 + '">]>'
    data = xml_document(kind, doctype, ref="&big;" * 10_000, story=server.url("/story"))
    assert_refused_at_poll(
        server, settings=settings, caplog=caplog, kind=kind, data=data, reason=ENTITIES
    )


@pytest.mark.parametrize("kind", KINDS)
def test_external_file_entities_are_refused_and_never_read(
    *,
    server: MockServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    secret_file: Path,
    opened: list[str],
    kind: str,
) -> None:
    doctype = (
        f'<!DOCTYPE ROOT [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY secret SYSTEM "{secret_file.as_uri()}">]>'
    )
    data = xml_document(kind, doctype, ref="&passwd;&secret;", story=server.url("/story"))
    assert_refused_at_poll(
        server, settings=settings, caplog=caplog, kind=kind, data=data, reason=ENTITIES
    )
    assert secret_file.stat().st_atime == 1_000_000  # not read, by anything
    assert str(secret_file) not in opened
    archived = archive_bytes(settings.archive.dir)
    for leaked in (SENTINEL, "root:x:0:0"):
        assert leaked.encode() not in archived
        assert leaked not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
def test_external_http_entities_are_refused_and_never_fetched(
    server: MockServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    attacker: MockServer,
    kind: str,
) -> None:
    doctype = (
        f'<!DOCTYPE ROOT [<!ENTITY remote SYSTEM "{attacker.url("/x")}">'
        f'<!ENTITY % dtd SYSTEM "{attacker.url("/evil.dtd")}"> %dtd;]>'
    )
    data = xml_document(kind, doctype, ref="&remote;&leak;", story=server.url("/story"))
    assert_refused_at_poll(
        server, settings=settings, caplog=caplog, kind=kind, data=data, reason=ENTITIES
    )
    assert attacker.requests == []
    assert SENTINEL.encode() not in archive_bytes(settings.archive.dir)


@pytest.mark.parametrize("kind", KINDS)
def test_entity_defences_hold_past_the_prolog_check(
    *,
    server: MockServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    secret_file: Path,
    attacker: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """Defence in depth: with the byte-level prolog check switched off, the parser itself
    neither reads the file nor fetches the URL, and the declared entities still refuse it."""
    monkeypatch.setattr(feeds, "_check_prolog", lambda data: data)
    monkeypatch.setattr(sitemaps, "_check_prolog", lambda data: data)
    doctype = (
        f'<!DOCTYPE ROOT [<!ENTITY secret SYSTEM "{secret_file.as_uri()}">'
        f'<!ENTITY remote SYSTEM "{attacker.url("/x")}">'
        f'<!ENTITY % dtd SYSTEM "{attacker.url("/evil.dtd")}"> %dtd;]>'
    )
    data = xml_document(kind, doctype, ref="&secret;&remote;&leak;", story=server.url("/story"))
    assert_refused_at_poll(
        server,
        settings=settings,
        caplog=caplog,
        kind=kind,
        data=data,
        reason="the document type declares entities",
    )
    assert secret_file.stat().st_atime == 1_000_000
    assert attacker.requests == []
    assert SENTINEL.encode() not in archive_bytes(settings.archive.dir)


@pytest.mark.parametrize("kind", KINDS)
def test_external_dtd_is_never_loaded_and_the_document_still_counts(
    server: MockServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    attacker: MockServer,
    kind: str,
) -> None:
    """A DOCTYPE naming an external DTD (RSS 0.91's Netscape DOCTYPE is one) is legitimate, so
    the document is read, but the DTD is never fetched and its entities stay undefined."""
    doctype = f'<!DOCTYPE ROOT SYSTEM "{attacker.url("/evil.dtd")}">'
    sources = serve_document(
        server, kind, xml_document(kind, doctype, ref="&leak;", story=server.url("/story"))
    )
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(with_outlet(settings, **sources), once=True) == 0
    assert poll_errors(caplog) == []
    assert len(server.requests_for("/story")) == 1  # discovered and fetched (a 404 here)
    assert attacker.requests == []
    assert SENTINEL.encode() not in archive_bytes(settings.archive.dir)
    assert SENTINEL not in caplog.text


def test_a_bombed_outlet_does_not_stop_the_others(
    server: MockServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    doctype, ref = billion_laughs()
    server.route("/bomb.xml", xml_document("rss", doctype, ref=ref, story=server.url("/story")))
    with MockServer(free_loopback_host(3)) as good:
        good.robots("User-agent: *\nAllow: /\n")
        good.route("/a1", article_page())
        good.route(
            "/rss.xml",
            xml_document("rss", "", ref="", story=good.url("/a1")),
            content_type="application/rss+xml",
        )
        outlets = (
            Outlet(name="Bombed", home=server.url("/"), feeds=(server.url("/bomb.xml"),)),
            Outlet(name="Courier", home=good.url("/"), feeds=(good.url("/rss.xml"),)),
        )
        with caplog.at_level(logging.INFO, logger="harvester"):
            assert run_daemon(replace(settings, outlets=outlets), once=True) == 0
        assert len(good.requests_for("/a1")) == 1
    (error,) = poll_errors(caplog)
    assert error.startswith("Bombed: feed ") and "declares entities" in error
    assert "Courier: archived" in caplog.text


# --- broken and hostile HTML ------------------------------------------------------------------

GOOD = article_page()
KEY_SENTENCE = "The board voted seven to two in favour"
BROKEN: dict[str, bytes] = {
    "unclosed-tags": GOOD.replace("</p>", "")
    .replace("</article>", "")
    .replace("</main>", "")
    .replace("</body></html>", "")
    .encode(),
    "stray-end-tags": (
        "</html></body></div>" + GOOD.replace("<main>", "</html></p></td><main>") + "</html></html>"
    ).encode(),
    "nul-bytes": GOOD.replace("The board", "The\x00 board").replace("<h1>", "<h1>\x00").encode(),
    "control-bytes": GOOD.replace("The board", "The\x01\x0b\x1b board").encode(),
    "unterminated-comment": GOOD.replace("</footer>", "</footer><!-- never closed").encode(),
    "garbage": bytes(range(256)) * 64,
    "angle-soup": b"<<<<>>>>&&&;;;</></<!--<![CDATA[" * 2000,
    "empty": b"",
}
BROKEN_ARTICLES = ("unclosed-tags", "stray-end-tags", "nul-bytes", "control-bytes",
                   "unterminated-comment")  # fmt: skip


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_html_is_a_clean_article_or_a_clear_not_article(
    server: MockServer, settings: Settings, name: str
) -> None:
    body = BROKEN[name]
    server.route("/page", body)
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/page")))
    if name in BROKEN_ARTICLES:
        assert isinstance(outcome, Archived), outcome
        text = outcome.record.text
        assert KEY_SENTENCE in text
        assert not any(c in text for c in "\x00\x01\x0b\x1b")
        text.encode("utf-8")  # valid Unicode: no lone surrogates
    else:
        assert isinstance(outcome, NotArticle), outcome
        assert outcome.reason and "\n" not in outcome.reason
    assert response_payload(settings.archive.dir, outcome) == body


def nested_page(depth: int) -> str:
    text = html.escape("Deep text in a nest of divisions. " * 20)
    return (
        f"<!DOCTYPE html><html><body>{'<div>' * depth}<p>{text}</p>{'</div>' * depth}</body></html>"
    )


def attribute_page(count: int) -> str:
    attributes = " ".join(f'data-a{i}="v{i}"' for i in range(count))
    text = html.escape("Attribute soup sentence for the test. " * 20)
    return f"<!DOCTYPE html><html><body><div {attributes}><p>{text}</p></div></body></html>"


@pytest.mark.parametrize(
    ("page", "reasons"),
    [
        (nested_page(50_000), ("no main text found", "time budget")),
        (attribute_page(100_000), ("hostile markup", "time budget")),
    ],
    ids=["50000-deep", "100000-attributes"],
)
def test_pathological_page_is_bounded_archived_and_the_next_page_works(
    server: MockServer, settings: Settings, page: str, reasons: tuple[str, ...]
) -> None:
    server.route("/hostile", page)
    server.route("/next", GOOD)
    tight = replace(settings, extract=replace(settings.extract, budget=2.0))
    with Harvester(tight) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/hostile")))
        after = harvester.harvest(FetchRequest(url=server.url("/next")))
    assert isinstance(outcome, NotArticle), outcome
    assert any(reason in outcome.reason for reason in reasons), outcome.reason
    assert response_payload(settings.archive.dir, outcome) == page.encode()
    assert isinstance(after, Archived)
    assert KEY_SENTENCE in after.record.text


def test_attribute_bomb_is_refused_without_the_budget(
    server: MockServer, settings: Settings
) -> None:
    """The attribute check is cheap and runs first: no budget needed (in-process extraction)."""
    server.route("/hostile", attribute_page(100_000))
    unbounded = replace(settings, extract=replace(settings.extract, budget=None))
    with Harvester(unbounded) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/hostile")))
    assert isinstance(outcome, NotArticle)
    assert outcome.reason == "hostile markup: an element with more than 2000 attributes"


# --- charsets ---------------------------------------------------------------------------------

GERMAN = (
    "Der Stadtrat von Lindholm hat am Dienstag den Bau einer neuen Fußgängerbrücke über den "
    "Hafen beschlossen. Die Kosten werden auf rund zwölf Millionen Euro geschätzt.",
    "Anwohner äußerten Bedenken wegen des Lärms während der Bauzeit, die Bürgermeisterin "
    "versprach jedoch strenge Ruhezeiten am Wochenende.",
)
FRENCH = (
    "Le conseil municipal de Castel Verde a approuvé mercredi la rénovation de la gare "
    "maritime, fermée depuis l'été dernier après des dégâts causés par la tempête.",
    "Les travaux débuteront à l'automne et coûteront près de huit millions d'euros, selon "
    "les documents présentés aux élus.",
)
FRENCH_TYPOGRAPHY = (
    "« Nous avons tenu parole », a déclaré jeudi la maire de Castel Verde, en présentant un "
    "budget de 4,2 millions d’euros pour le port – soit 300 000 € de plus que prévu.",
    "Les pêcheurs, eux, parlent d’un “compromis fragile” et attendent le vote de lundi.",
)
RUSSIAN = (
    "Городской совет Варны-Бей во вторник одобрил строительство нового причала для "
    "паромов, который должен открыться следующей весной.",
    "По словам чиновников, проект обойдётся примерно в сорок миллионов рублей, а работы "
    "начнутся уже в ближайшие недели.",
)


def page_text(paragraphs: tuple[str, ...], *, lang: str, meta_charset: str | None) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>Courier</title></head><body>'
        f"<nav><a href='/'>Home</a></nav><main><article>{body}</article></main>"
        "<footer>Courier</footer></body></html>"
    )


# (paragraphs, lang, <meta charset>, bytes encoding, Content-Type header)
CHARSETS: dict[str, tuple[tuple[str, ...], str, str | None, str, str]] = {
    "header-latin1-meta-utf8-bytes-utf8": (
        GERMAN, "de", "utf-8", "utf-8", "text/html; charset=ISO-8859-1"),
    "header-utf8-meta-latin1-bytes-latin1": (
        FRENCH, "fr", "iso-8859-1", "latin-1", "text/html; charset=utf-8"),
    "header-latin1-meta-utf8-bytes-latin1": (
        FRENCH, "fr", "utf-8", "latin-1", "text/html; charset=iso-8859-1"),
    "header-latin1-bytes-windows-1252": (
        FRENCH_TYPOGRAPHY, "fr", None, "cp1252", "text/html; charset=ISO-8859-1"),
    "header-windows-1251": (RUSSIAN, "ru", None, "cp1251", "text/html; charset=windows-1251"),
    "meta-windows-1251": (RUSSIAN, "ru", "windows-1251", "cp1251", "text/html"),
    "utf-16-le-bom": (RUSSIAN, "ru", None, "utf-16-le", "text/html; charset=utf-16"),
    "utf-16-be-bom-lying-meta": (GERMAN, "de", "utf-8", "utf-16-be", "text/html"),
    "no-charset-utf8": (FRENCH, "fr", None, "utf-8", "text/html"),
    "no-charset-no-type-utf8": (GERMAN, "de", None, "utf-8", ""),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CHARSETS))
def test_charset_gives_the_words_and_the_warc_keeps_the_bytes(
    server: MockServer, settings: Settings, name: str
) -> None:
    paragraphs, lang, meta, encoding, content_type = CHARSETS[name]
    body = page_text(paragraphs, lang=lang, meta_charset=meta).encode(encoding)
    if encoding.startswith("utf-16"):
        body = (b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff") + body
    server.route("/page", body, content_type=content_type)
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/page")))
    assert isinstance(outcome, Archived), outcome
    text = outcome.record.text
    assert text.split("\n\n") == list(paragraphs)
    assert "\ufffd" not in text
    assert response_payload(settings.archive.dir, outcome) == body


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
def test_invalid_utf8_bytes_give_valid_unicode_and_raw_bytes_are_kept(
    server: MockServer, settings: Settings, content_type: str
) -> None:
    clean = page_text(GERMAN, lang="de", meta_charset=None).encode()
    # a stray Latin-1 byte, a lone continuation byte, a truncated sequence, an overlong "/"
    body = clean.replace(b"Hafen", b"Hafen \xfc").replace(b"Wochenende", b"Wochen\x80ende \xe2\x82")
    body = body.replace(b"</footer>", b"\xc0\xaf</footer>")
    server.route("/page", body, content_type=content_type)
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/page")))
    assert isinstance(outcome, Archived), outcome
    text = outcome.record.text
    text.encode("utf-8")  # valid Unicode
    for word in ("Fußgängerbrücke", "zwölf", "geschätzt", "äußerten", "Bürgermeisterin"):
        assert word in text
    assert response_payload(settings.archive.dir, outcome) == body


CHARSET_LABELS = ("utf-8", "latin1", "utf-16", "utf-32", "bogus", "base64", "shift_jis")
CONTENT_TYPES = [None, "", "text/html", *(f"text/html; charset={c}" for c in CHARSET_LABELS)]
PREFIXES = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00",
            b'<meta charset="windows-1251">', b"<meta charset=utf-16>"]  # fmt: skip


@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=400),
    content_type=st.sampled_from(CONTENT_TYPES),
)
@hypothesis_settings(max_examples=300, deadline=None)
def test_property_any_bytes_decode_to_valid_unicode(
    prefix: bytes, body: bytes, content_type: str | None
) -> None:
    text = decode_html(prefix + body, content_type)
    text.encode("utf-8")  # no lone surrogates: valid Unicode whatever came in


# --- a feed of a million items ----------------------------------------------------------------


def many_items(count: int, base: str, *, start: int = 0) -> bytes:
    """An RSS feed of ``count`` distinct items (about 100 bytes each)."""
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
    items = b"".join(
        b"<item><title>Story %d</title><link>%s/story/%d</link>"
        b"<pubDate>Tue, 03 Mar 2026 09:30:00 GMT</pubDate></item>" % (n, base.encode(), n)
        for n in range(start, start + count)
    )
    return head + items + b"</channel></rss>"


def test_million_item_feed_is_refused_at_the_fetch_cap(
    server: MockServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """About 100 MB of feed, sent gzip-coded (a few MB on the wire): the fetcher inflates it
    under ``max_page_bytes`` and refuses it there, so the parser never sees it."""
    data = many_items(1_000_000, server.url("").rstrip("/"))
    assert len(data) > 90_000_000
    coded = gzip.compress(data, compresslevel=1, mtime=0)
    assert len(coded) < settings.fetch.max_page_bytes
    del data
    server.route(
        "/rss.xml",
        coded,
        content_type="application/rss+xml",
        headers=[("Content-Encoding", "gzip")],
    )
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(with_outlet(settings, feeds=(server.url("/rss.xml"),)), once=True) == 4
    (error,) = poll_errors(caplog)
    assert f"larger than {settings.fetch.max_page_bytes} bytes" in error
    assert [r.path for r in server.requests if r.path.startswith("/story")] == []


def test_feed_filling_the_fetch_cap_queues_at_most_max_new_per_poll(
    server: MockServer, settings: Settings, counted_items: list[int]
) -> None:
    base = server.url("").rstrip("/")
    longest = len(many_items(1, base, start=999_999)) - len(many_items(0, base))
    count = (settings.fetch.max_page_bytes - 200) // longest
    data = many_items(count, base)
    assert count > 75_000 and len(data) <= settings.fetch.max_page_bytes
    server.route("/rss.xml", data, content_type="application/rss+xml")
    s = with_outlet(settings, feeds=(server.url("/rss.xml"),))
    with Harvester(s) as harvester:
        crawler = Crawler(harvester, clock=SystemClock())
        first = crawler.poll(s.outlets[0])
        second = crawler.poll(s.outlets[0])
        pending = harvester.store.catalog.frontier("pending")
    assert first.errors == [] and second.errors == []
    assert first.found == FEED_ITEMS  # the parser's item cap, not the feed's 75,000+
    assert first.queued == second.queued == MAX_NEW_PER_POLL  # drained over polls
    assert len({item.url for item in pending}) == 2 * MAX_NEW_PER_POLL
    assert len(counted_items) == 2 * FEED_ITEMS  # no item past the cap was even built
    assert [r.path for r in server.requests if r.path.startswith("/story")] == []


@pytest.fixture
def bytes_parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the chunks handed to the XML parser."""
    fed: list[int] = []
    real = etree.XMLPullParser

    class Counting(real):  # type: ignore[misc, valid-type]
        def feed(self, data: bytes) -> None:
            fed.append(len(data))
            super().feed(data)

    monkeypatch.setattr(etree, "XMLPullParser", Counting)
    return fed


@pytest.mark.parametrize("duplicates", [False, True], ids=["distinct", "all-duplicates"])
def test_parser_work_is_bounded_by_its_item_cap(
    bytes_parsed: list[int], counted_items: list[int], duplicates: bool
) -> None:
    """As many items as MAX_FEED_BYTES holds (about 200,000; a million do not fit in 20 MiB):
    parsing stops at the item cap, whatever follows."""
    base = "https://wire.example.com"
    if duplicates:
        unit = b"<item><link>https://wire.example.com/same</link></item>"
        data = many_items(0, base).replace(
            b"</channel>", unit * (MAX_FEED_BYTES // len(unit) - 10) + b"</channel>"
        )
    else:
        data = many_items(MAX_FEED_BYTES // 100, base)
        data = data[: MAX_FEED_BYTES - 100] + b"</item></channel></rss>"  # cut at the cap
    assert MAX_FEED_BYTES - 2000 < len(data) <= MAX_FEED_BYTES
    items = parse_feed(data, feed_url=base + "/rss.xml")
    if duplicates:
        assert [i.url for i in items] == [base + "/same"]
        assert len(counted_items) == EXAMINE_FACTOR * FEED_ITEMS
    else:
        assert len(items) == FEED_ITEMS
        assert items[-1].url == f"{base}/story/{FEED_ITEMS - 1}"
        assert len(counted_items) == FEED_ITEMS
    # only the head of the 20 MiB document was ever handed to the parser
    assert 0 < sum(bytes_parsed) < len(data) // 4
