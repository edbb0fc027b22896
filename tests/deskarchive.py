"""Archives for the story desk's tests: the demo newsroom plus a hostile article, and a live
desk server on a loopback port (uvicorn in a thread)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path

import uvicorn
from mockserver import MockServer, free_loopback_host

from harvester import fetch_url
from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import ArchiveSettings, FetchSettings, Settings
from harvester.demo import run_demo
from harvester.lifetime import Closeable
from harvester.models import Evidence, Original
from harvester.web import Desk, create_app
from harvester.web import _listen as listen

HOSTILE_HOST = free_loopback_host(9)
HOSTILE_PATH = "/2026/06/07/harbour-gala-report"
# What a script would set if one ever ran in the desk's pages (or the raw view).
PWNED = "window.__pwned = 1"
HOSTILE_TITLE = (
    '<script>window.__pwned = 1</script>Harbour gala <img src=x onerror="window.__pwned=1">'
)
HOSTILE_LINK = "javascript:window.__pwned=1"
HOSTILE_EVIDENCE = Evidence(
    kind="link",
    text='Originally at <a href="javascript:window.__pwned=1" onclick="window.__pwned=1">Wire</a>'
    "<script>window.__pwned = 1</script>",
    source="<b onmouseover=window.__pwned=1>Wire</b>",
    url=HOSTILE_LINK,
)

_PARAGRAPHS = [
    "The harbour gala raised money for the lifeboat station on Saturday, organisers said, "
    "after a week of rain threatened to cancel the evening on the quay.",
    "Guests were told &lt;script&gt;window.__pwned = 1&lt;/script&gt; was printed on the "
    "programme by mistake, and the printer apologised to the committee.",
    "The committee chair, Mara Lind, said the station would use the funds for a new engine "
    "and for training volunteers over the coming winter months.",
    "A second gala is planned for next summer, with the same route along the seafront and "
    "a fireworks display over the outer harbour at midnight.",
]


def hostile_page() -> str:
    """An article page whose title, text and links try to run script in a reader."""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{HOSTILE_TITLE}</title>
<meta property="og:title" content='{HOSTILE_TITLE}'>
<link rel="canonical" href="{HOSTILE_LINK}">
<script>window.__pwned = 1; alert("pwned")</script>
</head><body onload="window.__pwned=1">
<article><h1>{HOSTILE_TITLE}</h1>
<p class="byline">By <a href="{HOSTILE_LINK}">Staff</a></p>
{paragraphs}
<img src="x" onerror="window.__pwned=1; alert(1)">
<p>Read more <a href="{HOSTILE_LINK}">here</a>.</p>
</article>
<script>document.title = "pwned"; window.__pwned = 1;</script>
</body></html>"""


def build_desk_archive(root: Path) -> str:
    """The demo newsroom harvested into ``root``, then one hostile article fetched into it
    and re-resolved with hostile evidence (as a later metadata record would). Returns the
    hostile article's final URL."""
    assert run_demo(archive=root, out=io.StringIO()) == 0
    with MockServer(HOSTILE_HOST) as srv:
        srv.robots("User-agent: *\nAllow: /\n")
        srv.route(HOSTILE_PATH, hostile_page())
        settings = Settings(
            archive=ArchiveSettings(dir=root, prefix="hostile"),
            fetch=FetchSettings(per_host_delay=0.0, timeout=5.0, allow_hosts=(HOSTILE_HOST,)),
        )
        record = fetch_url(
            srv.url(HOSTILE_PATH), settings=settings, outlet='<i onmouseover="x">Gala</i> Gazette'
        )
    with SqliteCatalog(root / CATALOG_NAME) as catalog:
        row = catalog.latest_article_row(record.final_url)
        doc = catalog.doc_by_url(record.final_url)
        assert row is not None and doc is not None
        evidence = (HOSTILE_EVIDENCE, *doc.evidence)
        catalog.put_doc(replace(doc, evidence=evidence))
        changed = replace(
            row.record,
            title=HOSTILE_TITLE,
            original=Original(
                url=HOSTILE_LINK, outlet="<b>Wire</b>", seen=False, evidence=evidence
            ),
            is_original=False,
        )
        catalog.add_article(replace(row, record=changed, metadata_offset=row.metadata_offset + 1))
    return record.final_url


class LiveDesk(Closeable):
    """The desk served by uvicorn on 127.0.0.1 (a free port) in a thread."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._sock = listen("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(desk), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveDesk:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the desk server did not start")
            time.sleep(0.02)
        return self

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
