"""A labelled syndication set: real article bodies, invented outlets, every way copies differ.

The set is built at test time from ``../shared/data/fundus-parser-tests/ground_truth_flat.jsonl``
(real article bodies, field ``body_text``); nothing from it is stored in the repository. The
outlets, the copies' changes, the commentary paragraphs, the credit lines and the timeline are
made up here, deterministically from ``seed``.

Outlets (host index -> ``127.0.0.(2 + index)`` in the tests)::

    0 Associated Press (wire, alias AP)    4 Harbour Gazette    (republisher)
    1 Reuters          (wire)              5 Valley Courier     (republisher)
    2 Anadolu Agency   (wire, alias AA)    6 Daily Aggregator   (republisher)
    3 RIA Novosti      (wire)              7 Metro Post         (republisher)
                                           8 Global Review      (republisher)

The wire names are those of ``config/wires.toml``, so evidence naming them resolves.

Composition of ``build_set(data_dir, stories=40, seed=7)``: 211 pages, 56 stories (40 + 16 hard
negatives); by kind (``SyndicationSet.composition()``): original 40, exact 23 (4 of them copies
of follow-ups), commentary 17, dropped 17, edited-headline 17, excerpt 17, reordered 17,
copy-of-copy 16, typography 16, numbers 15, independent 8, follow-up 8; 34 pages arrive before
their story's original. How the pages are made:

* **Stories**: ``stories`` real bodies with >= 5 paragraphs (800-12,000 characters, not
  CJK), wire and wire-heavy publishers first (APNews, Reuters, AnadoluAjansi, VoiceOfAmerica,
  WashingtonTimes, DailyMail), then the others in seeded order. A real dateline at the start of
  a paragraph ("MEXICO CITY (AP) —") is removed from the body; bodies that still carry a credit
  or dateline of their own are skipped (their evidence would contradict the labels).
* **original** (one per story): a wire outlet publishes the body as is (paragraphs split on
  blank lines) at time T. About half the originals open with a dateline in that wire's style:
  ``CITY (AP) —``, ``CITY, March 2 (Reuters) -``, ``CITY (AA) -``,
  ``CITY, March 2 (RIA Novosti) –``.
* **Copies**: 3-5 per story by distinct republishers, minutes to hours after T, kinds dealt from
  a shuffled deck so each appears about equally often:
  ``exact`` (same paragraphs); ``excerpt`` (first 2-3 paragraphs, more while under 400
  characters, and "Read the full story at <Wire>" linking the original); ``commentary`` (the
  republisher's own paragraph before, after, or both); ``edited-headline`` (new title, same
  paragraphs); ``dropped`` (one or two paragraphs left out, in the middle or at the end);
  ``reordered`` (paragraphs moved, sometimes the lead); ``typography`` (straight <-> curly
  quotes and apostrophes, dashes rewritten, doubled spaces); ``numbers`` (digits changed in one
  or two paragraphs, an updated toll); ``copy-of-copy`` (made from another copy of the story,
  15-200 minutes after it, sometimes with its last paragraph dropped). A kind that does not
  apply to a text (no figures, no quotes or dashes) becomes an ``exact`` copy.
* **Attribution** of copies (``LabelledPage.attribution``), various forms and strengths:
  ``dateline`` (the original's dateline kept), ``credit-line`` ("This article was originally
  published by Reuters.", "The original source of this article is RIA Novosti.", "Source: AP",
  "© 2026 Anadolu Agency. All rights reserved."), ``credit-link`` (the credit links the
  original's URL), ``canonical`` (a cross-domain ``<link rel=canonical>`` to the original),
  ``json-ld`` (``isBasedOn`` the original's URL + ``sourceOrganization`` the wire),
  ``json-ld-url`` (``isBasedOn`` the URL only), ``byline`` ("By The Associated Press"),
  ``read-more`` (excerpts), ``none`` (nothing: the original must be found by text and earliest
  publication). Copies of copies: ``via-copy`` (credits the intermediate republisher and links
  its page: the chain must be followed to the wire), ``inherited:<form>`` (whatever the parent
  copy carried), or ``none``.
* **Arrival order** (``SyndicationSet.pages``) is mostly publication order, but in about one
  story in five the original arrives after all its copies, and in about one in four one copy
  arrives before the original (``SyndicationSet.arrived_before_original``).
* **Hard negatives**, each its own story with its own original:
  ``independent`` (stories // 5 of them): another real body, published by a republisher or a
  different wire within 90 minutes of a story, with one sentence of that story (a quote, when
  there is one) inserted as a paragraph; ``follow-up`` (stories // 5): another real body,
  published by the story's wire 18-30 hours later, whose second paragraph repeats a background
  paragraph of the story; half of the follow-ups also get an ``exact`` copy with a credit line.

Scoring: :func:`pairwise_scores` (precision / recall / F1 over all unordered pairs of pages,
same story or not) and original-outlet accuracy; the trivial :func:`baseline_first_chars`
rule puts pages in one story iff the first 200 characters of their text are equal.
:func:`run_pipeline` serves the set on local mock servers and harvests it with
``harvester.pipeline.Harvester``.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mockserver import MockServer, free_loopback_host

__all__ = [
    "COPY_KINDS",
    "FUNDUS",
    "GROUND_TRUTH",
    "KINDS",
    "NEGATIVE_KINDS",
    "OUTLETS",
    "LabelledPage",
    "Outlet",
    "SyndicationSet",
    "baseline_first_chars",
    "baseline_numbers",
    "baseline_originals",
    "build_set",
    "composition",
    "describe",
    "normalize_typography",
    "original_accuracy",
    "pairwise_scores",
    "render_page",
    "resolve_hosts",
    "run_pipeline",
    "write_config",
]

FUNDUS = "fundus-parser-tests"
GROUND_TRUTH = "ground_truth_flat.jsonl"

COPY_KINDS = (
    "exact",
    "excerpt",
    "commentary",
    "edited-headline",
    "dropped",
    "reordered",
    "typography",
    "numbers",
    "copy-of-copy",
)
NEGATIVE_KINDS = ("independent", "follow-up")
KINDS = ("original", *COPY_KINDS, *NEGATIVE_KINDS)

# In head markup and credit URLs, "@HOST3@" stands for the base URL of host index 3
# ("http://127.0.0.5:PORT"): ports are only known once the servers run (see resolve_hosts).
_HOST_TOKEN = re.compile(r"@HOST(\d+)@")


@dataclass(frozen=True, kw_only=True)
class LabelledPage:
    """One page of the set with its ground truth.

    The fields after ``kind`` extend the brief's contract; all have defaults. ``credit`` is a
    line rendered after the paragraphs; text in ``[brackets]`` becomes a link to
    ``credit_url``. URLs in ``head`` and ``credit_url`` use ``@HOST<i>@`` for outlet ``i``'s
    base URL (:func:`resolve_hosts`).
    """

    path: str  # URL path on its outlet's host, unique
    host_index: int  # which outlet (host) serves it: 0..
    outlet: str  # the outlet name
    title: str
    paragraphs: tuple[str, ...]
    published: str  # ISO date-time for <meta property="article:published_time">
    head: str = ""  # extra head markup (cross-domain canonical, JSON-LD isBasedOn)
    story: str  # ground-truth story label
    original_outlet: str  # ground-truth outlet of the story's original
    kind: str  # one of KINDS
    author: str = ""  # byline (and <meta name="author">), "" for none
    credit: str = ""  # credit line after the paragraphs, "" for none
    credit_url: str = ""  # the link target of the credit's [bracketed] text
    attribution: str = "none"  # how the page names its original ("self" for originals)
    parent: str = ""  # path of the page this one was made from ("" for originals, negatives)

    @property
    def credit_text(self) -> str:
        """The credit line as a reader sees it (brackets removed)."""
        return self.credit.replace("[", "").replace("]", "")

    @property
    def text(self) -> str:
        """The article text as a reader sees it: paragraphs, then the credit line."""
        blocks = [*self.paragraphs, self.credit_text] if self.credit else list(self.paragraphs)
        return "\n\n".join(blocks)

    @property
    def published_at(self) -> datetime:
        """``published`` as an aware datetime."""
        return datetime.fromisoformat(self.published.replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class Outlet:
    """An outlet of the set: the name configured in the test, the host index, wire or not."""

    name: str
    host_index: int
    wire: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SyndicationSet:
    """The outlets and the pages, in ARRIVAL order (the order the test harvests them)."""

    outlets: tuple[Outlet, ...]
    pages: tuple[LabelledPage, ...]

    def composition(self) -> Counter[str]:
        """How many pages of each kind."""
        return Counter(p.kind for p in self.pages)

    def attributions(self) -> Counter[str]:
        """How many pages carry each form of attribution."""
        return Counter(p.attribution for p in self.pages)

    def stories(self) -> dict[str, list[LabelledPage]]:
        """Pages by story label, each list in arrival order."""
        out: dict[str, list[LabelledPage]] = {}
        for page in self.pages:
            out.setdefault(page.story, []).append(page)
        return out

    def truth(self) -> dict[str, str]:
        """Path -> story label."""
        return {p.path: p.story for p in self.pages}

    def truth_originals(self) -> dict[str, str]:
        """Path -> outlet of the story's original."""
        return {p.path: p.original_outlet for p in self.pages}

    def arrived_before_original(self) -> set[str]:
        """Paths of pages that arrive before their story's original."""
        position = {p.path: i for i, p in enumerate(self.pages)}
        original = {p.story: position[p.path] for p in self.pages if p.kind == "original"}
        return {
            p.path
            for p in self.pages
            if p.story in original and position[p.path] < original[p.story]
        }

    def outlet(self, name: str) -> Outlet:
        """The outlet called ``name``."""
        return next(o for o in self.outlets if o.name == name)


def composition(syndication_set: SyndicationSet) -> Counter[str]:
    """How many pages of each kind (same as ``syndication_set.composition()``)."""
    return syndication_set.composition()


OUTLETS: tuple[Outlet, ...] = (
    Outlet(name="Associated Press", host_index=0, wire=True, aliases=("AP",)),
    Outlet(name="Reuters", host_index=1, wire=True),
    Outlet(name="Anadolu Agency", host_index=2, wire=True, aliases=("AA",)),
    Outlet(name="RIA Novosti", host_index=3, wire=True),
    Outlet(name="Harbour Gazette", host_index=4, wire=False),
    Outlet(name="Valley Courier", host_index=5, wire=False),
    Outlet(name="Daily Aggregator", host_index=6, wire=False),
    Outlet(name="Metro Post", host_index=7, wire=False),
    Outlet(name="Global Review", host_index=8, wire=False),
)
_WIRES = tuple(o for o in OUTLETS if o.wire)
_REPUBLISHERS = tuple(o for o in OUTLETS if not o.wire)


@dataclass(frozen=True)
class _WireStyle:
    dateline: str  # format with city, month, day
    names: tuple[str, ...]  # how copies spell the wire in credit lines
    byline: str
    path: str  # format with slug, n


_STYLES = {
    "Associated Press": _WireStyle(
        "{city} (AP) — ",
        ("The Associated Press", "Associated Press", "AP"),
        "The Associated Press",
        "/article/{slug}-{n:04x}c1e",
    ),
    "Reuters": _WireStyle(
        "{city}, {month} {day} (Reuters) - ",
        ("Reuters", "Thomson Reuters", "Reuters"),
        "Reuters",
        "/world/{slug}-2026-03-{n:04d}/",
    ),
    "Anadolu Agency": _WireStyle(
        "{city} (AA) - ",
        ("Anadolu Agency", "Anadolu", "AA"),
        "Anadolu Agency",
        "/en/world/{slug}/{n}",
    ),
    "RIA Novosti": _WireStyle(
        "{city}, {month} {day} (RIA Novosti) – ",
        ("RIA Novosti", "RIA Novosti", "RIA Novosti"),
        "RIA Novosti",
        "/20260302/{slug}-{n}.html",
    ),
}
_REPUBLISHER_PATHS = {
    "Harbour Gazette": "/news/{slug}-{n}",
    "Valley Courier": "/2026/03/02/{slug}/",
    "Daily Aggregator": "/story/{n}/{slug}",
    "Metro Post": "/world/{slug}-{n}.html",
    "Global Review": "/articles/{n}/{slug}",
}
_CITIES = {
    "us": "WASHINGTON", "uk": "LONDON", "de": "BERLIN", "at": "VIENNA", "ch": "ZURICH",
    "tr": "ANKARA", "ru": "MOSCOW", "fr": "PARIS", "es": "MADRID", "it": "ROME",
    "ca": "TORONTO", "au": "SYDNEY", "za": "JOHANNESBURG", "no": "OSLO", "se": "STOCKHOLM",
    "pl": "WARSAW", "cz": "PRAGUE", "ua": "KYIV", "in": "NEW DELHI", "ind": "NEW DELHI",
    "mx": "MEXICO CITY", "lu": "LUXEMBOURG", "be": "BRUSSELS", "dk": "COPENHAGEN",
}  # fmt: skip
_PREFERRED = (
    "APNews",
    "Reuters",
    "AnadoluAjansi",
    "VoiceOfAmerica",
    "WashingtonTimes",
    "DailyMail",
)
_PUBLISHER_WIRE = {
    "APNews": "Associated Press",
    "VoiceOfAmerica": "Associated Press",
    "WashingtonTimes": "Associated Press",
    "Reuters": "Reuters",
    "AnadoluAjansi": "Anadolu Agency",
}

# A dateline at the start of a paragraph: place (<= 8 words), "(Name)", a dash.
_DASH = r"(?:-{1,2}|[‐‑‒–—―])"
_LEADING_DATELINE = re.compile(
    rf"^(?P<place>[^()\n]{{0,80}}?)\((?P<name>[^()\n]{{1,40}})\) ?{_DASH}\s*"
)
_CREDIT_WORDS = re.compile(
    r"\b(?:originally published|first published|original source|republished|source ?:"
    r"|quelle ?:|fuente ?:|источник|copyright|all rights reserved|alle rechte)|©|\(c\)",
    re.IGNORECASE,
)
_AGENCY_AUTHOR = re.compile(
    r"\b(?:ap|afp|dpa|reuters|associated press|presse-agentur|anadolu|ria|tass|news|redaktion"
    r"|staff|agency|agentur)\b",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”“»']?\s+(?=[\"„“«'A-ZÀ-ÖØ-Þ])")
_NUMBER = re.compile(r"\d+")
_T0 = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class _Body:
    """One usable ground-truth article."""

    publisher: str
    country: str
    place: str  # the place of the body's own dateline, upper-cased ("" when it had none)
    title: str
    authors: tuple[str, ...]
    paragraphs: tuple[str, ...]


# --- reading the ground truth ---------------------------------------------------------------


def _paragraphs(body_text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body_text) if p.strip()]


def _split_dateline(paragraph: str) -> tuple[str, str]:
    """(place of a leading dateline or "", the paragraph without it)."""
    m = _LEADING_DATELINE.match(paragraph)
    if m and len(m.group("place").split()) <= 8:
        place = m.group("place").split(",")[0].strip()
        return place.upper(), paragraph[m.end() :]
    return "", paragraph


def _usable(row: Mapping[str, Any]) -> _Body | None:
    """The row as a body, or None when it is too short / long, CJK, or carries a credit."""
    title = " ".join(str(row.get("title") or "").split())
    split = [_split_dateline(p) for p in _paragraphs(str(row.get("body_text") or ""))]
    place = next((place for place, _ in split if place), "")
    paragraphs = [p for _, p in split if p]
    text = "\n\n".join(paragraphs)
    if not title or len(paragraphs) < 5 or not 800 <= len(text) <= 12_000:
        return None
    if len(_CJK.findall(text)) > 0.1 * len(text):
        return None
    if _CREDIT_WORDS.search(text) or any(_LEADING_DATELINE.match(p) for p in paragraphs):
        return None
    authors = tuple(
        a.strip() for a in row.get("authors") or () if a.strip() and not _AGENCY_AUTHOR.search(a)
    )
    return _Body(
        publisher=str(row.get("publisher") or ""),
        country=str(row.get("country") or ""),
        place=place,
        title=title,
        authors=authors,
        paragraphs=tuple(paragraphs),
    )


def _load_bodies(data_dir: Path) -> list[_Body]:
    path = data_dir / FUNDUS / GROUND_TRUTH
    seen: set[str] = set()
    bodies: list[_Body] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            body = _usable(row)
            key = str(row.get("url") or "")
            if body is None or key in seen or "\n\n".join(body.paragraphs) in seen:
                continue
            seen.update({key, "\n\n".join(body.paragraphs)})
            bodies.append(body)
    return bodies


# --- text changes -------------------------------------------------------------------------


_TO_CURLY = {'"': ("“", "”"), "'": ("‘", "’")}
_TYPO_NORMAL = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "–": "-", "—": "-"}
)


def normalize_typography(text: str) -> str:
    """Quotes straightened, dashes made hyphens, "--" as "-", whitespace collapsed."""
    text = text.translate(_TYPO_NORMAL).replace("--", "-")
    return " ".join(text.split())


def _typography(paragraph: str, flip: bool) -> str:
    """Straight quotes -> curly (or curly -> straight when ``flip``), dashes and spaces changed."""
    out: list[str] = []
    open_double = True
    for i, ch in enumerate(paragraph):
        if not flip and ch == '"':
            out.append(_TO_CURLY['"'][0 if open_double else 1])
            open_double = not open_double
        elif not flip and ch == "'":
            before = paragraph[i - 1] if i else " "
            out.append("’" if before.isalnum() else "‘")
        elif flip and ch in "“”„«»":
            out.append('"')
        elif flip and ch in "‘’":
            out.append("'")
        elif ch == "—":
            out.append("--")
        elif ch == "–":
            out.append("-")
        elif ch == " " and not flip and i > 0 and paragraph[i - 1] in ".!?":
            out.append("  ")  # two spaces after a full stop, typewriter style
        elif ch == " " and flip and i > 0 and paragraph[i - 1] == ",":
            out.append("  ")
        else:
            out.append(ch)
    text = "".join(out)
    if not flip:
        text = text.replace(" - ", " – ")
    return text


def _change_numbers(paragraph: str, rng: random.Random) -> str:
    """The paragraph with its first non-year number changed (an updated figure)."""
    for m in _NUMBER.finditer(paragraph):
        digits = m.group(0)
        if len(digits) == 4 and digits[:2] in ("19", "20"):
            continue  # a year: updates do not change years
        last = int(digits[-1])
        new_last = last + rng.choice((1, 2, 3)) if last < 7 else last - rng.choice((1, 2))
        changed = digits[:-1] + str(new_last)
        return paragraph[: m.start()] + changed + paragraph[m.end() :]
    return paragraph


def _slug(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", folded.lower())
    return "-".join(words[:7]) or "story"


# --- commentary (team-written; the title is inserted at build time) -------------------------

_COMMENT_BEFORE = (
    "Why we are running this: readers of the {outlet} have asked about “{title}” all week. "
    "The report below is reproduced in full; our newsroom is gathering local reactions and "
    "will add them in a follow-up.",
    "Editor's note: the {outlet} is carrying the following report, “{title}”, because it bears "
    "on decisions our own council will take this spring. Local comment follows next week.",
    "Before you read: “{title}” is one of several reports we are following closely. The "
    "{outlet} publishes it unchanged so that readers can judge the facts for themselves.",
)
_COMMENT_AFTER = (
    "Our view: the report above, “{title}”, leaves open what any of this means for people "
    "here. The {outlet} will put the questions it raises to the regional authorities and "
    "publish their answers.",
    "What do you think? The {outlet} would like to hear from readers affected by the events "
    "described in “{title}”. Write to the letters desk; a selection will be printed on Sunday.",
    "Analysis: reports like “{title}” tend to be followed by weeks of claims and counter-claims. "
    "The {outlet} will keep track of what is confirmed and what is not.",
)
# Attribution forms of ordinary copies ("none" twice: many copies say nothing at all).
_COPY_FORMS = (
    "none",
    "none",
    "credit-line",
    "credit-line",
    "credit-link",
    "canonical",
    "json-ld",
    "json-ld-url",
    "byline",
)
_HEADLINE_EDITS = (
    "Breaking: {title}",
    "{title} — what we know",
    "Update: {title}",
    "WATCH: {title}",
    "{short}…",
)


# --- the builder --------------------------------------------------------------------------


@dataclass
class _Builder:
    rng: random.Random
    counter: int = 0
    entries: list[tuple[float, int, LabelledPage]] = field(default_factory=list)
    deck: list[str] = field(default_factory=list)

    def path(self, outlet: str, title: str) -> str:
        self.counter += 1
        style = _STYLES.get(outlet)
        pattern = style.path if style else _REPUBLISHER_PATHS[outlet]
        return pattern.format(slug=_slug(title), n=self.counter)

    def add(self, arrival: float, page: LabelledPage) -> LabelledPage:
        self.entries.append((arrival, len(self.entries), page))
        return page

    def deal(self, count: int) -> list[str]:
        """``count`` distinct copy kinds from a shuffled, refilled deck ("copy-of-copy" last)."""
        kinds: list[str] = []
        skipped: list[str] = []
        while len(kinds) < count:
            if not self.deck:
                self.deck = list(COPY_KINDS)
                self.rng.shuffle(self.deck)
            kind = self.deck.pop()
            if kind in kinds:
                skipped.append(kind)
            else:
                kinds.append(kind)
        self.deck.extend(skipped)
        if "copy-of-copy" in kinds:
            kinds.remove("copy-of-copy")
            kinds.append("copy-of-copy")
        return kinds


def _iso(minutes: float) -> str:
    return (_T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dateline(wire: str, body: _Body, minutes: float) -> str:
    when = _T0 + timedelta(minutes=minutes)
    city = body.place or _CITIES.get(body.country, "GENEVA")
    return _STYLES[wire].dateline.format(city=city, month=when.strftime("%B"), day=when.day)


def _link(base: int, path: str) -> str:
    return f"@HOST{base}@{path}"


def _canonical_head(url: str) -> str:
    return f'<link rel="canonical" href="{html.escape(url)}">'


def _jsonld_head(url: str, organisation: str | None) -> str:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "isBasedOn": url,
    }
    if organisation:
        data["sourceOrganization"] = {"@type": "NewsMediaOrganization", "name": organisation}
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def _credit_line(wire: str, rng: random.Random) -> tuple[str, bool]:
    """A credit line naming ``wire`` and whether its [name] is linked."""
    names = _STYLES[wire].names
    forms = (
        ("This article was originally published by {name}.", names[0], False),
        ("Originally published by {name}.", names[1], False),
        ("The original source of this article is {name}.", names[0], False),
        ("This story was first published on [{name}].", names[0], True),
        ("Source: {name}", names[2], False),
        ("© 2026 {name}. All rights reserved.", names[0], False),
    )
    template, name, linked = forms[rng.randrange(len(forms))]
    return template.format(name=name), linked


def _excerpt(paragraphs: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    take = rng.choice((2, 3))
    while take < len(paragraphs) - 1 and len(" ".join(paragraphs[:take])) < 400:
        take += 1
    return tuple(paragraphs[:take])


def _commentary(
    paragraphs: tuple[str, ...], outlet: str, title: str, rng: random.Random
) -> tuple[str, ...]:
    where = rng.choice(("before", "after", "both"))
    before = rng.choice(_COMMENT_BEFORE).format(outlet=outlet, title=title)
    after = rng.choice(_COMMENT_AFTER).format(outlet=outlet, title=title)
    if where == "before":
        return (before, *paragraphs)
    if where == "after":
        return (*paragraphs, after)
    return (before, *paragraphs, after)


def _dropped(paragraphs: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    n = len(paragraphs)
    if rng.random() < 0.35:
        return paragraphs[: n - rng.choice((1, 2))]  # the tail cut off
    drop = set(rng.sample(range(1, n - 1), k=min(2, max(1, (n - 2) // 4))))
    return tuple(p for i, p in enumerate(paragraphs) if i not in drop)


def _reordered(paragraphs: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    items = list(paragraphs)
    n = len(items)
    style = rng.choice(("swap-lead", "swap-middle", "last-up"))
    if style == "swap-lead":
        items[0], items[1] = items[1], items[0]
    elif style == "swap-middle":
        i = rng.randrange(1, n - 2)
        items[i], items[i + 1] = items[i + 1], items[i]
    else:
        items.insert(1, items.pop())
    return tuple(items)


def _numbers(paragraphs: tuple[str, ...], rng: random.Random) -> tuple[str, ...] | None:
    with_digits = [i for i, p in enumerate(paragraphs) if _change_numbers(p, rng) != p]
    if not with_digits:
        return None
    chosen = set(with_digits[:1] + rng.sample(with_digits, k=min(1, len(with_digits) - 1)))
    return tuple(_change_numbers(p, rng) if i in chosen else p for i, p in enumerate(paragraphs))


def _prefers_straight(paragraphs: Sequence[str]) -> bool:
    """True when the text has more curly quotes than straight ones (so copies straighten)."""
    curly = sum(p.count(c) for p in paragraphs for c in "“”„«»‘’")
    straight = sum(p.count(c) for p in paragraphs for c in "\"'")
    return curly > straight


def _typographic(paragraphs: tuple[str, ...]) -> tuple[str, ...] | None:
    flip = _prefers_straight(paragraphs)
    changed = tuple(_typography(p, flip) for p in paragraphs)
    visible = [" ".join(p.split()) for p in changed] != [" ".join(p.split()) for p in paragraphs]
    return changed if visible else None


def _headline(title: str, rng: random.Random) -> str:
    words = title.split()
    short = " ".join(words[: max(3, math.ceil(len(words) * 0.6))])
    edited = rng.choice(_HEADLINE_EDITS).format(title=title, short=short)
    return edited if edited != title else f"Breaking: {title}"


def _pick_sentence(paragraphs: Sequence[str], rng: random.Random) -> str:
    sentences = [s.strip() for p in paragraphs[1:] for s in _SENTENCE_END.split(p)]
    fitting = [s for s in sentences if 60 <= len(s) <= 300]
    quoted = [s for s in fitting if any(c in s for c in '"“”„«»')]
    pool = quoted or fitting or [max(sentences, key=len)]
    return rng.choice(pool)


def _background(paragraphs: Sequence[str], rng: random.Random) -> str:
    later = list(paragraphs[2:]) or list(paragraphs[1:])
    fitting = [p for p in later if 150 <= len(p) <= 700]
    return rng.choice(fitting or later)


@dataclass(frozen=True, kw_only=True)
class _Story:
    label: str
    wire: Outlet
    body: _Body
    original: LabelledPage
    dateline: str  # "" when the original has none
    base: tuple[str, ...]  # paragraphs without the dateline
    minutes: float


def _changed_text(
    kind: str, source: tuple[str, ...], outlet: str, title: str, rng: random.Random
) -> tuple[str, ...] | None:
    """The paragraphs of a copy of ``kind`` made from ``source`` (None: does not apply)."""
    changes: dict[str, Callable[[], tuple[str, ...] | None]] = {
        "excerpt": lambda: _excerpt(source, rng),
        "commentary": lambda: _commentary(source, outlet, title, rng),
        "dropped": lambda: _dropped(source, rng),
        "reordered": lambda: _reordered(source, rng),
    }
    change = changes.get(kind)
    return change() if change is not None else source


@dataclass(frozen=True, kw_only=True)
class _Credit:
    """How a copy names its original: the form's label and what it adds to the page."""

    form: str
    head: str = ""
    credit: str = ""
    credit_url: str = ""
    author: str = ""


def _attribution(wire: str, original_url: str, rng: random.Random) -> _Credit:
    """A random attribution form (one of _COPY_FORMS) naming ``wire``."""
    form = rng.choice(_COPY_FORMS)
    if form == "credit-line":
        credit, linked = _credit_line(wire, rng)
        if linked:
            return _Credit(form="credit-link", credit=credit, credit_url=original_url)
        return _Credit(form=form, credit=credit)
    if form == "credit-link":
        credit = f"This article was originally published by [{_STYLES[wire].names[0]}]."
        return _Credit(form=form, credit=credit, credit_url=original_url)
    if form == "canonical":
        return _Credit(form=form, head=_canonical_head(original_url))
    if form in ("json-ld", "json-ld-url"):
        organisation = wire if form == "json-ld" else None
        return _Credit(form=form, head=_jsonld_head(original_url, organisation))
    if form == "byline":
        return _Credit(form=form, author=_STYLES[wire].byline)
    return _Credit(form="none")


def _copy(
    b: _Builder,
    story: _Story,
    kind: str,
    *,
    outlet: Outlet,
    minutes: float,
    earlier: Sequence[LabelledPage],
) -> LabelledPage | None:
    """One copy of ``story`` by ``outlet`` (None when ``kind`` does not apply to its text)."""
    rng = b.rng
    wire = story.wire.name
    if kind == "copy-of-copy":
        return _copy_of_copy(b, story, outlet=outlet, minutes=minutes, earlier=earlier)
    # Half the copies of a story with a dateline keep it (and it is then their attribution);
    # the others strip "CITY (AP) —" as many republishers do.
    keep_dateline = bool(story.dateline) and rng.random() < 0.5
    source = story.original.paragraphs if keep_dateline else story.base
    title = story.original.title
    if kind in ("numbers", "typography"):
        # The story's own text must change (never just the dateline's day or dash).
        flip = _prefers_straight(story.base)
        changed = _numbers(story.base, rng) if kind == "numbers" else _typographic(story.base)
        if changed is not None and keep_dateline:
            dateline = story.dateline if kind == "numbers" else _typography(story.dateline, flip)
            changed = (dateline + changed[0], *changed[1:])
        paragraphs = changed
    else:
        paragraphs = _changed_text(kind, source, outlet.name, title, rng)
    if paragraphs is None:
        return None
    if kind == "edited-headline":
        title = _headline(title, rng)
    original_url = _link(story.wire.host_index, story.original.path)
    if kind == "excerpt":
        attribution = _Credit(
            form="read-more+dateline" if keep_dateline else "read-more",
            credit=f"Read the full story at [{_STYLES[wire].names[0]}]",
            credit_url=original_url,
        )
    elif keep_dateline:
        attribution = _Credit(form="dateline")
    else:
        attribution = _attribution(wire, original_url, rng)
    author = attribution.author
    if not author and rng.random() < 0.6:
        author = story.original.author  # republishers often keep the wire reporter's byline
    return LabelledPage(
        path=b.path(outlet.name, title),
        host_index=outlet.host_index,
        outlet=outlet.name,
        title=title,
        paragraphs=paragraphs,
        published=_iso(minutes),
        head=attribution.head,
        story=story.label,
        original_outlet=wire,
        kind=kind,
        author=author,
        credit=attribution.credit,
        credit_url=attribution.credit_url,
        attribution=attribution.form,
        parent=story.original.path,
    )


def _copy_of_copy(
    b: _Builder,
    story: _Story,
    *,
    outlet: Outlet,
    minutes: float,
    earlier: Sequence[LabelledPage],
) -> LabelledPage | None:
    """A copy of one of ``earlier`` (another republisher's copy of the story)."""
    rng = b.rng
    parents = [p for p in earlier if p.outlet != outlet.name]
    if not parents:
        return None
    parent = rng.choice(parents)
    paragraphs = parent.paragraphs
    if len(paragraphs) > 4 and rng.random() < 0.4:
        paragraphs = paragraphs[:-1]
    form = rng.choice(("via-copy", "via-copy", "inherited", "none"))
    head = credit = credit_url = ""
    author = parent.author
    if form == "via-copy":
        credit = f"This article was originally published by [{parent.outlet}]."
        credit_url = _link(parent.host_index, parent.path)
    elif form == "inherited":
        head, credit, credit_url = parent.head, parent.credit, parent.credit_url
        inherited = parent.attribution if parent.attribution != "none" else "none"
        form = f"inherited:{inherited}"
    return LabelledPage(
        path=b.path(outlet.name, parent.title),
        host_index=outlet.host_index,
        outlet=outlet.name,
        title=parent.title,
        paragraphs=paragraphs,
        published=_iso(max(minutes, _minutes(parent) + rng.randint(15, 200))),
        head=head,
        story=story.label,
        original_outlet=story.wire.name,
        kind="copy-of-copy",
        author=author,
        credit=credit,
        credit_url=credit_url,
        attribution=form,
        parent=parent.path,
    )


def _minutes(page: LabelledPage) -> float:
    return (page.published_at - _T0).total_seconds() / 60


def _original(
    b: _Builder, label: str, *, wire: Outlet, body: _Body, minutes: float, with_dateline: bool
) -> _Story:
    """The wire's original of ``body`` at ``minutes`` (with a dateline or not)."""
    dateline = _dateline(wire.name, body, minutes) if with_dateline else ""
    base = body.paragraphs
    paragraphs = (dateline + base[0], *base[1:]) if dateline else base
    page = LabelledPage(
        path=b.path(wire.name, body.title),
        host_index=wire.host_index,
        outlet=wire.name,
        title=body.title,
        paragraphs=paragraphs,
        published=_iso(minutes),
        story=label,
        original_outlet=wire.name,
        kind="original",
        author=", ".join(body.authors),
        attribution="self",
    )
    return _Story(
        label=label,
        wire=wire,
        body=body,
        original=page,
        dateline=dateline,
        base=base,
        minutes=minutes,
    )


def _story_pages(b: _Builder, story: _Story) -> None:
    """The original and its copies, with arrival keys (some copies before the original)."""
    rng = b.rng
    count = rng.choice((3, 3, 4, 4, 4, 5))
    kinds = b.deal(count)
    outlets = rng.sample(_REPUBLISHERS, k=len(_REPUBLISHERS))
    offsets = sorted(rng.sample((4, 9, 17, 30, 55, 90, 150, 240, 420, 700), k=count))
    copies: list[LabelledPage] = []
    for kind, outlet, offset in zip(kinds, outlets, offsets, strict=False):
        minutes = story.minutes + offset
        page = _copy(b, story, kind, outlet=outlet, minutes=minutes, earlier=copies)
        if page is None:  # the kind does not apply to this text: an exact copy instead
            page = _copy(b, story, "exact", outlet=outlet, minutes=minutes, earlier=copies)
        assert page is not None
        copies.append(page)
    arrival = {story.original.path: story.minutes}
    arrival.update({c.path: _minutes(c) for c in copies})
    roll = rng.random()
    if roll < 0.2:  # the original is found last, after every copy
        arrival[story.original.path] = max(arrival.values()) + 1
    elif roll < 0.45:  # one copy is found before the original
        early = rng.choice(copies)
        arrival[early.path] = story.minutes - 1
    for page in (story.original, *copies):
        b.add(arrival[page.path], page)


def _independent(b: _Builder, index: int, body: _Body, story: _Story, rng: random.Random) -> None:
    sentence = _pick_sentence(story.base, rng)
    others = [o for o in _WIRES if o.name != story.wire.name]
    outlet = rng.choice([*_REPUBLISHERS, *others])
    paragraphs = list(body.paragraphs)
    paragraphs.insert(rng.randrange(2, len(paragraphs)), sentence)
    minutes = story.minutes + rng.randint(-90, 90)
    page = LabelledPage(
        path=b.path(outlet.name, body.title),
        host_index=outlet.host_index,
        outlet=outlet.name,
        title=body.title,
        paragraphs=tuple(paragraphs),
        published=_iso(minutes),
        story=f"independent-{index:02d}",
        original_outlet=outlet.name,
        kind="independent",
        author=", ".join(body.authors),
        attribution="self",
    )
    b.add(minutes, page)


def _follow_up(b: _Builder, index: int, body: _Body, story: _Story, rng: random.Random) -> None:
    background = _background(story.base, rng)
    paragraphs = (body.paragraphs[0], background, *body.paragraphs[1:])
    minutes = story.minutes + rng.randint(18 * 60, 30 * 60)
    wire = story.wire
    label = f"follow-up-{index:02d}"
    page = LabelledPage(
        path=b.path(wire.name, body.title),
        host_index=wire.host_index,
        outlet=wire.name,
        title=body.title,
        paragraphs=paragraphs,
        published=_iso(minutes),
        story=label,
        original_outlet=wire.name,
        kind="follow-up",
        author=", ".join(body.authors),
        attribution="self",
        parent=story.original.path,
    )
    b.add(minutes, page)
    if index % 2 == 0:
        outlet = rng.choice(_REPUBLISHERS)
        credit, linked = _credit_line(wire.name, rng)
        copy_minutes = minutes + rng.randint(30, 120)
        b.add(
            copy_minutes,
            LabelledPage(
                path=b.path(outlet.name, body.title),
                host_index=outlet.host_index,
                outlet=outlet.name,
                title=body.title,
                paragraphs=paragraphs,
                published=_iso(copy_minutes),
                story=label,
                original_outlet=wire.name,
                kind="exact",
                author=page.author,
                credit=credit,
                credit_url=_link(wire.host_index, page.path) if linked else "",
                attribution="credit-link" if linked else "credit-line",
                parent=page.path,
            ),
        )


def build_set(data_dir: Path, *, stories: int = 40, seed: int = 7) -> SyndicationSet:
    """The labelled set from ``data_dir`` (``../shared/data``); deterministic in ``seed``.

    Raises FileNotFoundError when the ground truth is missing and ValueError when it holds
    too few usable bodies for ``stories`` stories and their hard negatives.
    """
    rng = random.Random(seed)
    bodies = _load_bodies(Path(data_dir))
    preferred = [x for x in bodies if x.publisher in _PREFERRED]
    others = [x for x in bodies if x.publisher not in _PREFERRED]
    rng.shuffle(preferred)
    rng.shuffle(others)
    ordered = preferred + others
    negatives = max(1, stories // 5)
    needed = stories + 2 * negatives
    if stories < 3 or len(ordered) < needed:
        raise ValueError(f"need >= 3 stories and {needed} usable bodies, have {len(ordered)}")
    b = _Builder(rng=rng)
    built: list[_Story] = []
    minutes = 0.0
    for i, body in enumerate(ordered[:stories]):
        name = _PUBLISHER_WIRE.get(body.publisher) or _WIRES[i % len(_WIRES)].name
        wire = next(w for w in _WIRES if w.name == name)
        story = _original(
            b,
            f"story-{i:02d}",
            wire=wire,
            body=body,
            minutes=minutes,
            with_dateline=rng.random() < 0.5,
        )
        _story_pages(b, story)
        built.append(story)
        minutes += rng.randint(25, 55)
    spare = ordered[stories:needed]
    hosts = rng.sample(built, k=2 * negatives) if len(built) >= 2 * negatives else built * 2
    for k in range(negatives):
        _independent(b, k, spare[k], hosts[k], rng)
        _follow_up(b, k, spare[negatives + k], hosts[negatives + k], rng)
    pages = tuple(page for _, _, page in sorted(b.entries, key=lambda e: (e[0], e[1])))
    return SyndicationSet(outlets=OUTLETS, pages=pages)


# --- scoring ------------------------------------------------------------------------------


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(
    truth: Mapping[str, str], predicted: Mapping[str, str]
) -> tuple[float, float, float]:
    """Precision, recall and F1 over all unordered pairs of the pages in ``truth``.

    A pair is positive when both pages have the same story label. Pages missing from
    ``predicted`` are singletons. With no predicted (true) pairs, precision (recall) is 1.0;
    F1 is 0.0 when precision + recall is 0.
    """
    missing = object()
    cells: Counter[tuple[str, object]] = Counter()
    for page, story in truth.items():
        label: object = predicted.get(page, missing)
        cells[(story, (page, label) if label is missing else label)] += 1
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    pred_sizes: Counter[object] = Counter()
    for (_, label), n in cells.items():
        pred_sizes[label] += n
    pred_pairs = sum(_pairs(n) for n in pred_sizes.values())
    both = sum(_pairs(n) for n in cells.values())
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def baseline_first_chars(pages: Sequence[LabelledPage], n: int = 200) -> dict[str, str]:
    """The trivial rule: same story iff the first ``n`` characters of the text are equal
    (whitespace collapsed). The label is the path of the first page with that prefix."""
    first: dict[str, str] = {}
    out: dict[str, str] = {}
    for page in pages:
        key = " ".join(page.text.split())[:n]
        out[page.path] = first.setdefault(key, page.path)
    return out


def baseline_originals(
    pages: Sequence[LabelledPage], clusters: Mapping[str, str]
) -> dict[str, str]:
    """Path -> the outlet of the earliest-published page of its predicted cluster."""
    earliest: dict[str, LabelledPage] = {}
    for page in pages:
        label = clusters.get(page.path, page.path)
        best = earliest.get(label)
        if best is None or page.published_at < best.published_at:
            earliest[label] = page
    return {p.path: earliest[clusters.get(p.path, p.path)].outlet for p in pages}


def original_accuracy(truth: Mapping[str, str], predicted: Mapping[str, str | None]) -> float:
    """Fraction of the pages in ``truth`` whose predicted original outlet equals the truth."""
    if not truth:
        return 1.0
    return sum(predicted.get(path) == outlet for path, outlet in truth.items()) / len(truth)


def baseline_numbers(syndication_set: SyndicationSet, n: int = 200) -> dict[str, Any]:
    """Pairwise P/R/F1 and original accuracy of the first-``n``-characters baseline."""
    pages = syndication_set.pages
    clusters = baseline_first_chars(pages, n)
    precision, recall, f1 = pairwise_scores(syndication_set.truth(), clusters)
    originals = baseline_originals(pages, clusters)
    return {
        "pages": len(pages),
        "stories": len(set(syndication_set.truth().values())),
        "predicted_stories": len(set(clusters.values())),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "original_accuracy": original_accuracy(syndication_set.truth_originals(), originals),
    }


# --- serving and harvesting ---------------------------------------------------------------


def resolve_hosts(text: str, bases: Mapping[int, str]) -> str:
    """``text`` with every ``@HOST<i>@`` replaced by ``bases[i]`` (no trailing slash)."""
    return _HOST_TOKEN.sub(lambda m: bases[int(m.group(1))].rstrip("/"), text)


def _credit_html(page: LabelledPage, bases: Mapping[int, str]) -> str:
    parts = re.split(r"\[([^\]]*)\]", page.credit)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 and page.credit_url:
            href = html.escape(resolve_hosts(page.credit_url, bases))
            out.append(f'<a href="{href}">{html.escape(part)}</a>')
        else:
            out.append(html.escape(part))
    return "".join(out)


def render_page(page: LabelledPage, bases: Mapping[int, str]) -> str:
    """The page in its outlet's template (an ordinary news page; wires and republishers differ
    in their furniture), with ``@HOST<i>@`` links resolved against ``bases``."""
    outlet = html.escape(page.outlet)
    title = html.escape(page.title)
    author = html.escape(page.author)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    credit = f'\n<p class="credit"><em>{_credit_html(page, bases)}</em></p>' if page.credit else ""
    byline = f'<p class="byline">By {author}</p>' if page.author else ""
    meta_author = f'<meta name="author" content="{author}">' if page.author else ""
    wire = page.outlet in _STYLES
    nav = (
        '<a href="/world">World</a> <a href="/business">Business</a> <a href="/photos">Photos</a>'
        if wire
        else '<a href="/local">Local</a> <a href="/opinion">Opinion</a> <a href="/sport">Sport</a>'
    )
    aside = (
        '<aside class="related"><h2>More from the wire</h2><ul><li><a href="/live">Live '
        'coverage</a></li><li><a href="/markets">Markets today</a></li></ul></aside>'
        if wire
        else '<aside><h2>Most read</h2><ul><li><a href="/a">Ferry timetable changes</a></li>'
        '<li><a href="/b">Council budget vote</a></li><li><a href="/c">Weekend weather'
        "</a></li></ul></aside>"
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{title} | {outlet}</title>
{meta_author}
<meta property="article:published_time" content="{html.escape(page.published)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{outlet}">
{resolve_hosts(page.head, bases)}
</head><body>
<header><a class="brand" href="/">{outlet}</a>
<nav>{nav}</nav>
</header>
<main><article>
<h1>{title}</h1>
{byline}
<time datetime="{html.escape(page.published)}">{html.escape(page.published[:10])}</time>
{body}{credit}
</article>
{aside}
</main>
<footer><p>{outlet}: newsroom, advertising, contact. Terms of use.</p></footer>
</body></html>"""


def write_config(
    path: Path, outlets: Iterable[Outlet], bases: Mapping[int, str], archive: Path
) -> Path:
    """A harvester config: one [[outlets]] per outlet, no per-host delay, the servers allowed."""
    outlets = tuple(outlets)
    hosts = sorted({free_loopback_host(2 + o.host_index) for o in outlets})
    lines = [
        "[archive]",
        f"dir = {json.dumps(str(archive))}",
        "",
        "[fetch]",
        "per_host_delay = 0",
        'timeout = "5s"',
        'deadline = "10s"',
        f"allow_hosts = {json.dumps(hosts)}",
    ]
    for outlet in outlets:
        lines += [
            "",
            "[[outlets]]",
            f"name = {json.dumps(outlet.name)}",
            f"home = {json.dumps(bases[outlet.host_index].rstrip('/') + '/')}",
            f"wire = {'true' if outlet.wire else 'false'}",
            f"aliases = {json.dumps(list(outlet.aliases), ensure_ascii=False)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_pipeline(
    syndication_set: SyndicationSet,
    tmp_path: Path,
    *,
    budget: float = 300.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Serve every page (one MockServer per outlet on 127.0.0.(2 + host index)), harvest them
    in arrival order with ``Harvester``, and score the latest catalog records.

    Returns pages, harvested, stories, predicted_stories, precision, recall, f1,
    original_accuracy, seconds, outcomes (Counter of outcome types), not_harvested (paths),
    original_accuracy_by_kind, pairs_recall_by_kind, original_errors (one dict per page whose
    original outlet is wrong), split_stories (true stories spread over several predicted ones)
    and merged_labels (predicted stories holding pages of several true ones). Harvesting stops
    after ``budget`` seconds; pages not harvested by then count as singletons with no
    original.
    """
    from harvester.config import load_settings
    from harvester.models import FetchRequest
    from harvester.pipeline import Harvester

    started = time.monotonic()
    pages = syndication_set.pages
    outcomes: Counter[str] = Counter()
    with ExitStack() as stack:
        servers: dict[int, MockServer] = {}
        for outlet in syndication_set.outlets:
            server = MockServer(free_loopback_host(2 + outlet.host_index))
            servers[outlet.host_index] = stack.enter_context(server)
            server.robots("User-agent: *\nAllow: /\n")
        bases = {i: s.url("/").rstrip("/") for i, s in servers.items()}
        for page in pages:
            servers[page.host_index].route(page.path, render_page(page, bases))
        config = write_config(
            tmp_path / "syndication.toml", syndication_set.outlets, bases, tmp_path / "archive"
        )
        settings = load_settings(config)
        url_to_path = {bases[p.host_index] + p.path: p.path for p in pages}
        with Harvester(settings) as harvester:
            for done, page in enumerate(pages):
                if time.monotonic() - started > budget:
                    outcomes["skipped (time budget)"] += len(pages) - done
                    break
                outcome = harvester.harvest(
                    FetchRequest(url=bases[page.host_index] + page.path, outlet=page.outlet)
                )
                outcomes[type(outcome).__name__] += 1
                if progress is not None:
                    progress(done + 1, len(pages))
            records = {}
            for record in harvester.store.catalog.articles():
                path = url_to_path.get(record.url) or url_to_path.get(record.final_url)
                if path is not None:
                    records[path] = record
    truth = syndication_set.truth()
    stories = {path: r.story for path, r in records.items()}
    originals = {path: r.original.outlet for path, r in records.items()}
    precision, recall, f1 = pairwise_scores(truth, stories)
    truth_originals = syndication_set.truth_originals()
    by_kind: dict[str, float] = {}
    recall_by_kind: dict[str, float] = {}
    for kind in sorted({p.kind for p in pages}):
        paths = [p.path for p in pages if p.kind == kind]
        by_kind[kind] = original_accuracy({p: truth_originals[p] for p in paths}, originals)
        recall_by_kind[kind] = _member_recall(syndication_set, paths, stories)
    early = syndication_set.arrived_before_original()
    original_errors = [
        {
            "path": p.path,
            "kind": p.kind,
            "outlet": p.outlet,
            "attribution": p.attribution,
            "arrived_before_original": p.path in early,
            "expected": p.original_outlet,
            "got": originals.get(p.path),
        }
        for p in pages
        if originals.get(p.path) != p.original_outlet
    ]
    predicted_by_story: dict[str, set[str | None]] = {}
    for p in pages:
        predicted_by_story.setdefault(p.story, set()).add(stories.get(p.path))
    return {
        "pages": len(pages),
        "harvested": len(records),
        "stories": len(set(truth.values())),
        "predicted_stories": len(set(stories.values())) + len(pages) - len(records),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "original_accuracy": original_accuracy(truth_originals, originals),
        "seconds": time.monotonic() - started,
        "outcomes": outcomes,
        "not_harvested": [p.path for p in pages if p.path not in records],
        "original_accuracy_by_kind": by_kind,
        "pairs_recall_by_kind": recall_by_kind,
        "original_errors": original_errors,
        "split_stories": sorted(s for s, labels in predicted_by_story.items() if len(labels) > 1),
        "merged_labels": sorted(
            label
            for label, n in Counter(
                label for labels in predicted_by_story.values() for label in labels
            ).items()
            if n > 1 and label is not None
        ),
    }


def _member_recall(
    syndication_set: SyndicationSet, paths: Sequence[str], predicted: Mapping[str, str]
) -> float:
    """For pages of one kind: the fraction of their true same-story partners predicted with
    them (1.0 when they have no partners)."""
    truth = syndication_set.truth()
    members: dict[str, list[str]] = {}
    for path, story in truth.items():
        members.setdefault(story, []).append(path)
    total = hits = 0
    for path in paths:
        label = predicted.get(path)
        for other in members[truth[path]]:
            if other == path:
                continue
            total += 1
            hits += label is not None and predicted.get(other) == label
    return hits / total if total else 1.0


def describe(syndication_set: SyndicationSet) -> str:
    """A one-line summary: pages, stories, kinds."""
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(syndication_set.composition().items()))
    stories = len(set(syndication_set.truth().values()))
    return f"{len(syndication_set.pages)} pages, {stories} stories ({kinds})"
