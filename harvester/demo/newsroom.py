"""The bundled newsroom: five invented outlets, six invented stories, and their pages (pure data).

Everything here was written for harvester; the outlets, towns, people and events are fictional.
The newsroom is what a researcher meets in the wild, in miniature:

==========================  ===========  ==================================================
outlet                      role         how harvester discovers it, and what it publishes
==========================  ===========  ==================================================
Northwind Press Agency      wire         RSS feed; robots.txt keeps crawlers out of /drafts/
Meridian News Service       wire         RSS feed
The Commons Ledger          republisher  Google News sitemap; wire copy run verbatim inside
                                         donation, newsletter, share, credit and fair-use
                                         furniture; one story of its own
The Riverton Courier        local paper  HTML section page; wire copy with the agency's
                                         dateline, one paragraph trimmed, one local one added
Newsline Digest             aggregator   RSS feed with <source>; the first two paragraphs and
                                         "Read the full story at ..." linking the original
==========================  ===========  ==================================================

Outlets live on loopback hosts whose ports are only known once the servers are bound, so pages
are rendered by :func:`render_sites` from the base URL of every outlet.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

__all__ = [
    "COPIES",
    "DISALLOWED",
    "OUTLETS",
    "STORIES",
    "Copy",
    "DemoOutlet",
    "Page",
    "Story",
    "copy_paragraphs",
    "outlet",
    "render_sites",
    "story",
]

_HTML = "text/html; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_RSS = "application/rss+xml; charset=utf-8"
_XML = "application/xml; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class Page:
    """One resource a demo host serves."""

    body: bytes
    content_type: str = _HTML


@dataclass(frozen=True, kw_only=True)
class DemoOutlet:
    """A fictional outlet on one loopback host.

    ``discovery`` is how harvester finds its articles: ``feed`` (RSS), ``sitemap`` (Google News)
    or ``section`` (an HTML section page), served at ``discovery_path``.
    """

    key: str
    name: str
    host: str
    role: str
    discovery: str
    discovery_path: str
    aliases: tuple[str, ...] = ()
    nav: tuple[str, ...] = ("News", "Business", "Sport", "Culture")
    address: str = ""

    @property
    def wire(self) -> bool:
        """True for the wire services (whose copy others republish)."""
        return self.role == "wire"


@dataclass(frozen=True, kw_only=True)
class Story:
    """An original story as its outlet published it; the first paragraph carries the dateline."""

    key: str
    outlet: str
    path: str
    headline: str
    author: str
    published: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Copy:
    """Another outlet's copy of a story: ``verbatim``, ``edited`` or an ``excerpt``.

    An edited copy leaves out the paragraphs at ``drop`` (indexes into the original) and puts
    each ``(index, paragraph)`` of ``insert`` before the original's paragraph ``index``; an
    excerpt keeps the first ``keep`` paragraphs.
    """

    story: str
    outlet: str
    path: str
    published: str
    how: str
    headline: str | None = None
    drop: tuple[int, ...] = ()
    insert: tuple[tuple[int, str], ...] = ()
    keep: int = 2


OUTLETS: tuple[DemoOutlet, ...] = (
    DemoOutlet(
        key="npa",
        name="Northwind Press Agency",
        host="127.0.0.2",
        role="wire",
        aliases=("NPA", "Northwind"),
        discovery="feed",
        discovery_path="/rss/topnews.xml",
        nav=("Top news", "World", "Business", "Science"),
        address="Northwind Press Agency, 4 Tollgate Row, Saltmarsh Bay",
    ),
    DemoOutlet(
        key="mns",
        name="Meridian News Service",
        host="127.0.0.3",
        role="wire",
        aliases=("MNS",),
        discovery="feed",
        discovery_path="/feeds/latest.rss",
        nav=("Latest", "Politics", "Health", "Markets"),
        address="Meridian News Service, 90 Observatory Lane, Halden",
    ),
    DemoOutlet(
        key="ledger",
        name="The Commons Ledger",
        host="127.0.0.4",
        role="republisher",
        discovery="sitemap",
        discovery_path="/news-sitemap.xml",
        nav=("Home", "Region", "Opinion", "Support us"),
        address="The Commons Ledger, a reader-funded news site",
    ),
    DemoOutlet(
        key="courier",
        name="The Riverton Courier",
        host="127.0.0.5",
        role="local paper",
        discovery="section",
        discovery_path="/news/",
        nav=("News", "Millbrook", "Sport", "Notices"),
        address="The Riverton Courier, 18 Bridge Street, Riverton",
    ),
    DemoOutlet(
        key="digest",
        name="Newsline Digest",
        host="127.0.0.6",
        role="aggregator",
        discovery="feed",
        discovery_path="/feed.xml",
        nav=("Briefing", "Politics", "Business", "Health"),
        address="Newsline Digest: the day's news in two minutes",
    ),
)

STORIES: tuple[Story, ...] = (
    Story(
        key="port",
        outlet="npa",
        path="/news/2026/06/02/saltmarsh-bay-harbour-board-approves-berth-expansion",
        headline="Saltmarsh Bay harbour board approves deep-water berth expansion",
        author="Ada Brennan",
        published="2026-06-02T09:15:00+02:00",
        paragraphs=(
            "SALTMARSH BAY, June 2 (NPA) — The Saltmarsh Bay harbour board on Tuesday approved a "
            "410-million-crown expansion of the port's deep-water berths, a project its backers "
            "say will let the town handle the largest container ships now calling on the coast. "
            "The vote ended two years of hearings that split the town's fishing families and its "
            "logistics firms.",
            "Under the approved plan, the eastern quay will be lengthened by 600 metres and the "
            "channel dredged to a depth of 16 metres. Work is due to begin in the autumn and to "
            "finish by 2029, according to documents presented to the board.",
            '"This is the largest investment in the harbour since it was rebuilt after the war," '
            "board chair Helena Strand told reporters after the vote. "
            '"We changed the design four times to answer the concerns we heard."',
            "The Saltmarsh Fishermen's Cooperative, which represents about 140 boats, said the "
            "dredging would disturb spawning grounds in the outer bay. Its chairman, Piet "
            "Olander, said members would ask the regional environment tribunal to review the "
            "decision.",
            "Port officials estimate the expansion will create about 900 construction jobs and "
            "350 permanent posts. Freight volumes through Saltmarsh Bay rose 12 percent last "
            "year, the third annual increase in a row.",
        ),
    ),
    Story(
        key="flood",
        outlet="npa",
        path="/news/2026/06/03/tamsin-river-bursts-banks-in-riverton",
        headline="Tamsin River bursts its banks in Riverton, hundreds evacuated",
        author="Jonas Field",
        published="2026-06-03T07:40:00+02:00",
        paragraphs=(
            "RIVERTON, June 3 (NPA) — The Tamsin River burst its banks in Riverton early on "
            "Wednesday after three days of heavy rain, forcing about 600 residents from their "
            "homes in the low-lying Millbrook district. Emergency crews used boats to reach "
            "families trapped on upper floors.",
            "The river peaked at 5.8 metres shortly before dawn, nearly a metre above the level "
            "the town's flood walls were built to hold, the regional water authority said. "
            "Forecasters expect the water to stay high until at least Friday.",
            '"We have never seen it rise this fast," said Marta Kovic, who was taken by boat '
            "from her house on Wharf Lane with her two children. "
            '"By the time the sirens went, the water was already at the door."',
            "No deaths have been reported, but two people were treated in hospital for "
            "hypothermia. The council opened the Riverton sports hall and two schools as "
            "emergency shelters.",
            "Rail services between Riverton and the coast were suspended after water covered the "
            "tracks near Elm Ford. The water authority said it would review why a temporary "
            "barrier on the north bank gave way.",
            "It is the third serious flood on the Tamsin in a decade, after similar events in "
            "2017 and 2021. A report commissioned after the last one recommended raising the "
            "walls by a metre, work that has not yet begun.",
        ),
    ),
    Story(
        key="strike",
        outlet="npa",
        path="/news/2026/06/04/eastern-line-rail-workers-begin-48-hour-strike",
        headline="Eastern line rail workers begin 48-hour strike over rosters",
        author="Ada Brennan",
        published="2026-06-04T06:05:00+02:00",
        paragraphs=(
            "KESTREL JUNCTION, June 4 (NPA) — Train drivers and signal staff on the Eastern line "
            "began a 48-hour strike on Thursday in a dispute over new shift rosters, halting most "
            "services between Kestrel Junction and the northern coast. The operator said it was "
            "running about one train in five.",
            "The Union of Rail and Transit Workers says the rosters, introduced in April, cut "
            "rest periods between shifts to as little as nine hours. The operator, Eastline Rail, "
            "says the changes were agreed with staff representatives and are needed to fill gaps "
            "in the timetable.",
            '"Tired drivers are a risk to everyone on the train," union secretary Joanna Pell '
            "said at a picket outside Kestrel Junction station. "
            '"We will go back to work the moment the old rest rules are restored."',
            "Eastline Rail chief executive Tomas Reyner said the strike would cost the company "
            "about 3 million crowns a day. He urged the union to return to talks brokered by the "
            "national mediation office.",
            "Commuters crowded onto replacement buses at dawn, and traffic on the coastal highway "
            "was heavier than usual, police said. It is the second walkout on the line this "
            "year.",
        ),
    ),
    Story(
        key="recount",
        outlet="mns",
        path="/stories/2026-06-02/halden-recount-confirms-mayor-vos-re-election",
        headline="Recount confirms Halden mayor's re-election by 212 votes",
        author="Lena Hartmann",
        published="2026-06-02T16:30:00+02:00",
        paragraphs=(
            "HALDEN, June 2 (MNS) — A full hand recount has confirmed Mayor Irena Vos's "
            "re-election in Halden, the city election board said on Tuesday, ending a two-week "
            "dispute over the closest mayoral race in the city's history. Vos finished 212 votes "
            "ahead of challenger Daniel Marsh out of nearly 48,000 ballots cast.",
            "The initial count had put her lead at 198 votes. Election officials said the "
            "difference came mostly from 31 postal ballots that had been set aside because of "
            "damaged envelopes and were later ruled valid.",
            "Marsh, a former harbour engineer who ran on a promise to freeze property taxes, "
            "conceded in a short statement. "
            '"The voters have spoken twice now, and I accept their verdict," he said.',
            "The recount was requested by Marsh's campaign under a rule that allows a candidate "
            "to demand one when the margin is below half a percentage point. It took 60 "
            "volunteers nine days to complete and cost the city about 85,000 crowns.",
            "Vos, who is starting her second four-year term, said her first priority would be "
            "the long-delayed tram extension to the university district.",
        ),
    ),
    Story(
        key="vaccine",
        outlet="mns",
        path="/stories/2026-06-03/nasal-spray-flu-vaccine-meets-main-goal-in-trial",
        headline="Nasal spray flu vaccine meets main goal in late-stage trial",
        author="Tobias Wren",
        published="2026-06-03T11:00:00+02:00",
        paragraphs=(
            "ORRIN, June 3 (MNS) — An experimental flu vaccine given as a nasal spray prevented "
            "about two thirds of laboratory-confirmed infections in a late-stage trial, its "
            "developer Larkspur Biologics said on Wednesday. The company said it would seek "
            "approval from regulators before the end of the year.",
            "The trial enrolled 9,400 adults aged 18 to 64 at 41 clinics over the last winter "
            "season. Half received the spray and half a placebo, and neither the volunteers nor "
            "their doctors knew who got which.",
            "Infections were 66 percent lower in the vaccine group, and the most common side "
            "effects were a runny nose and a mild headache lasting a day or two, the company "
            "said. Full results have been sent to a medical journal but have not yet been "
            "reviewed by independent scientists.",
            '"A vaccine that does not need a needle could reach people who skip their flu shot '
            'every year," said Dr. Amara Lind, an infectious diseases specialist at Orrin '
            "University Hospital who was not involved in the study.",
            "Larkspur shares rose 14 percent in early trading. The company has said it can make "
            "20 million doses a year at its plant outside Orrin.",
        ),
    ),
    Story(
        key="library",
        outlet="ledger",
        path="/2026/06/05/greyfield-volunteers-reopen-library-in-old-fire-station",
        headline="Greyfield volunteers reopen shuttered library in old fire station",
        author="Nell Ashdown",
        published="2026-06-05T10:20:00+01:00",
        paragraphs=(
            "Three years after the town council closed Greyfield's only public library to save "
            "money, a group of volunteers has reopened it in the former fire station on Mill "
            "Road. About 300 people came to the opening on Saturday, many of them carrying books "
            "for the shelves.",
            "The Greyfield Reading Room, as the volunteers call it, holds about 11,000 books, "
            "most of them given by residents and by two bookshops that closed last year. It will "
            "open four afternoons a week and on Saturday mornings.",
            '"People kept telling us the town felt emptier without the library," said retired '
            "teacher Owen Hale, who chairs the volunteer group. "
            '"So we stopped waiting for someone else to fix it."',
            "The council has agreed to lease the fire station to the group for one crown a year "
            "for five years. The volunteers still need to raise about 40,000 crowns to replace "
            "the building's heating before winter.",
            "Children's story hours start next week, and a local software firm has lent six "
            "computers for residents without internet access at home.",
        ),
    ),
)

# Listed in the Northwind feed by mistake, but under /drafts/, which its robots.txt disallows:
# harvester must never fetch it.
DISALLOWED = Story(
    key="draft",
    outlet="npa",
    path="/drafts/2026/06/04/finance-ministry-budget-figures-embargoed",
    headline="DRAFT - embargoed: finance ministry budget figures",
    author="Ada Brennan",
    published="2026-06-04T05:00:00+02:00",
    paragraphs=(
        "EMBARGOED DRAFT - NOT FOR PUBLICATION. Figures to be confirmed with the finance "
        "ministry before release.",
    ),
)

_LOCAL_FLOOD = (
    "Volunteers from the Riverton Rowing Club joined the rescue overnight, ferrying residents "
    "from Wharf Lane to the sports hall in their training boats. The Courier's own offices on "
    "Bridge Street were among the buildings where water came through the doors."
)
_LOCAL_STRIKE = (
    "In Riverton, where about 2,000 people travel to Kestrel Junction for work each day, the "
    "queue for the first replacement bus stretched around the station square. Several readers "
    "told the Courier they had waited more than an hour."
)

COPIES: tuple[Copy, ...] = (
    Copy(
        story="port",
        outlet="ledger",
        path="/2026/06/02/saltmarsh-bay-harbour-board-approves-berth-expansion",
        published="2026-06-02T13:05:00+01:00",
        how="verbatim",
    ),
    Copy(
        story="strike",
        outlet="ledger",
        path="/2026/06/04/eastern-line-rail-workers-begin-48-hour-strike",
        published="2026-06-04T09:30:00+01:00",
        how="verbatim",
    ),
    Copy(
        story="vaccine",
        outlet="ledger",
        path="/2026/06/03/nasal-spray-flu-vaccine-meets-main-goal-in-trial",
        published="2026-06-03T15:45:00+01:00",
        how="verbatim",
    ),
    Copy(
        story="flood",
        outlet="courier",
        path="/news/2026/06/03/flood-forces-hundreds-from-millbrook-homes",
        published="2026-06-03T12:10:00+02:00",
        how="edited",
        headline="Flood forces hundreds from Millbrook homes as Tamsin tops town walls",
        drop=(5,),
        insert=((4, _LOCAL_FLOOD),),
    ),
    Copy(
        story="strike",
        outlet="courier",
        path="/news/2026/06/04/rail-strike-strands-riverton-commuters",
        published="2026-06-04T11:25:00+02:00",
        how="edited",
        headline="Rail strike strands Riverton commuters as Eastern line walks out",
        drop=(3,),
        insert=((4, _LOCAL_STRIKE),),
    ),
    Copy(
        story="recount",
        outlet="digest",
        path="/briefing/halden-recount-confirms-mayor-re-election-20260602",
        published="2026-06-02T18:00:00+02:00",
        how="excerpt",
    ),
    Copy(
        story="port",
        outlet="digest",
        path="/briefing/saltmarsh-bay-approves-port-expansion-20260602",
        published="2026-06-02T12:40:00+02:00",
        how="excerpt",
    ),
)


def outlet(key: str) -> DemoOutlet:
    """The outlet with this key (KeyError for an unknown one)."""
    for candidate in OUTLETS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def story(key: str) -> Story:
    """The original story with this key (KeyError for an unknown one)."""
    for candidate in (*STORIES, DISALLOWED):
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def copy_paragraphs(item: Copy) -> tuple[str, ...]:
    """The paragraphs ``item`` runs (see :class:`Copy`)."""
    original = story(item.story).paragraphs
    if item.how == "excerpt":
        return original[: item.keep]
    inserted = dict(item.insert)
    out: list[str] = []
    for index, paragraph in enumerate(original):
        if index in inserted:
            out.append(inserted[index])
        if index not in item.drop:
            out.append(paragraph)
    if len(original) in inserted:
        out.append(inserted[len(original)])
    return tuple(out)


# --- rendering ---------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _slug(label: str) -> str:
    return "/" + label.lower().replace(" ", "-") + "/"


def _human_date(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return f"{moment.day} {moment:%B %Y, %H:%M}"


def _chrome(site: DemoOutlet, *, title: str, head: str, main: str, lang: str = "en") -> bytes:
    """A page of ``site``: head, masthead and navigation, ``main``, sidebar and footer."""
    nav = "".join(f'<li><a href="{_slug(label)}">{_e(label)}</a></li>' for label in site.nav)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<meta property="og:site_name" content="{_e(site.name)}">
{head}
</head>
<body>
<header class="masthead">
<a class="logo" href="/">{_e(site.name)}</a>
<nav aria-label="Sections"><ul>{nav}</ul></nav>
</header>
<main>
{main}
<aside class="sidebar"><h2>Most read</h2><ul>
<li><a href="/most-read/1">Weather warning for the coast</a></li>
<li><a href="/most-read/2">Council publishes budget plans</a></li>
</ul></aside>
</main>
<footer class="site-footer">
<p>{_e(site.address)}</p>
<p><a href="/about/">About us</a> · <a href="/contact/">Contact</a> ·
<a href="/privacy/">Privacy</a></p>
</footer>
</body>
</html>
""".encode()


def _article_page(
    site: DemoOutlet,
    *,
    url: str,
    headline: str,
    author: str,
    published: str,
    body: str,
    section: str,
) -> Page:
    head = f"""<meta property="og:type" content="article">
<meta property="og:title" content="{_e(headline)}">
<meta property="og:url" content="{_e(url)}">
<meta property="article:published_time" content="{_e(published)}">
<meta property="article:section" content="{_e(section)}">
<meta name="author" content="{_e(author)}">
<link rel="canonical" href="{_e(url)}">"""
    main = f"""<article class="story">
<header class="story-head">
<p class="kicker"><a href="{_slug(section)}">{_e(section)}</a></p>
<h1>{_e(headline)}</h1>
<p class="byline">By {_e(author)}</p>
<time datetime="{_e(published)}">{_e(_human_date(published))}</time>
</header>
<div class="story-body">
{body}
</div>
</article>"""
    title = f"{headline} | {site.name}"
    return Page(body=_chrome(site, title=title, head=head, main=main))


def _paragraphs(paragraphs: tuple[str, ...]) -> list[str]:
    return [f"<p>{_e(p)}</p>" for p in paragraphs]


def _ledger_body(paragraphs: tuple[str, ...], credit: tuple[DemoOutlet, str] | None) -> str:
    """A Commons Ledger story: the text inside the site's in-body furniture.

    ``credit`` is the wire and the original's URL for a republished story.
    """
    blocks = _paragraphs(paragraphs)
    # Inline, as many small sites' editors paste them: only the rule packs can tell them apart.
    blocks.insert(0, "<p>Share this article</p>")
    blocks.insert(
        3,
        "<p><strong>Sign up for our daily newsletter: the region's stories in your inbox "
        "every morning, free.</strong></p>",
    )
    if credit is not None:
        wire, original = credit
        blocks.append(
            f'<p class="credit">This article was originally published by '
            f'<a href="{_e(original)}">{_e(wire.name)}</a>.</p>'
        )
        blocks.append(
            f'<p class="rights">Copyright © 2026 {_e(wire.name)}. All rights reserved. '
            "Republished under licence.</p>"
        )
    blocks.append(
        "<p><em>Please support independent journalism. The Commons Ledger is free to read and "
        "funded by readers like you: a gift of any size keeps it that way.</em></p>"
    )
    blocks.append(
        "<p>Fair use notice: this site contains copyrighted material the use "
        "of which has not always been specifically authorized by the copyright owner. We make "
        "it available to advance understanding of regional affairs, which we believe "
        "constitutes a fair use of any such material.</p>"
    )
    return "\n".join(blocks)


def _excerpt_body(paragraphs: tuple[str, ...], wire: DemoOutlet, original: str) -> str:
    blocks = _paragraphs(paragraphs)
    blocks.append(
        f'<p class="read-more">Read the full story at '
        f'<a href="{_e(original)}">{_e(wire.name)}</a></p>'
    )
    return "\n".join(blocks)


def _rss(
    site: DemoOutlet,
    base: str,
    items: list[tuple[str, str, str, tuple[str, str] | None]],
) -> Page:
    """An RSS 2.0 feed of ``(title, url, published, source)`` items; ``source`` is the
    ``(name, url)`` of the outlet an aggregated item came from."""
    entries = []
    for title, url, published, source in items:
        when = format_datetime(datetime.fromisoformat(published))
        credit = (
            f'<source url="{_e(source[1])}">{_e(source[0])}</source>' if source is not None else ""
        )
        entries.append(
            f"<item><title>{_e(title)}</title><link>{_e(url)}</link>"
            f'<guid isPermaLink="true">{_e(url)}</guid><pubDate>{when}</pubDate>{credit}</item>'
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{_e(site.name)}</title><link>{_e(base)}/</link>"
        f"<description>Latest from {_e(site.name)}</description>"
        + "\n".join(entries)
        + "</channel></rss>\n"
    )
    return Page(body=body.encode(), content_type=_RSS)


def _news_sitemap(site: DemoOutlet, items: list[tuple[str, str, str]]) -> Page:
    """A Google News sitemap of ``(title, url, published)`` items."""
    entries = "\n".join(
        f"<url><loc>{_e(url)}</loc><lastmod>{_e(published)}</lastmod><news:news>"
        f"<news:publication><news:name>{_e(site.name)}</news:name>"
        "<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{_e(published)}</news:publication_date>"
        f"<news:title>{_e(title)}</news:title></news:news></url>"
        for title, url, published in items
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{entries}\n</urlset>\n"
    )
    return Page(body=body.encode(), content_type=_XML)


def _listing(site: DemoOutlet, *, title: str, items: list[tuple[str, str, str]]) -> Page:
    """A section or front page: one teaser per ``(headline, path, standfirst)``."""
    teasers = "\n".join(
        f'<article class="teaser"><h2><a href="{_e(path)}">{_e(headline)}</a></h2>'
        f"<p>{_e(standfirst)}</p></article>"
        for headline, path, standfirst in items
    )
    main = f'<section class="listing"><h1>{_e(title)}</h1>\n{teasers}\n</section>'
    return Page(body=_chrome(site, title=f"{title} | {site.name}", head="", main=main))


def _robots(site: DemoOutlet, base: str) -> Page:
    lines = ["User-agent: *"]
    lines.append("Disallow: /drafts/" if site.key == DISALLOWED.outlet else "Disallow:")
    if site.discovery == "sitemap":
        lines.append(f"Sitemap: {base}{site.discovery_path}")
    return Page(body=("\n".join(lines) + "\n").encode(), content_type=_TEXT)


def _standfirst(paragraphs: tuple[str, ...]) -> str:
    """The first sentence of a story, without its dateline."""
    first = paragraphs[0].split(" — ", 1)[-1]
    return first.split(". ", 1)[0] + "."


def render_sites(bases: Mapping[str, str]) -> dict[str, dict[str, Page]]:
    """Every outlet's pages (path -> Page), given each outlet's base URL (``http://host:port``,
    keyed by outlet key). Links between outlets use these bases."""
    sites: dict[str, dict[str, Page]] = {o.key: {} for o in OUTLETS}
    listed: dict[str, list[tuple[str, str, str, str, tuple[str, str] | None]]] = {
        o.key: [] for o in OUTLETS
    }  # per outlet: (headline, path, published, standfirst, source)
    for own in (*STORIES, DISALLOWED):
        site = outlet(own.outlet)
        url = bases[site.key] + own.path
        if site.key == "ledger":
            body = _ledger_body(own.paragraphs, None)
        else:
            body = "\n".join(_paragraphs(own.paragraphs))
        sites[site.key][own.path] = _article_page(
            site,
            url=url,
            headline=own.headline,
            author=own.author,
            published=own.published,
            body=body,
            section=site.nav[1],
        )
        entry = (own.headline, own.path, own.published, _standfirst(own.paragraphs), None)
        listed[site.key].append(entry)
    for item in COPIES:
        site, original = outlet(item.outlet), story(item.story)
        wire = outlet(original.outlet)
        original_url = bases[wire.key] + original.path
        paragraphs = copy_paragraphs(item)
        if item.how == "excerpt":
            body = _excerpt_body(paragraphs, wire, original_url)
            author = site.name
        elif site.key == "ledger":
            body = _ledger_body(paragraphs, (wire, original_url))
            author = original.author
        else:
            body = "\n".join(_paragraphs(paragraphs))
            author = original.author
        headline = item.headline or original.headline
        sites[site.key][item.path] = _article_page(
            site,
            url=bases[site.key] + item.path,
            headline=headline,
            author=author,
            published=item.published,
            body=body,
            section=site.nav[1],
        )
        feed_source = (wire.name, bases[wire.key] + wire.discovery_path)
        listed[site.key].append(
            (headline, item.path, item.published, _standfirst(paragraphs), feed_source)
        )
    for site in OUTLETS:
        base = bases[site.key]
        pages = sites[site.key]
        items = sorted(listed[site.key], key=lambda i: datetime.fromisoformat(i[2]), reverse=True)
        teasers = [(headline, path, standfirst) for headline, path, _, standfirst, _ in items]
        pages["/robots.txt"] = _robots(site, base)
        front = [t for t in teasers if not t[1].startswith("/drafts/")]
        pages["/"] = _listing(site, title=site.name, items=front)
        if site.discovery == "feed":
            pages[site.discovery_path] = _rss(
                site, base, [(h, base + p, when, src) for h, p, when, _, src in items]
            )
        elif site.discovery == "sitemap":
            pages[site.discovery_path] = _news_sitemap(
                site, [(h, base + p, when) for h, p, when, _, _ in items]
            )
        else:
            pages[site.discovery_path] = _listing(site, title="News", items=front)
    return sites
