"""`harvester serve`: the story desk's pages and JSON forms over archives the tests build (the
demo newsroom plus a hostile article), its security headers and access rules, both catalogs."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from deskarchive import (
    HOSTILE_LINK,
    LiveDesk,
    build_desk_archive,
)

from harvester.catalog import CATALOG_NAME, Catalog, SqliteCatalog, parse_query
from harvester.cli import main
from harvester.config import load_settings
from harvester.dedup.diff import paragraph_diff
from harvester.dedup.view import story_view
from harvester.web import Desk, check_access
from harvester.web.app import PAGE_CSP, RAW_CSP
from harvester.web.marks import aligned_rows, changed_words, passage, safe_link


@dataclass(frozen=True)
class Archive:
    root: Path
    hostile_url: str


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("desk") / "archive"
    return Archive(root=root, hostile_url=build_desk_archive(root))


def _desk(catalog: Catalog, root: Path, token: str | None = None) -> Desk:
    return Desk(
        catalog=catalog,
        root=root,
        settings=load_settings(None).with_archive_dir(root),
        token=token,
    )


@pytest.fixture(scope="module")
def live(archive: Archive) -> Iterator[httpx.Client]:
    with (
        SqliteCatalog(archive.root / CATALOG_NAME, readonly=True) as catalog,
        LiveDesk(_desk(catalog, archive.root)) as desk,
        httpx.Client(base_url=desk.base, timeout=10) as client,
    ):
        yield client


def _views(root: Path) -> dict[str, object]:
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        stories = {r.story for r in catalog.articles()}
        docs = {s: catalog.story_docs(s) for s in stories}
        return {s: story_view(catalog, s) for s in stories if docs[s]}


# --- pages and their JSON forms ---------------------------------------------------------------


def test_stories_lists_every_story_newest_first_with_copies(
    live: httpx.Client, archive: Archive
) -> None:
    page = live.get("/stories.json").json()
    views = _views(archive.root)
    assert {s["story"] for s in page["stories"]} == set(views)
    for row in page["stories"]:
        view = views[row["story"]]
        assert row["articles"] == len(view.members)  # type: ignore[attr-defined]
        assert row["copies"] == len(view.members) - (1 if view.lead.original.seen else 0)  # type: ignore[attr-defined]
    html = live.get("/")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    for row in page["stories"]:
        assert f'href="/story/{row["story"]}"' in html.text
    # The same data by Accept header.
    assert live.get("/", headers={"Accept": "application/json"}).json() == page


def test_story_filters_and_paging(live: httpx.Client, archive: Archive) -> None:
    every = live.get("/stories.json").json()["stories"]
    with_copies = live.get("/stories.json", params={"copies": "1"}).json()["stories"]
    assert with_copies and all(s["copies"] >= 1 for s in with_copies)
    assert len(with_copies) < len(every)  # the library story has no copy
    ledger = live.get("/stories.json", params={"outlet": "The Riverton Courier"}).json()
    assert 0 < len(ledger["stories"]) < len(every)
    wire = live.get("/stories.json", params={"wire": "Meridian News Service"}).json()["stories"]
    assert wire and all(s["original"]["outlet"] == "Meridian News Service" for s in wire)
    none = live.get("/?outlet=Nobody+At+All")
    assert none.status_code == 200 and "No story matches these filters" in none.text
    future = live.get("/stories.json", params={"from": "2099-01-01"}).json()
    assert future["stories"] == []
    assert live.get("/stories.json", params={"page": "2"}).json()["stories"] == []
    for bad in (
        {"page": "0"},
        {"page": "x"},
        {"from": "yesterday"},
        {"from": "2026-02-02", "to": "2026-01-01"},
    ):
        answer = live.get("/stories.json", params=bad)
        assert answer.status_code == 400
        assert answer.json()["error"]["status"] == 400


def test_story_shows_the_original_every_member_and_its_diff(
    live: httpx.Client, archive: Archive
) -> None:
    views = _views(archive.root)
    for story, view in views.items():
        page = live.get(f"/story/{story}.json").json()
        assert {m["url"] for m in page["members"]} == {m.final_url for m in view.members}  # type: ignore[attr-defined]
        copies = [m for m in page["members"] if m["role"] == "copy"]
        for member in copies:
            assert member["diff"], member["url"]
            assert member["changes"] == view.diffs[member["url"]].summary()  # type: ignore[attr-defined]
        html = live.get(f"/story/{story}").text
        assert "<svg" in html and 'class="timeline"' in html
        assert html.count('class="member ') == len(page["members"])
    # A story with an edited or trimmed copy: its rows say what changed, its lag is known.
    rich = next(
        page
        for page in (live.get(f"/story/{s}.json").json() for s in views)
        if any(m.get("relation") == "contained" for m in page["members"])
    )
    copy = next(m for m in rich["members"] if m["relation"] == "contained")
    assert {r["kind"] for r in copy["diff"]} >= {"kept", "removed"}
    assert copy["lag_seconds"] is not None and copy["lag_seconds"] > 0
    assert any(m["removed"] for m in rich["members"])  # boilerplate listed


def test_story_evidence_package_downloads_and_validates(
    live: httpx.Client, archive: Archive, tmp_path: Path
) -> None:
    views = _views(archive.root)
    story = max(views, key=lambda s: len(views[s].members))  # type: ignore[attr-defined]
    html = live.get(f"/story/{story}").text
    assert f'href="/story/{story}/evidence.wacz"' in html
    answer = live.get(f"/story/{story}/evidence.wacz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/wacz"
    assert f'filename="{story}.wacz"' in answer.headers["content-disposition"]
    assert answer.headers["content-security-policy"]  # the desk's headers on downloads too
    package = tmp_path / "story.wacz"
    package.write_bytes(answer.content)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "wacz"), "validate", "-f", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Validation succeeded" in done.stdout, done.stdout
    with zipfile.ZipFile(package) as zf:
        pages = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()[1:]
    members = {m.final_url for m in views[story].members}  # type: ignore[attr-defined]
    assert {json.loads(line)["url"] for line in pages} == members
    for bad in ("s-0000000000000000", "s-XYZ", "..%2Fetc"):
        assert live.get(f"/story/{bad}/evidence.wacz").status_code == 404


def test_search_finds_a_phrase_grouped_by_story(live: httpx.Client) -> None:
    found = live.get("/search.json", params={"q": '"rail workers" strike'}).json()
    urls = [a["url"] for s in found["stories"] for a in s["articles"]]
    assert any("rail-workers" in u for u in urls)
    assert all(
        "rail" in a["marked"][0].lower() or a["marked"]
        for s in found["stories"]
        for a in s["articles"]
    )
    assert live.get("/search.json", params={"q": '"workers rail"'}).json()["stories"] == []
    html = live.get("/search", params={"q": '"rail workers"'}).text
    assert "<mark>" in html
    # Nothing typed can break the query syntax: 200 with results or none, 400 for no word.
    for hostile in [
        '"',
        "NEAR(a b)",
        "*",
        "a OR b)",
        "title:x",
        "'; DROP TABLE articles; --",
        "\x00",
    ]:
        answer = live.get("/search.json", params={"q": hostile})
        assert answer.status_code in (200, 400), hostile
    assert live.get("/search.json", params={"q": "!!!"}).status_code == 400
    assert "Titles and cleaned text" in live.get("/search").text  # the empty form


def test_outlet_page_shows_whom_it_copies(live: httpx.Client) -> None:
    ledger = live.get("/outlet/The%20Commons%20Ledger.json").json()
    assert ledger["articles"] >= 3 and ledger["copies"] >= 2
    sources = {s["outlet"]: s for s in ledger["copies_from"]}
    assert "Northwind Press Agency" in sources
    assert sources["Northwind Press Agency"]["median_lag_seconds"] > 0
    wire = live.get("/outlet/Northwind%20Press%20Agency.json").json()
    assert "The Commons Ledger" in {s["outlet"] for s in wire["copied_by"]}
    html = live.get("/outlet/The%20Commons%20Ledger").text
    assert 'class="chart"' in html and "Whom it copies" in html
    assert live.get("/outlet/Nobody.json").status_code == 404


def test_status_is_what_harvester_status_prints(live: httpx.Client, archive: Archive) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["status", "--archive", str(archive.root), "--format", "json"]) == 0
    assert live.get("/status.json").json() == json.loads(out.getvalue())
    assert "frontier" in live.get("/status").text


def test_bad_ids_get_404_pages_never_a_traceback(live: httpx.Client) -> None:
    paths = ("/story/nope", "/story/s-0000000000000000", "/story/s-../../etc", "/article/99999",
             "/article/abc", "/article/1x/raw", "/article/99999/raw", "/no/such/page")  # fmt: skip
    for path in paths:
        answer = live.get(path)
        assert answer.status_code == 404, path
        assert "Traceback" not in answer.text
    assert live.get("/story/nope.json").json()["error"]["status"] == 404


def test_no_write_endpoints(live: httpx.Client, archive: Archive) -> None:
    story = live.get("/stories.json").json()["stories"][0]["story"]
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/", f"/story/{story}", "/search", "/status"):
            answer = live.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers["allow"] == "GET, HEAD"


# --- hostile archived content -----------------------------------------------------------------


def _hostile_story(live: httpx.Client, archive: Archive) -> dict[str, object]:
    with SqliteCatalog(archive.root / CATALOG_NAME, readonly=True) as catalog:
        record = catalog.article(archive.hostile_url)
    assert record is not None
    doc_story = live.get("/search.json", params={"q": "lifeboat gala"}).json()["stories"][0][
        "story"
    ]
    return {"story": doc_story, "record": record}


class _Elements(HTMLParser):
    """What a browser would build from a page: script elements, event handler attributes,
    link targets, images."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.handlers: list[str] = []
        self.links: list[str] = []
        self.images = 0

    @classmethod
    def of(cls, html: str) -> _Elements:
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.images += tag == "img"
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.links.append(value.strip().lower())


def test_hostile_strings_are_escaped_and_never_links(live: httpx.Client, archive: Archive) -> None:
    story = _hostile_story(live, archive)["story"]
    pages = [
        live.get(f"/story/{story}").text,
        live.get("/").text,
        live.get("/search", params={"q": "lifeboat gala"}).text,
        live.get("/outlet/" + quote('<i onmouseover="x">Gala</i> Gazette')).text,
    ]
    for html in pages:
        found = _Elements.of(html)
        assert not found.scripts
        assert not found.handlers, found.handlers
        assert not [u for u in found.links if not u.startswith(("/", "http://", "https://", "#"))]
        assert not found.images
    story_html = pages[0]
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;Harbour gala" in story_html
    assert "javascript:window.__pwned=1" in story_html  # shown as text
    page = live.get(f"/story/{story}.json").json()
    member = next(m for m in page["members"] if m["url"] == archive.hostile_url)
    assert any(e["url"] == HOSTILE_LINK for e in member["evidence"])  # JSON keeps it as data


def test_raw_capture_is_sandboxed(live: httpx.Client, archive: Archive) -> None:
    story = _hostile_story(live, archive)["story"]
    page = live.get(f"/story/{story}.json").json()
    member = next(m for m in page["members"] if m["url"] == archive.hostile_url)
    raw = live.get(member["raw"])
    assert raw.status_code == 200
    assert raw.headers["content-security-policy"] == RAW_CSP
    assert "sandbox" in raw.headers["content-security-policy"]
    assert b"<script>window.__pwned" in raw.content  # the capture as archived
    viewer = live.get(f"/article/{member['article']}").text
    assert '<iframe class="raw" sandbox=""' in viewer


def test_security_headers_on_every_response(live: httpx.Client) -> None:
    story = live.get("/stories.json").json()["stories"][0]["story"]
    paths = ("/", "/stories.json", f"/story/{story}", "/search?q=x", "/status",
             "/static/desk.css", "/nothing", "/story/bad.json")  # fmt: skip
    for path in paths:
        headers = live.get(path).headers
        assert headers["content-security-policy"] == PAGE_CSP, path
        assert "script-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert live.post("/").headers["content-security-policy"] == PAGE_CSP


def test_pages_are_small_and_load_nothing_remote(live: httpx.Client) -> None:
    for story in live.get("/stories.json").json()["stories"]:
        html = live.get(f"/story/{story['story']}").text
        assert len(html.encode()) < 200_000
        assert not re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.)', html.split("<main>")[0])
    css = live.get("/static/desk.css").text
    assert "@import" not in css and "url(" not in css


# --- access ------------------------------------------------------------------------------------


def test_a_token_guards_every_page_and_the_login_link_works_once(archive: Archive) -> None:
    token = "t0ken-for-the-desk-tests"
    with SqliteCatalog(archive.root / CATALOG_NAME, readonly=True) as catalog:
        desk = _desk(catalog, archive.root, token=token)
        code = desk.new_login_code()
        with LiveDesk(desk) as live, httpx.Client(base_url=live.base) as client:
            denied = client.get("/")
            assert denied.status_code == 401
            assert "content-security-policy" in denied.headers
            assert client.get("/stories.json").json()["error"]["status"] == 401
            assert client.get("/static/desk.css").status_code == 401
            bearer = client.get("/stories.json", headers={"Authorization": f"Bearer {token}"})
            assert bearer.status_code == 200
            wrong = client.get("/", headers={"Authorization": "Bearer nope-nope-nope-nope"})
            assert wrong.status_code == 401
            login = client.get(f"/login?code={code}", follow_redirects=False)
            assert login.status_code == 303
            cookie = login.headers["set-cookie"]
            assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
            assert client.get("/").status_code == 200  # the cookie now
            client.cookies.clear()
            again = client.get(f"/login?code={code}", follow_redirects=False)
            assert again.status_code == 403
            assert client.get("/").status_code == 401


def test_serve_refuses_other_addresses_without_a_token(
    archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    anywhere = "0.0.0.0"  # noqa: S104 (what is refused)
    code = main(["serve", "--archive", str(archive.root), "--host", anywhere])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("harvester: ") and "token" in err and "\n" not in err
    assert main(["serve", "--archive", str(archive.root), "--token", "short"]) == 2
    check_access("127.0.0.1", None)
    check_access("::1", None)
    check_access("0.0.0.0", "a-long-enough-token-0123")  # noqa: S104
    assert main(["serve", "--archive", str(archive.root.parent / "nothing")]) == 6


def test_serve_section_of_the_config(
    archive: Archive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[serve]\nhost = "0.0.0.0"\nport = 0\n', encoding="utf-8")
    assert load_settings(config).serve.host == "0.0.0.0"  # noqa: S104
    # the config's address beyond this machine, and no token anywhere: refused
    assert main(["serve", "--config", str(config), "--archive", str(archive.root)]) == 2
    assert "token" in capsys.readouterr().err
    config.write_text("[serve]\ntoken = 5\n", encoding="utf-8")
    assert main(["serve", "--config", str(config), "--archive", str(archive.root)]) == 2
    err = capsys.readouterr().err
    assert "[serve]" in err and "token" in err
    config.write_text('[serve]\ntoken = "short"\n', encoding="utf-8")
    assert main(["serve", "--config", str(config), "--archive", str(archive.root)]) == 2
    assert "at least" in capsys.readouterr().err


def test_serve_command_serves_until_stopped(archive: Archive) -> None:
    command = [sys.executable, "-m", "harvester", "serve", "--archive", str(archive.root)]
    with subprocess.Popen(
        [*command, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+/", first)
            assert url, first
            assert httpx.get(url.group(0) + "stories.json", timeout=10).status_code == 200
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err


def test_demo_ends_by_telling_how_to_serve(archive: Archive) -> None:
    out = io.StringIO()
    from harvester.demo import run_demo

    assert run_demo(archive=archive.root.parent / "again", out=out) == 0
    assert "harvester serve --archive" in out.getvalue()


# --- PostgreSQL: the same pages from the same archive ------------------------------------------


def test_the_desk_reads_a_postgresql_catalog_alike(archive: Archive, pg_url: str) -> None:
    from harvester.catalog.postgres import PostgresCatalog

    with (
        SqliteCatalog(archive.root / CATALOG_NAME, readonly=True) as source,
        PostgresCatalog(pg_url) as target,
    ):
        for row_id in range(1, source.max_article_id() + 1):  # every row, older ones too
            article = source.article_row_by_id(row_id)
            assert article is not None
            target.add_article(article)
        for doc in source.docs_since(0.0):
            target.put_doc(doc)
    with (
        SqliteCatalog(archive.root / CATALOG_NAME, readonly=True) as lite,
        PostgresCatalog(pg_url, readonly=True) as pg,
        LiveDesk(_desk(lite, archive.root)) as a,
        LiveDesk(_desk(pg, archive.root)) as b,
        httpx.Client(base_url=a.base) as ca,
        httpx.Client(base_url=b.base) as cb,
    ):
        assert ca.get("/stories.json").json() == cb.get("/stories.json").json()
        for story in ca.get("/stories.json").json()["stories"]:
            path = f"/story/{story['story']}.json"
            assert ca.get(path).json() == cb.get(path).json()
        for q in ('"rail workers"', "harbour", "lifeboat gala"):
            left = {
                a["url"]
                for s in ca.get("/search.json", params={"q": q}).json()["stories"]
                for a in s["articles"]
            }
            right = {
                a["url"]
                for s in cb.get("/search.json", params={"q": q}).json()["stories"]
                for a in s["articles"]
            }
            assert left == right and left, q
        path = "/outlet/The%20Commons%20Ledger.json"
        assert ca.get(path).json() == cb.get(path).json()


# --- the pure parts ----------------------------------------------------------------------------


def test_aligned_rows_count_as_paragraph_diff_does() -> None:
    original = ["One two three.", "Four five six seven.", "Eight nine.", "Ten."]
    copy = ["One two three.", "Four five SIX seven.", "Editor's note: added.", "Ten.", "Tail."]
    rows = aligned_rows(original, copy)
    diff = paragraph_diff(original, copy)
    kinds = [r.kind for r in rows]
    assert kinds.count("kept") == diff.kept
    assert kinds.count("edited") == len(diff.edited)
    assert kinds.count("added") == len(diff.added)
    assert kinds.count("removed") == len(diff.removed)
    left, right = changed_words("Four five six seven.", "Four five SIX seven.")
    assert [t for t, marked in left if marked] == ["six"]
    assert [t for t, marked in right if marked] == ["SIX"]


def test_safe_link_keeps_only_http_urls() -> None:
    assert safe_link("https://example.test/a?b#c") == "https://example.test/a?b#c"
    assert safe_link("HTTP://Example.test/") == "HTTP://Example.test/"
    bad_urls = (HOSTILE_LINK, "JaVaScRiPt:x()", "data:text/html,<script>", "//evil.test/",
                "vbscript:x", "http://", "https:// x", "http://a\nb", "file:///", None)  # fmt: skip
    for bad in bad_urls:
        assert safe_link(bad) is None, bad


def test_passage_marks_the_words_found() -> None:
    text = "Nothing here.\n\n" + "filler " * 80 + "the Harbour board voted. " + "more " * 80
    segments = passage(text, ["harbour", "voted"])
    assert [t for t, m in segments if m] == ["Harbour", "voted"]
    assert len("".join(t for t, _ in segments)) < 400


def test_queries_are_words_and_phrases_only() -> None:
    query = parse_query('harbour "rail  workers" NEAR(x) title:y "unclosed')
    assert query is not None
    assert query.phrases == (
        ("harbour",),
        ("rail", "workers"),
        ("NEAR",),
        ("x",),
        ("title",),
        ("y",),
        ("unclosed",),
    )
    assert query.fts5() == '"harbour" "rail workers" "NEAR" "x" "title" "y" "unclosed"'
    assert parse_query('"" * : ()') is None
    long = parse_query(" ".join(["w"] * 500))
    assert long is not None and len(long.words) <= 32
