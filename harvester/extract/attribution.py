"""Attribution evidence: who a page says its story came from (pure, no I/O).

:func:`detect_attribution` reads one page (its HTML, its URL and its text blocks BEFORE boilerplate
cleaning: credits and datelines are what cleaners delete) and returns
:class:`~harvester.models.Evidence`, strongest kind first (``EVIDENCE_KINDS`` order, document order
within a kind), without duplicates. Kinds emitted here:

``link``         an outbound ``<a href>`` in the same DOM block as a credit line
``canonical``    ``<link rel=canonical>`` on another registrable domain
``meta``         ``original-source`` / ``syndication-source`` meta on another domain; JSON-LD
                 ``isBasedOn``, ``sourceOrganization``, and ``publisher`` when it is a known wire
``feed``         the feed item's ``<source>`` (``feed_source``)
``dateline``     ``MOSCOW, March 3 (Reuters) -`` at the start of a block line
``credit-line``  "The original source of this article is X", "Originally published by X",
                 "Source: X", "Copyright © Site, X, 2008", "RIA Novosti 22 July 2008", and their
                 Russian, German, Spanish and French counterparts
``author``       a byline, meta author or JSON-LD author naming a known wire

``source`` is the canonical name: the registry's wire name, else the configured outlet name, else
the name as written (cleaned); None when only a URL on an unknown site is known. Weak patterns
("Source: X", copyright lines, datelines, bylines) only count names that resolve to a wire or a
configured outlet. A wire named in running text ("according to Reuters", "RIA Novosti reported",
"told Reuters") is a citation, never evidence. Self-references (the page's own registrable domain,
a name in ``self_names``, or the wire owning the page's domain) never yield evidence.

Cost: one selectolax parse and one linear walk of the DOM; every regex runs on a bounded window of
a line (the first 400 and last 300 characters), so a huge page stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.extract.domains import host_of, registrable_domain
from harvester.extract.metadata import HeadTags, read_head
from harvester.extract.wires import SHORT_ALIAS_MAX, WireRegistry, normalize_name
from harvester.models import EVIDENCE_KINDS, Evidence

__all__ = ["detect_attribution"]

# Credit lines are short and sit at the start or the end of their line; only these many
# characters of a line are searched, which keeps a 20 MB one-paragraph page linear.
_HEAD = 400
_TAIL = 300
# Datelines open a story: "22/07/2008 20:23 NOVO-OGARYOVO, July 22 (RIA Novosti) –".
_DATELINE_HEAD = 300
_DATELINE_MAX_WORDS = 8
# Bylines and "<wire> <date>" lines are lines of their own; longer lines are prose.
_BYLINE_MAX = 150
_STANDALONE_MAX = 100
# An unknown name after "originally published by" is accepted only on a short credit line:
# in longer prose, "First published in Britain, the book ..." names a place, not an outlet.
_UNKNOWN_CREDIT_LINE_MAX = 200
_TEXT_MAX = 300
# JSON-LD documents are walked iteratively, up to this many objects and lists per page.
_JSONLD_MAX_NODES = 5000

_KIND_RANK = {kind: rank for rank, kind in enumerate(EVIDENCE_KINDS)}
_WS = str.maketrans({c: " " for c in "\t\n\r\f\v\u00a0\u2028\u2029"})

_DASH = r"(?:-{1,2}|[‐‑‒–—―])"
_STAMP = (
    r"(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2})?)"
)
# Place (optional, starts with a letter, no parentheses), then "(Name)", then a dash.
_DATELINE = re.compile(
    rf"(?:{_STAMP}[ ,]+)?"
    rf"(?P<line>(?P<place>[^\W\d_][^()\n]{{0,80}}?[ ,]*)?\((?P<names>[^()\n]{{1,80}})\) ?{_DASH})"
)
# What every _DATELINE match contains (the close of its "(Name)" and the dash): a cheap search
# before the costly match (a paragraph with a parenthesis is common, a dateline is not).
_DATELINE_END = re.compile(rf"\) ?{_DASH}")
_NAME_SEP = re.compile(r" ?(?:[/,;&+]| and | und | et | y | и ) ?", re.IGNORECASE)

# Start of a line, or of a sentence / a footer item within one.
_START = r"(?:^|(?<=[.!?:;|•·)\]\"”»–—-] ))"
_STRONG = re.compile(
    _START + r"(?P<lead>"
    r"the original source of this (?:article|story|report|post|text) is"
    r"|(?:this (?:article|story|report|post|piece|column|essay|interview) (?:was|is|has been) )?"
    r"(?:originally|first) (?:published|posted|appeared)(?: (?:on|by|at|in))?"
    r"|(?:this (?:article|story|report|post|piece|column|essay) (?:is|was|has been) )?"
    r"republished (?:from|with (?:kind )?permission (?:from|of)|by permission of|courtesy of)"
    r"|(?:(?:эта )?(?:статья|материал) )?первоначально опубликован[аоы]?(?: (?:на сайте|на|в))?"
    r"|(?:(?:dieser|der) (?:artikel|beitrag|text) (?:ist )?)?"
    r"zuerst (?:erschienen|veröffentlicht) (?:bei|auf|im|in)"
    r"|(?:(?:este )?artículo )?(?:fue )?publicado originalmente (?:en|por)"
    r"|(?:cet article a été )?publié initialement (?:sur|par|dans)"
    # an aggregator's excerpt points at the full story: that outlet is the original
    r"|(?:read|see) the (?:full|complete|whole|rest of the) (?:story|article|report)"
    r"(?: (?:at|on|from|in))?"
    r"|continue reading (?:at|on)"
    r")(?: ?:)? (?P<rest>[^\n]{1,200})",
    re.IGNORECASE | re.MULTILINE,
)
_LABEL = re.compile(
    r"(?:^|(?<=[|•·] ))(?P<lead>sources?|quellen?|fuentes?|источники?) ?: ?(?P<rest>[^\n]{1,200})",
    re.IGNORECASE | re.MULTILINE,
)
_COPYRIGHT = re.compile(
    r"(?:^|(?<=[|•·.] ))(?P<lead>copyright(?: ?(?:©|\(c\)))?|©|ⓒ|\(c\))(?P<rest>[^\n]{1,200})",
    re.IGNORECASE | re.MULTILINE,
)
# Photo and image credits ("Photo: AFP", "© Reuters/Getty Images") credit a picture, not the
# story: a page with an AFP photo is not an AFP story.
_PICTURE_WORDS = (
    "photo", "picture", "image", "foto", "фото", "getty", "shutterstock", "illustration",
    "video", "graphic", "chart",
)  # fmt: skip
_COPYRIGHT_NOISE = re.compile(
    r"\b(?:19|20)\d{2}(?: ?[-–] ?(?:19|20)?\d{2,4})?\b"
    r"|all rights reserved|alle rechte vorbehalten|todos los derechos reservados"
    r"|tous droits réservés|все права защищены",
    re.IGNORECASE,
)
_PART_SEP = re.compile(r" ?(?:[,;|/]|\. | [-–—] | and | & ) ?", re.IGNORECASE)
_NAME_END = re.compile(
    # a name ends at a line break or where a copyright notice starts on the same line
    r"\n|©| copyright\b| copr\.|"
    r"[;|(\[{<]|[.!?](?: |$)|, | [-–—] "
    r"| (?:on|under|in|as|and|with|via|at|since|licensed|for|am|el|le|в|от|под)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_DOMAINISH = re.compile(r"(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,24}", re.IGNORECASE)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_DATE_WORDS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sept",
     "sep", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday",
     "saturday", "sunday", "mon", "tue", "tues", "wed", "thu", "thurs", "fri", "sat", "sun",
     "yesterday", "today", "of", "de"}
)  # fmt: skip
_DATE_AT_END = re.compile(
    rf"[ ,]+(?:\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}}"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})"
    r"(?:,? \d{1,2}:\d{2}(?::\d{2})?(?: ?[ap]\.?m\.?)?)?$",
    re.IGNORECASE,
)
_GENERIC_NAMES = frozenset(
    {"here", "this site", "this website", "our site", "our website", "website", "site", "blog",
     "online", "line", "web", "internet", "print", "paper", "newspaper", "author", "authors"}
)  # fmt: skip

_BY = re.compile(r"(?i:by) (?P<who>[^\n]{2,140})")
_STAFF = re.compile(r"(?P<who>[^\n]{2,60}?) (?i:staff)(?: (?i:writers?|reporters?))?\.?")
_WITH = re.compile(
    r"[(\[–—-]? ?(?:(?P<who>[^\n()\[\]]{1,80}?) )?(?i:with) (?P<wire>[^\n()\[\]]{2,60}?) ?[)\]]?\.?"
)
_WHO_SEP = re.compile(r" ?(?:[,;|/•·&]| and | with | for | [-–—] ) ?", re.IGNORECASE)
_ROLE = re.compile(
    r" (?:staff(?: writers?)?|reporters?|correspondents?|writers?|news desk|desk|bureau)$",
    re.IGNORECASE,
)
# "Staff and agencies with Reuters": the writer is the newsroom, not a person's sentence.
_NEWSROOM = re.compile(
    r"(?:staff|agencies|agency|wires?|reporters?|news desk|desk|editors?|bureau)$", re.IGNORECASE
)
# Cheap substring gates (on the lower-cased window) before each family of regexes: most lines
# of a page contain none of these words, and Python's re has no fast path for such alternations.
_STRONG_HINTS = (
    "original",
    "full ",
    "complete ",
    "whole ",
    "rest of the",
    "continue reading",
    "first ",
    "republished",
    "первоначально",
    "zuerst",
    "publicado",
    "publié",
)
_LABEL_HINTS = ("source", "quelle", "fuente", "источник")
_COPYRIGHT_HINTS = ("copyright", "©", "ⓒ", "(c)")

_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
     "div", "dl", "dt", "fieldset", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
     "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
     "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip
# figure/figcaption: picture credits, not story credits (see _PICTURE_WORDS).
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "select",
     "textarea", "figure", "figcaption", "head"}
)  # fmt: skip
# A Unicode noncharacter marks segment boundaries (around block elements, after ``<br>``) for
# _marked_text; a page containing it is walked the slow way. One mark for both: a line ends at
# the next mark, found with one ``str.find``.
_MARK = "\ufdd0"
# The body's own boundaries are the text's ends (and an HTML parser puts no body in a body).
_INNER_BLOCK_TAGS = _BLOCK_TAGS - {"body"}
_MARKS = re.compile(_MARK)
# Whitespace-free pieces of the hint lists, one of which any line with a credit contains.
_CREDIT_STEMS = tuple(
    dict.fromkeys(
        word
        for hint in (*_STRONG_HINTS, *_LABEL_HINTS, *_COPYRIGHT_HINTS)
        for word in hint.split()[:1]
    )
)
# How a line ending with a date or time (_DATE_AT_END) ends: a digit, perhaps "am" or "p.m.".
_LINE_END_DATE = re.compile(rf"\d(?:\s*[aApP]\.?[mM]\.?)?\s*(?={_MARK}|\Z)")
_AUTHOR_METAS = frozenset(
    {"author", "byl", "dc.creator", "dcterms.creator", "parsely-author", "sailthru.author",
     "article:author"}
)  # fmt: skip
_ORIGINAL_METAS = frozenset({"original-source", "syndication-source"})
# The JSON-LD keys _jsonld_evidence reads.
_JSONLD_KEYS = frozenset({"isBasedOn", "isBasedOnUrl", "sourceOrganization", "publisher", "author"})


@dataclass(frozen=True, kw_only=True)
class _Credit:
    """A credit found on a line: ``strong`` for "originally published"-style phrases."""

    text: str
    source: str | None
    url: str | None
    strong: bool


@dataclass(frozen=True, kw_only=True)
class _Segment:
    """A run of text between block boundaries of the DOM, with the links inside it."""

    text: str
    links: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class _Context:
    """Name and URL judgements for one page."""

    registry: WireRegistry
    url: str
    site: str
    outlets: Mapping[str, str]
    self_keys: frozenset[str] = field(default=frozenset())
    # Per-call memo of credit scans: the same line is seen in ``blocks`` and in the DOM.
    credit_cache: dict[str, tuple[_Credit, ...]] = field(default_factory=dict, repr=False)
    # Per-call memo of canonical() and outbound(), which are pure for one page: JSON-LD graphs,
    # bylines and links name the same publisher, wire or site many times.
    memo: dict[tuple[bool, str], str | None] = field(default_factory=dict, repr=False)

    def canonical(self, name: str) -> str | None:
        """The wire or configured outlet a printed name denotes, or None."""
        key = (True, name)
        if key not in self.memo:
            self.memo[key] = self._canonical(name)
        return self.memo[key]

    def _canonical(self, name: str) -> str | None:
        wire = self.registry.resolve_written(name)
        if wire is not None:
            return wire.name
        key = normalize_name(name)
        outlet = self.outlets.get(key)
        if outlet is None:
            return None
        # Short outlet aliases follow the wire rule: only in capitals.
        if len(key.replace(" ", "")) <= SHORT_ALIAS_MAX and not name.strip().isupper():
            return None
        return outlet

    def wire_name(self, name: str) -> str | None:
        """The canonical wire name of a printed name (wires only, not outlets), or None."""
        wire = self.registry.resolve_written(name)
        return wire.name if wire is not None else None

    def is_self(self, name: str | None) -> bool:
        """True when ``name`` (as printed or canonical) is the page's own outlet."""
        if not name:
            return False
        if normalize_name(name) in self.self_keys:
            return True
        canonical = self.canonical(name)
        return canonical is not None and normalize_name(canonical) in self.self_keys

    def outbound(self, href: str | None) -> str | None:
        """``href`` made absolute when it is an http(s) URL on another site, else None."""
        if not href:
            return None
        key = (False, href)
        if key not in self.memo:
            self.memo[key] = self._outbound(href)
        return self.memo[key]

    def _outbound(self, href: str) -> str | None:
        href = href.strip()
        try:
            absolute = urljoin(self.url, href) if self.url else href
            scheme = urlsplit(absolute).scheme.lower()
        except ValueError:
            return None
        if scheme not in ("http", "https"):
            return None
        site = registrable_domain(host_of(absolute))
        if not site or site == self.site:
            return None
        return absolute

    def url_source(self, url: str) -> str | None:
        """The wire owning ``url``'s domain, as a canonical name, or None."""
        wire = self.registry.by_domain(url)
        return wire.name if wire is not None else None


def detect_attribution(
    *,
    html: str,
    url: str,
    blocks: Sequence[str],
    registry: WireRegistry,
    outlet_names: Mapping[str, str] | None = None,
    self_names: Collection[str] = (),
    feed_source: tuple[str | None, str | None] | None = None,
    tree: LexborHTMLParser | None = None,
    head: HeadTags | None = None,
) -> tuple[Evidence, ...]:
    """Attribution evidence on one page, strongest first, deduplicated (see module docstring).

    ``blocks`` are the page's text blocks before boilerplate cleaning; ``outlet_names`` maps a
    lower-cased outlet name or alias to the configured outlet's name; ``self_names`` are the
    page's own outlet names; ``feed_source`` is the ``(name, url)`` of the feed item's source;
    ``tree`` is ``html`` already parsed, which saves a parse: this call MODIFIES it (it marks
    block boundaries and drops scripts in the body), so pass a clone to keep using it;
    ``head`` is :func:`~harvester.extract.metadata.read_head` of ``tree`` before that.
    """
    ctx = _context(registry, url, outlet_names or {}, self_names)
    found: list[Evidence] = []
    for block in blocks:
        found.extend(_block_evidence(ctx, block))
    if tree is None:
        tree = LexborHTMLParser(html)
    found.extend(_head_evidence(ctx, tree, read_head(tree) if head is None else head))
    if tree.body is not None:
        found.extend(_dom_evidence(ctx, tree.body, html))
    if feed_source is not None:
        found.extend(_feed_evidence(ctx, *feed_source))
    return _finish(found)


def _context(
    registry: WireRegistry, url: str, outlet_names: Mapping[str, str], self_names: Collection[str]
) -> _Context:
    outlets = {normalize_name(k): v for k, v in outlet_names.items() if normalize_name(k)}
    for canonical in set(outlet_names.values()):
        outlets.setdefault(normalize_name(canonical), canonical)
    keys: set[str] = set()
    for name in self_names:
        keys.add(normalize_name(name))
        wire = registry.resolve(name)
        if wire is not None:
            keys.add(normalize_name(wire.name))
        outlet = outlets.get(normalize_name(name))
        if outlet is not None:
            keys.add(normalize_name(outlet))
    page_wire = registry.by_domain(url) if url else None
    if page_wire is not None:
        # A wire's own page crediting the wire ("WASHINGTON (AP) —" on apnews.com) is no evidence.
        keys.add(normalize_name(page_wire.name))
    keys.discard("")
    return _Context(
        registry=registry,
        url=url,
        site=registrable_domain(host_of(url)) if url else "",
        outlets=outlets,
        self_keys=frozenset(keys),
    )


def _finish(found: list[Evidence]) -> tuple[Evidence, ...]:
    seen: set[tuple[str, str, str, str]] = set()
    out: list[Evidence] = []
    for ev in sorted(found, key=lambda e: _KIND_RANK.get(e.kind, len(_KIND_RANK))):
        key = (ev.kind, normalize_name(ev.source or ""), ev.url or "", " ".join(ev.text.split()))
        if key not in seen:
            seen.add(key)
            out.append(ev)
    return tuple(out)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 1] + "…"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _window(line: str) -> str:
    """The searched part of a line: whitespace collapsed, head and tail joined by a newline."""
    if len(line) <= 2 * (_HEAD + _TAIL):
        text = _collapse(line)
        if len(text) <= _HEAD + _TAIL:
            return text
        return text[:_HEAD] + "\n" + text[-_TAIL:]
    return _collapse(line[: 2 * _HEAD])[:_HEAD] + "\n" + _collapse(line[-2 * _TAIL :])[-_TAIL:]


# --- text blocks ---------------------------------------------------------------------------


def _block_evidence(ctx: _Context, block: str) -> Iterator[Evidence]:
    for raw in block.split("\n"):
        if not raw.strip():
            continue
        yield from _dateline(ctx, raw)
        window = _window(raw)
        if len(window) <= _BYLINE_MAX:
            yield from _byline(ctx, window)
        for credit in _credits(ctx, window):
            yield Evidence(
                kind="credit-line", text=credit.text, source=credit.source, url=credit.url
            )


def _dateline(ctx: _Context, raw: str) -> Iterator[Evidence]:
    head = _collapse(raw[: 2 * _DATELINE_HEAD])[:_DATELINE_HEAD]
    m = _DATELINE.match(head) if ")" in head and _DATELINE_END.search(head) else None
    if m is None or not _looks_like_place(m.group("place") or ""):
        return
    for part in _NAME_SEP.split(m.group("names")):
        name = ctx.canonical(part.strip())
        if name is not None and not ctx.is_self(name):
            yield Evidence(kind="dateline", text=_clip(m.group("line")), source=name)


def _looks_like_place(place: str) -> bool:
    """True for "NOVO-OGARYOVO, July 22", "Rio de Janeiro, Jan. 5", "SAN ESTEBAN, Calif.".

    A dateline's place and date are capitalised words, numbers and short connectors ("de");
    "The ministry said on Tuesday that (Reuters) -" is a sentence, not a dateline.
    """
    words = place.replace(",", " ").split()
    if len(words) > _DATELINE_MAX_WORDS:
        return False
    return all(w[0].isupper() or w[0].isdigit() or len(w) <= 3 for w in words)


def _byline(ctx: _Context, line: str) -> Iterator[Evidence]:
    # The words _STAFF and _WITH need, looked for first in ASCII lines (where IGNORECASE is
    # ASCII case folding; elsewhere "ſ" matches "s" and the regexes run).
    low = line.lower() if line.isascii() else None
    if m := _BY.fullmatch(line):
        for name in _names_in(m.group("who")):
            wire = ctx.wire_name(name)
            if wire is not None and not ctx.is_self(wire):
                yield Evidence(kind="author", text=_clip(line), source=wire)
    elif (low is None or " staff" in low) and (m := _STAFF.fullmatch(line)):
        wire = ctx.wire_name(m.group("who").strip())
        if wire is not None and not ctx.is_self(wire):
            yield Evidence(kind="author", text=_clip(line), source=wire)
    elif (low is None or "with " in low) and (m := _WITH.fullmatch(line)):
        who = (m.group("who") or "").strip(" -–—")
        # "With AFP", "Staff and agencies with Reuters", "Global Research with RIA Novosti";
        # "In an interview with Reuters" is a headline about Reuters, not a byline.
        if who and not (_NEWSROOM.search(who) or ctx.canonical(who) or ctx.is_self(who)):
            return
        wire = ctx.wire_name(m.group("wire").strip())
        if wire is not None and not ctx.is_self(wire):
            yield Evidence(kind="author", text=_clip(line), source=wire)


def _names_in(who: str) -> Iterator[str]:
    """The names in a byline: "Jane Doe, The Associated Press" -> "Jane Doe", "The ...Press"."""
    for raw in _WHO_SEP.split(who):
        part = _ROLE.sub("", raw.strip(" .:"))
        if not part:
            continue
        yield part
        if " of " in part:
            yield part.rsplit(" of ", 1)[1]


# --- credit lines --------------------------------------------------------------------------


def _credits(ctx: _Context, window: str) -> tuple[_Credit, ...]:
    """Credit lines in a line window (see :func:`_window`), in order of appearance."""
    cached = ctx.credit_cache.get(window)
    if cached is None:
        cached = ctx.credit_cache[window] = tuple(_scan_credits(ctx, window))
    return cached


def _scan_credits(ctx: _Context, window: str) -> list[_Credit]:
    low = window.lower()
    found: list[tuple[int, _Credit]] = []
    if any(hint in low for hint in _STRONG_HINTS):
        for m in _STRONG.finditer(window):
            credit = _strong_credit(ctx, window, m)
            if credit is not None:
                found.append((m.start(), credit))
    label = ":" in low and any(hint in low for hint in _LABEL_HINTS)
    copyright_ = any(hint in low for hint in _COPYRIGHT_HINTS)
    if (label or copyright_) and not any(word in low for word in _PICTURE_WORDS):
        for m in _LABEL.finditer(window) if label else ():
            found.extend((m.start(), c) for c in _known_credits(ctx, m.group(0), m.group("rest")))
        for m in _COPYRIGHT.finditer(window) if copyright_ else ():
            rest = _COPYRIGHT_NOISE.sub(" ", m.group("rest")).strip(" :")
            found.extend((m.start(), c) for c in _known_credits(ctx, m.group(0), rest))
    if len(window) <= _STANDALONE_MAX and (date := _DATE_AT_END.search(window)):
        # "RIA Novosti 22 July 2008": a wire's name alone with a date is its credit.
        prefix = window[: date.start()].strip(" ,")
        if ctx.registry.names_pattern().fullmatch(prefix):
            wire = ctx.wire_name(prefix)
            if wire is not None and not ctx.is_self(wire):
                found.append((0, _Credit(text=_clip(window), source=wire, url=None, strong=False)))
    found.sort(key=lambda item: item[0])
    return [credit for _, credit in found]


def _strong_credit(ctx: _Context, window: str, m: re.Match[str]) -> _Credit | None:
    rest = m.group("rest").strip().lstrip("\"'“‘«")
    text = _clip(m.group(0))
    if url := _URL.match(rest):
        link = url.group(0).rstrip(".,;:!?")
        if ctx.outbound(link) is None:
            return None
        source = ctx.url_source(link)
        return (
            None
            if ctx.is_self(source)
            else _Credit(text=text, source=source, url=link, strong=True)
        )
    end = _NAME_END.search(rest)
    name = _clean_name(rest[: end.start()] if end else rest)
    if name is None or ctx.is_self(name):
        return None
    if _DOMAINISH.fullmatch(name):
        site = registrable_domain(name)
        if site == ctx.site:
            return None
        return _Credit(text=text, source=ctx.url_source(site) or name, url=None, strong=True)
    canonical = ctx.canonical(name)
    if canonical is None:
        line_start = m.start() == 0 or window[m.start() - 1] == "\n"
        if not line_start or len(window) > _UNKNOWN_CREDIT_LINE_MAX:
            return None
    return _Credit(text=text, source=canonical or name, url=None, strong=True)


def _known_credits(ctx: _Context, matched: str, rest: str) -> Iterator[_Credit]:
    """Credits naming known wires or outlets in a "Source:" or copyright line."""
    for part in _PART_SEP.split(rest):
        name = part.strip(" .:;,()[]\"'“”«»")
        if not name:
            continue
        canonical = ctx.canonical(name)
        if canonical is not None and not ctx.is_self(canonical) and not ctx.is_self(name):
            yield _Credit(text=_clip(matched), source=canonical, url=None, strong=False)


def _clean_name(raw: str) -> str | None:
    """A credited name as written, trimmed; None when it is no name (a date, "here", a phrase)."""
    name = _collapse(raw).strip(" \"'“”‘’«»*_:;,.!?()[]")
    if not name or len(name) > 80 or len(name.split()) > 8:
        return None
    if not any(c.isalpha() for c in name) or name[0].isdigit():
        return None
    # "Originally published on March 3" / "on Tuesday": a date, not a name.
    tokens = re.split(r"[ ,.]+", name.casefold().strip(" ,."))
    if all(t in _DATE_WORDS or t.rstrip("stndrh").isdigit() for t in tokens):
        return None
    if normalize_name(name) in _GENERIC_NAMES:
        return None
    return name


# --- the DOM -------------------------------------------------------------------------------


def _dom_evidence(ctx: _Context, body: LexborNode, html: str) -> list[Evidence]:
    """Credit-line and link evidence of the DOM's text segments (``body`` is modified).

    Most pages have no credit outside their main text, and the Python walk of
    :func:`_segments` costs more than the rest of attribution together: the segments' text is
    read first by :func:`_marked_text` (C-level passes), only the lines that may hold a credit
    (:func:`_credit_candidates`) are scanned, and only a page where one of them holds a credit
    is walked, on a fresh parse, for the links of its segments.
    """
    text = _marked_text(body)
    if text is not None and not any(
        _credits(ctx, _window(line)) for line in _credit_candidates(text)
    ):
        return []
    segments = _segments(LexborHTMLParser(html).body or body)
    return [evidence for segment in segments for evidence in _segment_evidence(ctx, segment)]


def _marked_text(body: LexborNode) -> str | None:
    """The text of :func:`_segments` with a mark (``_MARK``) between segments and at each
    ``<br>``, whitespace as in the page; None when the page itself contains the mark.

    Skipped subtrees are dropped (in reverse document order: a node before its ancestors), a
    mark text node is put around every block element and after every ``<br>``, and the text
    of the body is read in one pass.
    """
    for node in [n for n in body.traverse() if n.tag in _SKIP_TAGS][::-1]:
        node.decompose()
    marks = 0
    for node in body.traverse():
        tag = node.tag
        if tag == "br":
            node.insert_after(_MARK)
            marks += 1
        elif tag in _INNER_BLOCK_TAGS:
            node.insert_before(_MARK)
            node.insert_after(_MARK)
            marks += 2
    text = body.text(deep=True)
    if text.count(_MARK) != marks:
        return None
    return text


def _credit_candidates(text: str) -> list[str]:
    """The non-blank lines of a :func:`_marked_text` that may hold a credit, in order.

    A superset of the lines :func:`_scan_credits` finds one in: those containing a word of
    the hint lists (whitespace-free, so found in the raw line too) and those ending like
    ``_DATE_AT_END``. Found with ``str.find`` over the whole lower-cased text (all lines when
    lower-casing changes the text's length).
    """
    low = text.lower()
    if len(low) != len(text):
        starts = [0, *(m.end() for m in _MARKS.finditer(text))]
    else:
        found: set[int] = set()
        for stem in _CREDIT_STEMS:
            i = low.find(stem)
            while i >= 0:
                found.add(_line_start(text, i))
                i = low.find(stem, _line_end(text, i))
        found.update(_line_start(text, m.start()) for m in _LINE_END_DATE.finditer(text))
        starts = sorted(found)
    lines = (text[start : _line_end(text, start)] for start in starts)
    return [line for line in lines if line and not line.isspace()]


def _line_start(text: str, index: int) -> int:
    return text.rfind(_MARK, 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find(_MARK, index)
    return end if end >= 0 else len(text)


def _segments(root: LexborNode) -> Iterator[_Segment]:
    """Text runs between block-element boundaries, in document order; ``<br>`` is a newline.

    One iterative walk (no recursion: deep DOMs are common in hostile pages).
    """
    stack: list[LexborNode | None] = [root]
    pieces: list[str] = []
    links: list[tuple[str, str]] = []

    def flush() -> _Segment | None:
        text = "".join(pieces)
        segment = _Segment(text=text, links=tuple(links)) if text.strip() else None
        pieces.clear()
        links.clear()
        return segment

    while stack:
        node = stack.pop()
        if node is None:
            if (segment := flush()) is not None:
                yield segment
            continue
        if node.is_text_node:
            pieces.append((node.text_content or "").translate(_WS))
            continue
        if not node.is_element_node:
            continue
        tag = node.tag or ""
        if tag in _SKIP_TAGS:
            continue
        if tag == "br":
            pieces.append("\n")
            continue
        if tag == "a" and (href := node.attributes.get("href")):
            links.append((href, _collapse(node.text(deep=True) or "")))
        if tag in _BLOCK_TAGS:
            if (segment := flush()) is not None:
                yield segment
            stack.append(None)
        child = node.last_child
        while child is not None:
            stack.append(child)
            child = child.prev
    if (segment := flush()) is not None:
        yield segment


def _segment_evidence(ctx: _Context, segment: _Segment) -> Iterator[Evidence]:
    for raw in segment.text.split("\n"):
        if not raw.strip():
            continue
        for credit in _credits(ctx, _window(raw)):
            yield Evidence(
                kind="credit-line", text=credit.text, source=credit.source, url=credit.url
            )
            link = _credit_link(ctx, credit, segment.links)
            if link is not None:
                yield Evidence(kind="link", text=credit.text, source=credit.source, url=link)


def _credit_link(ctx: _Context, credit: _Credit, links: Sequence[tuple[str, str]]) -> str | None:
    """The outbound link of a credit line's block that points at the credited original."""
    outbound = [(url, text) for href, text in links if (url := ctx.outbound(href)) is not None]
    if not outbound:
        return None
    wire = ctx.registry.resolve(credit.source) if credit.source else None
    for url, _ in outbound:
        if wire is not None and ctx.registry.by_domain(url) is wire:
            return url
    for url, text in outbound:
        if credit.source and text and credit.source in (ctx.canonical(text), text):
            return url
    # A lone outbound link in an "originally published at" line is the original; among several
    # (share buttons, licence links) none is trusted.
    if credit.strong and len(outbound) == 1:
        return outbound[0][0]
    return None


def _head_evidence(ctx: _Context, tree: LexborHTMLParser, head: HeadTags) -> Iterator[Evidence]:
    yield from _canonical_evidence(ctx, tree)
    for attrs in head.metas:
        yield from _meta_evidence(ctx, attrs)
    for _, data in head.json_ld:
        for obj in _jsonld_objects(data):
            # most objects of a graph (images, breadcrumbs, offers) have none of the keys read
            if not _JSONLD_KEYS.isdisjoint(obj):
                yield from _jsonld_evidence(ctx, obj)


def _canonical_evidence(ctx: _Context, tree: LexborHTMLParser) -> Iterator[Evidence]:
    for node in tree.css("link[rel]"):
        if "canonical" not in (node.attributes.get("rel") or "").lower().split():
            continue
        href = node.attributes.get("href") or ""
        target = ctx.outbound(href)
        if target is not None:
            source = ctx.url_source(target)
            if not ctx.is_self(source):
                text = f'<link rel="canonical" href="{href.strip()}">'
                yield Evidence(kind="canonical", text=_clip(text), source=source, url=target)
        return  # only the first canonical counts, as for search engines


def _meta_evidence(ctx: _Context, attrs: Mapping[str, str | None]) -> Iterator[Evidence]:
    key = (attrs.get("name") or attrs.get("property") or "").strip().lower()
    content = (attrs.get("content") or "").strip()
    if not content or (key not in _ORIGINAL_METAS and key not in _AUTHOR_METAS):
        return
    text = _clip(f'<meta name="{key}" content="{content}">')
    if key in _ORIGINAL_METAS:
        target = ctx.outbound(content)
        source = ctx.url_source(target) if target else None
        if target is not None and not ctx.is_self(source):
            yield Evidence(kind="meta", text=text, source=source, url=target)
    elif key in _AUTHOR_METAS and not _URL.match(content):
        for name in _names_in(content.removeprefix("By ").removeprefix("by ")):
            wire = ctx.wire_name(name)
            if wire is not None and not ctx.is_self(wire):
                yield Evidence(kind="author", text=text, source=wire)


def _jsonld_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD document (``@graph``, lists, nested), bounded."""
    stack = [data]
    visited = 0
    while stack and visited < _JSONLD_MAX_NODES:
        item = stack.pop()
        visited += 1
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in reversed(item.values()) if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in reversed(item) if isinstance(v, dict | list))


def _jsonld_refs(value: Any) -> Iterator[tuple[str | None, str | None]]:
    """``(name, url)`` pairs of a JSON-LD reference: a URL, a name, an object, or a list."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item.strip():
            text = item.strip()
            yield (None, text) if _URL.match(text) else (text, None)
        elif isinstance(item, dict):
            name = item.get("name")
            url = item.get("url") or item.get("@id")
            yield (
                name.strip() if isinstance(name, str) and name.strip() else None,
                url.strip() if isinstance(url, str) and _URL.match(url.strip()) else None,
            )


def _jsonld_evidence(ctx: _Context, obj: dict[str, Any]) -> Iterator[Evidence]:
    for key in ("isBasedOn", "isBasedOnUrl", "sourceOrganization"):
        for name, url in _jsonld_refs(obj.get(key)):
            target = ctx.outbound(url) if url else None
            if url is not None and target is None:
                continue  # a self-reference, or not http(s)
            known = ctx.canonical(name) if name else None
            source = known or (ctx.url_source(target) if target else None)
            if key == "sourceOrganization" and source is None and target is None:
                # Sites name their own company here under many spellings; unknown names with
                # no other-site URL are not evidence.
                continue
            if key != "sourceOrganization" and source is None and name is not None:
                source = _clean_name(name)
            if (target is None and source is None) or ctx.is_self(name) or ctx.is_self(source):
                continue
            text = f"JSON-LD {key}: {url or name}"
            yield Evidence(kind="meta", text=_clip(text), source=source, url=target)
    for name, url in _jsonld_refs(obj.get("publisher")):
        wire = (ctx.wire_name(name) if name else None) or (ctx.url_source(url) if url else None)
        if wire is not None and not ctx.is_self(wire) and not ctx.is_self(name):
            target = ctx.outbound(url) if url else None
            text = f"JSON-LD publisher: {name or url}"
            yield Evidence(kind="meta", text=_clip(text), source=wire, url=target)
    for name, _url in _jsonld_refs(obj.get("author")):
        for part in _names_in(name) if name else ():
            wire = ctx.wire_name(part)
            if wire is not None and not ctx.is_self(wire):
                yield Evidence(kind="author", text=_clip(f"JSON-LD author: {name}"), source=wire)


def _feed_evidence(ctx: _Context, name: str | None, url: str | None) -> Iterator[Evidence]:
    target = ctx.outbound(url) if url else None
    if url and target is None and ctx.site and registrable_domain(host_of(url)) == ctx.site:
        return  # the feed credits the page's own site
    cleaned = _clean_name(name) if name else None
    source = (ctx.canonical(cleaned) if cleaned else None) or cleaned
    if source is None and target is not None:
        source = ctx.url_source(target)
    if (source is None and target is None) or ctx.is_self(source) or ctx.is_self(cleaned):
        return
    text = (
        f"feed <source url={url!r}>{name or ''}</source>"
        if url
        else f"feed <source>{name}</source>"
    )
    yield Evidence(kind="feed", text=_clip(text), source=source, url=target)
