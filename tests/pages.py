"""Pages the tests build: team-written articles in ordinary templates, and the seed rendered.

Nothing here is copied from a third party. The seed article is read at run time from
../shared/seeds/ (never stored in the repo) by :func:`seed_page`.
"""

from __future__ import annotations

import html
import os
import random
import re
from pathlib import Path

SHARED = Path(os.environ.get("HARVESTER_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SEED = SHARED / "seeds" / "000_47c588349b5c68b1.txt"

# A short wire story written for these tests (the events are invented).
WIRE_TITLE = "Harbour authority approves second container terminal"
WIRE_PARAGRAPHS = (
    "PORT MERIDIAN, March 3 (Northwind News) – The harbour authority of Port Meridian on "
    "Tuesday approved plans for a second container terminal, a project officials said would "
    "double the port's capacity by the end of the decade.",
    "The board voted seven to two in favour after a four-hour session in which fishermen and "
    "residents of the old quarter raised concerns about dredging and night-time traffic.",
    '"We have listened to every objection and changed the plans where we could," the '
    "authority's chair, Ilse Varga, told reporters after the vote.",
    "Construction is expected to start next spring and to employ about 1,200 people at its "
    "peak, according to figures presented to the board.",
    "Two environmental groups said they would examine the decision and did not rule out a "
    "legal challenge.",
)


def article_page(
    *,
    title: str = WIRE_TITLE,
    paragraphs: tuple[str, ...] = WIRE_PARAGRAPHS,
    lang: str = "en",
    extra_head: str = "",
    published: str = "2026-03-03",
    author: str = "Mara Lindqvist",
) -> str:
    """An article in an ordinary news template (nav, sidebar, footer around <article>)."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(title)} | The Meridian Courier</title>
<meta name="author" content="{html.escape(author)}">
<meta property="article:published_time" content="{published}T09:30:00Z">
<meta property="og:type" content="article">
{extra_head}
</head><body>
<header><a href="/">The Meridian Courier</a>
<nav><a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
</header>
<main><article>
<h1>{html.escape(title)}</h1>
<p class="byline">By {html.escape(author)}</p>
{body}
</article>
<aside><h2>Most read</h2><ul><li><a href="/a">Ferry timetable changes</a></li>
<li><a href="/b">Council budget vote</a></li></ul></aside>
</main>
<footer><p>The Meridian Courier, 12 Quay Street.</p></footer>
</body></html>"""


def listing_page() -> str:
    """A section page: links and teasers, no article."""
    items = "\n".join(f'<li><a href="/news/{i}">Headline number {i}</a></li>' for i in range(1, 30))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>News | The Meridian Courier</title></head>
<body><nav><a href="/">Home</a></nav><ul>{items}</ul><footer>Courier</footer></body></html>"""


def seed_text() -> str | None:
    """The seed article's text (markdown-ish), or None where ../shared is absent."""
    return SEED.read_text(encoding="utf-8") if SEED.exists() else None


def seed_paragraphs() -> list[str]:
    """The seed's blocks with markdown links and bold reduced to their text."""
    text = seed_text() or ""
    blocks = [b.strip() for b in text.strip().split("\n\n") if b.strip()]
    return [re.sub(r"\*\*(.+?)\*\*", r"\1", re.sub(r"\[([^\]]+)\]\(#\)", r"\1", b)) for b in blocks]


def seed_page() -> str:
    """The seed article served in an ordinary template, as the republisher's page would be."""
    blocks = seed_paragraphs()
    title, rest = blocks[0], blocks[1:]
    return article_page(title=title, paragraphs=tuple(rest), published="2008-07-22")


def rss_feed(items: list[tuple[str, str]], *, title: str = "Courier news") -> str:
    """An RSS 2.0 feed of (title, link) items."""
    entries = "\n".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        "<pubDate>Tue, 03 Mar 2026 09:30:00 GMT</pubDate></item>"
        for t, u in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.invalid/</link>{entries}"
        "</channel></rss>"
    )


_PLACES = ("Port Meridian", "Lindholm", "Castel Verde", "Ostrava Nova", "Kelmscott", "Varna Bay")
_SUBJECTS = ("the ferry operator", "the city council", "the regional court",
             "the dock workers' union", "the water board", "the university hospital",
             "the fishing cooperative",
             "the transit authority", "the chamber of commerce", "the fire service")  # fmt: skip
_ACTIONS = ("approved a budget for", "postponed a decision on", "opened an inquiry into",
            "signed an agreement on", "rejected a proposal for",
            "announced a review of")  # fmt: skip
_OBJECTS = ("a new bridge", "night-time flights", "the old grain silo", "school bus routes",
            "flood barriers", "a solar farm", "the harbour museum", "parking fees")  # fmt: skip
_DETAILS = (
    "Officials said the first results would be published within {n} weeks.",
    "The measure passed by {n} votes to {m}, after a debate that lasted most of the afternoon.",
    "Residents who spoke at the hearing raised concerns about noise, cost and the timetable.",
    "The plan is expected to cost about {n} million crowns over {m} years.",
    "Opposition members said they would ask for the decision to be reviewed next {day}.",
    "A spokesperson declined to say whether further changes were planned before {day}.",
    "Work on the site could begin as early as {day}, according to the project documents.",
)
# One lower-case topic word per story: names and numbers are normalised away by the template
# model, words are not, so each story's paragraphs stay its own.
_TOPICS = ("anchorage", "bakery", "cannery", "drydock", "embankment", "foundry", "granary",
           "hatchery", "icehouse", "jetty", "kiln", "lighthouse", "mill", "nursery", "orchard",
           "pier", "quarry", "ropewalk", "sawmill", "tannery", "upland", "vineyard", "wharf",
           "yard", "zinc works", "boathouse", "chapel", "depot", "estuary", "ferry slip",
           "glasshouse", "harbour wall")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "spring", "autumn")


_NOUNS = ("budget", "timetable", "contract", "survey", "lease", "tender", "permit", "audit",
          "hearing", "petition", "grant", "report", "inquiry", "ballot", "levy", "subsidy",
          "blueprint", "charter", "easement", "ordinance", "mandate", "tariff", "quota",
          "ledger", "schedule", "estimate", "zoning plan", "safety review")  # fmt: skip
_ADJECTIVES = ("revised", "disputed", "provisional", "long-delayed", "costly", "modest",
               "ambitious", "unpopular", "temporary", "binding", "preliminary", "sweeping",
               "narrow", "confidential", "belated", "unanimous", "cautious",
               "detailed")  # fmt: skip
_VERBS = ("questioned", "welcomed", "criticised", "endorsed", "postponed", "amended",
          "challenged", "scrutinised", "defended", "rejected", "published", "circulated",
          "withdrew", "extended", "tabled", "overturned")  # fmt: skip
_PEOPLE = ("the mayor", "a councillor", "the harbour master", "union delegates",
           "shop owners", "the auditor", "school governors", "the fire chief", "residents",
           "the ombudsman", "a spokesperson", "engineers", "the treasurer", "fishermen",
           "the bishop", "students", "the ferry captain", "local farmers")  # fmt: skip


def invented_story(i: int) -> tuple[str, tuple[str, ...]]:
    """Story number ``i``: a title and 4-7 paragraphs of invented, story-specific prose.

    Sentences are drawn from word lists with a generator seeded by ``i``, so two stories share
    no more than the odd stock phrase (what independent reports share), while each story's
    text is stable across runs.
    """
    rng = random.Random(i * 7919 + 17)
    place = _PLACES[i % len(_PLACES)]
    topic = _TOPICS[i % len(_TOPICS)]
    subject = _SUBJECTS[(i * 7) % len(_SUBJECTS)]
    action = _ACTIONS[(i * 5) % len(_ACTIONS)]
    obj = _OBJECTS[(i * 3) % len(_OBJECTS)]
    title = f"{place}: {subject} {action} {obj} at the {topic} (report {i})".capitalize()

    def sentence() -> str:
        who, what = rng.choice(_PEOPLE), rng.choice(_VERBS)
        adj, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        adj2, noun2 = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        return (
            f"{who.capitalize()} {what} the {adj} {noun} for the {topic}, "
            f"citing the {adj2} {noun2} and {rng.choice(_PEOPLE)}."
        )

    lead = (
        f"{place.upper()} – {subject.capitalize()} {action} {obj} at the {topic} on "
        f"{rng.choice(_DAYS)}, after {rng.choice(_PEOPLE)} {rng.choice(_VERBS)} the "
        f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}."
    )
    count = 3 + i % 4
    paragraphs = [lead] + [" ".join(sentence() for _ in range(2)) for _ in range(count)]
    return title, tuple(paragraphs)
