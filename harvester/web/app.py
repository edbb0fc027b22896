"""The story desk's web application: routes, content negotiation, errors, security headers.

Read-only: every route answers GET (and HEAD); any other method gets 405. Pages are rendered
by Jinja2 with autoescaping on for every template, so every archived string (titles, text,
evidence, URLs, outlet names) is escaped; links to archived URLs are made only for http(s)
URLs (:func:`harvester.web.marks.safe_link`). Every response carries a strict
Content-Security-Policy (no script at all), ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer`` and a frame-ancestors rule. An archived page itself is only
served from ``/article/N/raw`` under its own CSP ``sandbox; default-src 'none'`` (no script
runs, nothing is loaded), framed by the article page in an ``<iframe sandbox>``.

Access: with a token, every request needs it, as ``Authorization: Bearer T`` or the cookie
that the one-time login URL (printed at start) sets.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from harvester.catalog import Catalog
from harvester.config import Settings
from harvester.errors import ArchiveError, EmptySelectionError, HarvesterError, NoSuchStoryError
from harvester.status import status_page
from harvester.storage import new_record_id
from harvester.warc.reader import read_record
from harvester.warc.wacz import WaczSelection, write_wacz
from harvester.web import views
from harvester.web.charts import duration, stamp
from harvester.web.marks import safe_link

__all__ = ["COOKIE", "Desk", "create_app"]

log = logging.getLogger("harvester.web")

COOKIE = "harvester_desk"
PAGE_CSP = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'; frame-src 'self'; img-src 'self';"
    " style-src 'self'; font-src 'none'; connect-src 'none'"
)
# An archived page: its own opaque origin, no script, nothing fetched; framed only by us.
RAW_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'"
# Story and outlet pages kept computed (see _Pages.cached).
PAGE_CACHE = 256
_STORY_ID = re.compile(r"s-[0-9a-f]{1,64}")

# Raw captures bigger than this are not shown (an article page is far smaller).
RAW_LIMIT = 20 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(kw_only=True)
class Desk:
    """What the application serves: the archive (its catalog, open read-only, and its root
    for raw captures), the settings (outlets), and the access token (None: no login)."""

    catalog: Catalog
    root: Path
    settings: Settings
    token: str | None = None
    wacz: bool = True  # link and serve each story's WACZ evidence package
    login_code: str | None = field(default=None, repr=False)
    _login_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def new_login_code(self) -> str:
        """A fresh one-time login code (the previous one, if unused, stops working)."""
        with self._login_lock:
            self.login_code = secrets.token_urlsafe(24)
            return self.login_code

    def use_login_code(self, code: str) -> bool:
        """Whether ``code`` is the current login code; it is spent either way it matches."""
        with self._login_lock:
            current = self.login_code
            if current is None or not hmac.compare_digest(current.encode(), code.encode()):
                return False
            self.login_code = None
            return True

    def authorised(self, headers: dict[str, str], cookies: dict[str, str]) -> bool:
        """Whether a request with these headers and cookies may read the archive."""
        if self.token is None:
            return True
        expected = self.token.encode()
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and hmac.compare_digest(
            auth[7:].strip().encode(), expected
        ):
            return True
        cookie = cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), expected)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harvester.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    env.filters["stamp"] = stamp
    env.filters["safe_link"] = safe_link
    env.filters["interval"] = views.interval_text
    env.globals["query"] = lambda params, **changes: urlencode(
        {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    )
    return env


def _static(name: str) -> bytes:
    return resources.files("harvester.web").joinpath("static", name).read_bytes()


def _wants_json(request: Request, suffixed: bool) -> bool:
    if suffixed:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _split_json(value: str) -> tuple[str, bool]:
    return (value[:-5], True) if value.endswith(".json") else (value, False)


class _Pages:
    """The route handlers over one :class:`Desk` (sync: Starlette runs them in threads)."""

    def __init__(self, desk: Desk, *, page_cache: int = PAGE_CACHE) -> None:
        self.desk = desk
        self.page_cache = page_cache
        self.env = _templates()
        self.css = _static("desk.css")
        # Story and outlet pages by (page, archive cursor): an archive only grows, so such a
        # page stays right until a new article row arrives (the cursor moves). Diffing 20
        # copies is the costliest page; a page people keep open is computed once.
        self._pages: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._pages_lock = threading.Lock()

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """The page ``key`` from the cache while the archive has not changed, else built."""
        full = (key, self.desk.catalog.max_article_id())
        with self._pages_lock:
            found = self._pages.get(full)
            if found is not None:
                self._pages.move_to_end(full)
                return found
        page = build()
        with self._pages_lock:
            self._pages[full] = page
            while len(self._pages) > self.page_cache:
                self._pages.popitem(last=False)
        return page

    # -- rendering ------------------------------------------------------------------------------

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(name).render(
            nav=request.url.path, token=self.desk.token is not None, **context
        )
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str, *, as_json: bool) -> Response:
        if as_json:
            return JSONResponse({"error": {"status": status, "message": message}}, status)
        titles = {400: "Bad request", 401: "Sign in", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 503: "Archive unavailable"}  # fmt: skip
        return self.render(
            request,
            "error.html",
            status=status,
            title=titles.get(status, "Error"),
            message=message,
            status_code=status,
        )

    def answer(
        self,
        request: Request,
        suffixed: bool,
        build: Callable[[], Any],
        template: str,
        **context: Any,
    ) -> Response:
        """Build a page value, then send it as JSON or HTML; errors as 400/404/503 pages."""
        as_json = _wants_json(request, suffixed)
        try:
            page = build()
        except views.BadRequest as exc:
            return self.error(request, 400, str(exc), as_json=as_json)
        except views.NotFound as exc:
            return self.error(request, 404, str(exc), as_json=as_json)
        except ArchiveError as exc:
            log.warning("the catalog could not be read: %s", exc)
            return self.error(
                request, 503, f"the archive cannot be read now: {exc}", as_json=as_json
            )
        if as_json:
            return Response(
                json.dumps(page.to_json(), ensure_ascii=False, separators=(",", ":")),
                media_type="application/json",
            )
        return self.render(request, template, page=page, **context)

    # -- pages ----------------------------------------------------------------------------------

    def stories(self, request: Request) -> Response:
        suffixed = request.url.path.endswith(".json")
        params = dict(request.query_params)
        return self.answer(
            request,
            suffixed,
            lambda: views.stories_page(self.desk.catalog, params),
            "stories.html",
        )

    def story(self, request: Request) -> Response:
        story, suffixed = _split_json(request.path_params["story"])
        return self.answer(
            request,
            suffixed,
            lambda: self.cached(
                "story " + story,
                lambda: views.story_page(self.desk.catalog, story, wacz=self.desk.wacz),
            ),
            "story.html",
        )

    def evidence(self, request: Request) -> Response:
        """The story's WACZ evidence package (``export --format wacz --story``), written to a
        temporary directory, sent as an attachment, removed once sent."""
        story = request.path_params["story"]
        if not self.desk.wacz or not _STORY_ID.fullmatch(story):
            return self.error(request, 404, f"no story {story!r} in the archive", as_json=False)
        scratch = tempfile.TemporaryDirectory(prefix="harvester-wacz-")
        output = Path(scratch.name) / f"{story}.wacz"
        try:
            write_wacz(
                self.desk.root,
                self.desk.catalog,
                output,
                selection=WaczSelection(story=story),
                new_id=new_record_id,
            )
        except (NoSuchStoryError, EmptySelectionError):
            scratch.cleanup()
            return self.error(request, 404, f"no story {story!r} in the archive", as_json=False)
        except HarvesterError as exc:
            scratch.cleanup()
            return self.error(request, 503, f"the package cannot be made now: {exc}", as_json=False)
        return FileResponse(
            output,
            media_type="application/wacz",
            filename=f"{story}.wacz",
            background=BackgroundTask(scratch.cleanup),
        )

    def search(self, request: Request) -> Response:
        suffixed = request.url.path.endswith(".json")
        params = dict(request.query_params)
        return self.answer(
            request, suffixed, lambda: views.search_page(self.desk.catalog, params), "search.html"
        )

    def outlet(self, request: Request) -> Response:
        name, suffixed = _split_json(request.path_params["name"])
        return self.answer(
            request,
            suffixed,
            lambda: self.cached(
                "outlet " + name,
                lambda: views.outlet_page(self.desk.catalog, name, self.desk.settings),
            ),
            "outlet.html",
        )

    def status(self, request: Request) -> Response:
        suffixed = request.url.path.endswith(".json")
        return self.answer(
            request,
            suffixed,
            lambda: status_page(self.desk.catalog, self.desk.settings),
            "status.html",
            root=str(self.desk.root),
        )

    def article(self, request: Request) -> Response:
        raw_id, suffixed = _split_json(request.path_params["row"])
        return self.answer(request, suffixed, lambda: self._article(raw_id), "article.html")

    def _article(self, raw_id: str) -> ArticleView:
        row_id = _row_id(raw_id)
        row = self.desk.catalog.article_row_by_id(row_id)
        if row is None:
            raise views.NotFound(f"no article {row_id} in the archive")
        return ArticleView(row_id=row_id, record=row.record.to_json(), story=row.record.story)

    def raw(self, request: Request) -> Response:
        """The archived HTTP body, never able to run a script (see the module docstring)."""
        try:
            row_id = _row_id(request.path_params["row"])
        except views.NotFound as exc:
            return self.error(request, 404, str(exc), as_json=False)
        try:
            row = self.desk.catalog.article_row_by_id(row_id)
        except ArchiveError as exc:
            return self.error(request, 503, f"the archive cannot be read now: {exc}", as_json=False)
        if row is None:
            return self.error(request, 404, f"no article {row_id} in the archive", as_json=False)
        # The file comes from the catalog, never from the URL; and it must lie in the root.
        root = self.desk.root.resolve()
        path = (root / row.record.warc.file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return self.error(
                request, 404, "the raw capture is not in this archive's folder", as_json=False
            )
        try:
            record = read_record(root, row.record.warc.file, row.record.warc.offset)
        except (HarvesterError, OSError, ValueError) as exc:
            return self.error(request, 404, f"the raw capture cannot be read: {exc}", as_json=False)
        body = record.content[:RAW_LIMIT]
        kind = next((v for k, v in record.http_headers if k.lower() == "content-type"), "")
        charset = ""
        if "charset=" in kind.lower():
            charset = kind.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
        ok_charset = charset if charset and all(c.isalnum() or c in "-_" for c in charset) else ""
        media = "text/html" if "html" in kind.lower() else "text/plain"
        headers = {"Content-Security-Policy": RAW_CSP, "X-Frame-Options": "SAMEORIGIN"}
        return Response(
            body,
            media_type=f"{media}; charset={ok_charset}" if ok_charset else media,
            headers=headers,
        )

    def css_file(self, request: Request) -> Response:
        return Response(
            self.css,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "max-age=3600"},
        )

    def login(self, request: Request) -> Response:
        """Spend the one-time login code: set the token cookie and go to the stories."""
        code = request.query_params.get("code", "")
        if self.desk.token is None:
            return RedirectResponse("/", status_code=303)
        if not code or not self.desk.use_login_code(code):
            return self.error(
                request,
                403,
                "this login link was used already or is wrong: restart `harvester serve` for a "
                "new one, or send the token as an Authorization: Bearer header",
                as_json=_wants_json(request, False),
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, self.desk.token, httponly=True, samesite="strict", path="/", max_age=86400 * 30
        )
        return response


@dataclass(frozen=True, kw_only=True)
class ArticleView:
    """One article row: its export record, for the article page and its JSON form."""

    row_id: int
    record: dict[str, Any]
    story: str

    def to_json(self) -> dict[str, Any]:
        return {"article": self.row_id, "record": self.record, "raw": f"/article/{self.row_id}/raw"}


def _row_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise views.NotFound(f"no article {text[:40]!r}: article ids are numbers")
    return int(text)


def _security(app: ASGIApp, desk: Desk, pages: _Pages) -> ASGIApp:
    """Headers on every response; the token checked before any route runs."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": PAGE_CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"cross-origin-resource-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-cache"))
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        path = scope.get("path", "")
        if desk.token is not None and path != "/login":
            request = Request(scope)
            if not desk.authorised(dict(request.headers), dict(request.cookies)):
                as_json = path.endswith(".json") or _wants_json(request, False)
                response = pages.error(
                    request,
                    401,
                    "this archive needs the access token: open the login link that "
                    "`harvester serve` printed, or send Authorization: Bearer TOKEN",
                    as_json=as_json,
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="harvester"'
                await response(scope, receive, send_with_headers)
                return
        await app(scope, receive, send_with_headers)

    return wrapped


def create_app(desk: Desk, *, page_cache: int = PAGE_CACHE) -> ASGIApp:
    """The story desk over ``desk`` as an ASGI application (``page_cache``: story and outlet
    pages kept computed while the archive is unchanged; 0 computes every one)."""
    pages = _Pages(desk, page_cache=page_cache)
    get = ["GET", "HEAD"]
    routes = [
        Route("/", pages.stories, methods=get),
        Route("/stories", pages.stories, methods=get),
        Route("/stories.json", pages.stories, methods=get),
        Route("/story/{story}/evidence.wacz", pages.evidence, methods=get),
        Route("/story/{story}", pages.story, methods=get),
        Route("/article/{row}/raw", pages.raw, methods=get),
        Route("/article/{row}", pages.article, methods=get),
        Route("/search", pages.search, methods=get),
        Route("/search.json", pages.search, methods=get),
        Route("/outlet/{name:path}", pages.outlet, methods=get),
        Route("/status", pages.status, methods=get),
        Route("/status.json", pages.status, methods=get),
        Route("/static/desk.css", pages.css_file, methods=get),
        Route("/login", pages.login, methods=get),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "there is no such page", 405: "this archive is read-only: GET only"}
        message = messages.get(exc.status_code, str(exc.detail))
        response = pages.error(
            request, exc.status_code, message, as_json=request.url.path.endswith(".json")
        )
        if exc.status_code == 405:
            response.headers["Allow"] = "GET, HEAD"
        return response

    async def internal(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
        return pages.error(
            request,
            500,
            "internal error (the server's log has the details)",
            as_json=request.url.path.endswith(".json"),
        )

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: internal},
    )
    return _security(app, desk, pages)
