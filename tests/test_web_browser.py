"""The story desk in a real browser: Debian's chromium driven by Playwright (never a browser
that Playwright downloads). From the stories page to a story (every member and its diff
visible), a phrase search to its article, and hostile articles opened with no script run and
no dialog shown.

Without /usr/bin/chromium the tests are skipped on a developer's machine and FAIL in CI
(CI=true), where .ci/run installs it. A failing test leaves a screenshot in its pytest temp
directory and, when HARVESTER_ARTIFACTS names a directory, there too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from deskarchive import LiveDesk, build_desk_archive

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import load_settings
from harvester.web import Desk

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_chromium() -> None:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return
    # A real browser is part of the test environment (`make test` and .ci/run install it):
    # without one these tests fail, they never skip into green.
    pytest.fail(
        f"{CHROMIUM} is missing: `make deps` installs it as root "
        "(or: apt-get install -y chromium chromium-driver)"
    )


@pytest.fixture(scope="module")
def desk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser") / "archive"
    build_desk_archive(root)
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        desk = Desk(
            catalog=catalog,
            root=root,
            settings=load_settings(None).with_archive_dir(root),
        )
        with LiveDesk(desk) as live:
            yield live.base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page that records dialogs and console messages; a screenshot on failure."""
    context = browser.new_context(java_script_enabled=True)
    opened = context.new_page()
    opened.dialogs = []
    opened.console = []

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.on("console", lambda message: opened.console.append((message.type, message.text)))
    try:
        yield opened
    finally:
        context.close()


@contextmanager
def screenshots(page: Any, tmp_path: Path, name: str) -> Iterator[None]:
    """Save a screenshot of ``page`` when the block fails."""
    try:
        yield
    except BaseException:
        shot = tmp_path / f"{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            keep = os.environ.get("HARVESTER_ARTIFACTS")
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(keep) / shot.name)
            print(f"screenshot: {shot}")
        except Exception as exc:  # noqa: BLE001 (the test's own failure matters more)
            print(f"no screenshot: {exc}")
        raise


def test_from_the_stories_to_a_story_with_every_member_and_diff(
    page: Any, desk_url: str, tmp_path: Path
) -> None:
    with screenshots(page, tmp_path, "story"):
        page.goto(desk_url + "/?copies=1")
        rows = page.locator("table.stories tbody tr")
        assert rows.count() >= 3
        title = rows.first.locator("a.title")
        href = title.get_attribute("href")
        title.click()
        page.wait_for_url(f"**{href}")
        data = httpx.get(desk_url + href + ".json", timeout=10).json()
        members = page.locator("article.member")
        assert members.count() == len(data["members"])
        for index, member in enumerate(data["members"]):
            box = members.nth(index)
            assert box.is_visible()
            if member["outlet"]:
                assert member["outlet"] in box.inner_text()
            if member["role"] == "copy":
                diff = box.locator("table.sbs")
                assert diff.is_visible()
                assert diff.locator("tbody tr").count() == len(member["diff"])
        assert page.locator("svg.timeline circle").count() == len(data["members"])
        assert page.dialogs == []


def test_search_a_phrase_and_find_its_article(page: Any, desk_url: str, tmp_path: Path) -> None:
    with screenshots(page, tmp_path, "search"):
        page.goto(desk_url + "/")
        page.fill("form.quick input[name=q]", '"rail workers"')
        page.click("form.quick button")
        page.wait_for_url("**/search?q=*")
        hits = page.locator("ul.hits li")
        assert hits.count() >= 1
        marks = " ".join(page.locator("ul.hits mark").all_inner_texts()).lower()
        assert "rail" in marks and "workers" in marks
        link = hits.first.locator("a").nth(1)
        link.click()
        page.wait_for_url("**/story/*")
        assert "rail workers" in page.inner_text("main").lower()


def _pwned(frame: Any) -> object:
    try:
        return frame.evaluate("() => window.__pwned")
    except Exception as exc:  # noqa: BLE001 (a frame that cannot be evaluated runs nothing)
        return f"not evaluated: {type(exc).__name__}"


def test_a_hostile_article_runs_no_script_and_shows_no_dialog(
    page: Any, desk_url: str, tmp_path: Path
) -> None:
    with screenshots(page, tmp_path, "hostile"):
        # The probe sees a script that runs (so its None below means none ran).
        page.set_content("<script>window.__pwned = 1</script>")
        assert _pwned(page.main_frame) == 1
        found = httpx.get(desk_url + "/search.json", params={"q": "lifeboat gala"}, timeout=10)
        group = found.json()["stories"][0]
        story, article = group["story"], group["articles"][0]["article"]
        for path in ("/", f"/story/{story}", "/search?q=lifeboat+gala", f"/article/{article}"):
            page.goto(desk_url + path)
            page.wait_for_load_state("load")
            assert "Harbour gala" in page.inner_text("main")
            for frame in page.frames:
                assert _pwned(frame) in (None, "not evaluated: Error"), (path, frame.url)
        # The raw capture in its sandboxed frame: loaded, scripts blocked.
        frame = page.frame_locator("iframe.raw")
        assert "lifeboat" in frame.locator("body").inner_text()
        # And the raw URL opened on its own: the CSP sandbox still blocks every script.
        page.goto(desk_url + f"/article/{article}/raw")
        page.wait_for_load_state("load")
        assert _pwned(page.main_frame) is None
        assert page.title() != "pwned"
        # A javascript: link from the archive is text, not a link: nothing to click.
        page.goto(desk_url + f"/story/{story}")
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("text=javascript:window.__pwned=1").first.is_visible()
        assert page.dialogs == []
        assert not [text for kind, text in page.console if kind in ("log", "info")]
