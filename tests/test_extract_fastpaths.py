"""The fast paths of extraction agree with the slow ones they stand in for (issue 15).

* attribution: the marked DOM text (:func:`_marked_text`) has the lines of the Python walk
  (:func:`_segments`), and the credit candidates include every line holding a credit;
* boilerplate: the literal prefilter never skips a pattern that would match, including text
  with IGNORECASE partner characters (``ı``, ``ſ``, ``İ``, final sigma);
* one lexbor parse shared by metadata and attribution gives what separate parses give.

Pages are invented here; Hypothesis builds the adversarial ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from harvester.extract import attribution, boilerplate, content, metadata
from harvester.extract.attribution import detect_attribution
from harvester.extract.boilerplate import RuleSet
from harvester.extract.metadata import read_metadata
from harvester.extract.wires import WIRES_FILE, WireRegistry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = WireRegistry.load(ROOT / "config" / WIRES_FILE)
RULES = RuleSet.load_dir(ROOT / "config" / "boilerplate")
URL = "https://www.copydesk.example/world/2031/04/harbour-bridge"


def slow_lines(html: str) -> list[str]:
    """The lines the Python walk yields (whitespace collapsed, as the windows see them)."""
    body = LexborHTMLParser(html).body
    assert body is not None
    return [
        " ".join(raw.split())
        for segment in attribution._segments(body)
        for raw in segment.text.split("\n")
        if raw.strip()
    ]


def fast_lines(html: str) -> list[str] | None:
    body = LexborHTMLParser(html).body
    assert body is not None
    text = attribution._marked_text(body)
    if text is None:
        return None
    return [" ".join(line.split()) for line in attribution._MARKS.split(text) if line.strip()]


_TAGS = ["p", "div", "span", "a", "b", "li", "ul", "td", "br", "script", "style", "figure",
         "svg", "template", "noscript", "section", "h2", "em", "select", "textarea"]  # fmt: skip
_WORDS = ["Reuters", "Originally published by", "Source:", "©", "AFP 22 July 2008",
          "12:30 pm", "the", "copyright", "İstanbul", "\u00a0", "\n", "  ", "first",
          "Full story at"]  # fmt: skip


@st.composite
def markup(draw: st.DrawFn, depth: int = 0) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 4 and draw(st.booleans()):
            tag = draw(st.sampled_from(_TAGS))
            inner = draw(markup(depth + 1))
            parts.append(f"<{tag}>" if tag == "br" else f"<{tag}>{inner}</{tag}>")
        else:
            parts.append(draw(st.sampled_from(_WORDS)))
    return "".join(parts)


@given(markup())
@settings(max_examples=300, deadline=None)
def test_marked_text_has_the_lines_of_the_walk(body: str) -> None:
    html = f"<html><head><title>t</title></head><body>{body}</body></html>"
    assert fast_lines(html) == slow_lines(html)


def test_marked_text_gives_up_on_pages_containing_the_marks() -> None:
    html = f"<html><body><p>a {attribution._MARK} b</p></body></html>"
    assert fast_lines(html) is None
    evidence = detect_attribution(
        html=html.replace("a ", "Originally published by Reuters. "),
        url=URL,
        blocks=[],
        registry=REGISTRY,
    )
    assert [e.source for e in evidence] == ["Reuters"]


@given(markup())
@settings(max_examples=300, deadline=None)
def test_credit_candidates_hold_every_credit(body: str) -> None:
    html = f"<html><body>{body}</body></html>"
    tree = LexborHTMLParser(html)
    assert tree.body is not None
    text = attribution._marked_text(tree.body)
    if text is None:
        return
    ctx = attribution._context(REGISTRY, URL, {}, ())
    every = [line for line in attribution._MARKS.split(text) if line.strip()]
    with_credit = [line for line in every if attribution._credits(ctx, attribution._window(line))]
    candidates = attribution._credit_candidates(text)
    assert all(line in candidates for line in with_credit)


def test_shared_tree_gives_the_same_evidence_and_metadata() -> None:
    html = (
        '<html lang="en"><head><title>Bridge | Copydesk</title>'
        '<link rel="canonical" href="https://www.reuters.com/world/bridge">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Bridge",'
        ' "author": {"name": "Reuters"}}</script></head><body><article>'
        "<p>LONDON (Reuters) - The bridge opened.</p></article>"
        '<footer><p>Originally published at <a href="https://www.reuters.com/x">Reuters</a>'
        "</p><p>© 2031 Reuters</p></footer></body></html>"
    )
    blocks = ["LONDON (Reuters) - The bridge opened."]
    alone = detect_attribution(html=html, url=URL, blocks=blocks, registry=REGISTRY)
    tree = LexborHTMLParser(html)
    meta = read_metadata(html, url=URL, tree=tree)
    assert meta == read_metadata(html, url=URL)
    shared = detect_attribution(html=html, url=URL, blocks=blocks, registry=REGISTRY, tree=tree)
    assert shared == alone
    assert {e.kind for e in alone} >= {"canonical", "dateline", "credit-line", "link"}


# --- boilerplate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"contains copyrighted material", "contains copyrighted material"),
        (r"(?<!\w)fair\s+use(?!\w)", "fair"),
        (r"the (?:views|opinions) expressed", " expressed"),
        (r"abc?def", "def"),
        (r"ab+cde", "cde"),
        (r"x{2,3}yyyz", "yyyz"),
        (r"a|bcdef", None),
        (r"\u00e9tude compl", None),
        (r"(?x) spaced out words", None),
        (r"[abc]de", None),
        (r"Ünïcode ÀÉ", "ünïcode àé"),
        (r"\.com\b", ".com"),
        (r"is it", "is it"),  # the partners of i and s (ı, ſ) are not ASCII
        (r"ıı", None),  # the partner of ı is i: ASCII, so never part of a literal
    ],
)
def test_required_literal(pattern: str, literal: str | None) -> None:
    assert boilerplate._required_literal(pattern) == literal


_PARTNERS = ["ı", "ſ", "İ", "Σ", "ς", "σ", "K", "µ", "μ", "ᲂ", "ẞ", "ß"]


_BOILERPLATE_WORDS = ["Fair use", "notice", "ALL RIGHTS RESERVED", "все права защищены",
                      "the views", "expressed", "of the author", "FAİR", "ſole responſibility",
                      "sole responsibility", "© 2031", "Copyright", " ", ".", "ΣΑΣ"]  # fmt: skip


@given(st.lists(st.sampled_from([*_BOILERPLATE_WORDS, *_PARTNERS]), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_prefilter_never_skips_a_match(text: str) -> None:
    text = boilerplate._normalise(text)
    assert RULES._danger is not None
    folded = boilerplate._Folded(text, RULES._danger)
    at_once = boilerplate._Folded(text, RULES._danger, RULES._literals)
    for bucket in RULES._buckets:
        if bucket.floating is not None and not folded.may_contain(bucket.floating_literals):
            assert bucket.floating.search(text) is None, (text, bucket.kind)
        # all literals looked for at once: the same answers
        literals = bucket.floating_literals
        assert at_once.may_contain(literals) == folded.may_contain(literals)


def test_prefilter_is_off_for_partner_characters() -> None:
    # re matches "s" with "ſ" under IGNORECASE; the literal "sole" is not in "ſole".lower().
    pattern = re.compile("sole responsibility", re.IGNORECASE)
    assert pattern.search("ſole responſibility")
    assert RULES._danger is not None
    assert boilerplate._Folded("ſole responſibility", RULES._danger).may_contain(None)
    assert boilerplate._Folded("ſole responſibility", RULES._danger).may_contain(("xyz",))
    assert not boilerplate._Folded("plain ascii", RULES._danger).may_contain(("xyz",))


def test_normalise_is_the_regex_normalisation() -> None:
    samples = ["  a\u00a0b\t c ", "it’s ‘q’ ʼx", "e\u0301te", "Ω\u2028x", "plain"]
    for sample in samples:
        import unicodedata

        expected = unicodedata.normalize("NFC", sample).translate(boilerplate._APOSTROPHES)
        assert boilerplate._normalise(sample) == re.sub(r"\s+", " ", expected).strip()


# --- head tags (metadata and attribution) ----------------------------------------------------

_META_ATTRS = ["name", "property", "itemprop", "http-equiv", "content", "NAME", "Property"]
_META_VALUES = ["author", "Author", "og:title", "OG:TITLE", "content-language",
                "Content-Language", "content-\u212aanguage", "datePublished", "datepublished",
                " author", "dc.date", "", "x y", "İ"]  # fmt: skip


@st.composite
def meta_tags(draw: st.DrawFn) -> str:
    tags = []
    for _ in range(draw(st.integers(0, 6))):
        pair = st.tuples(st.sampled_from(_META_ATTRS), st.sampled_from(_META_VALUES))
        attrs = draw(st.lists(pair, max_size=3))
        content = draw(st.sampled_from(["a", " b  c ", "", None]))
        text = "".join(f' {k}="{v}"' for k, v in attrs)
        text += "" if content is None else f' content="{content}"'
        wrap = draw(st.sampled_from(["{}", "<svg>{}</svg>", "<p>{}</p>"]))
        tags.append(wrap.format(f"<meta{text}>"))
    return "".join(tags)


@given(meta_tags(), meta_tags())
@settings(max_examples=300, deadline=None)
def test_meta_lookup_is_css_first(in_head: str, in_body: str) -> None:
    tree = LexborHTMLParser(f"<html><head>{in_head}</head><body>{in_body}</body></html>")
    head = metadata.read_head(tree)
    for key in ("name", "property", "itemprop"):
        for value in _META_VALUES:
            if not value or '"' in value:
                continue
            node = tree.css_first(f'meta[{key}="{value}"]')
            assert metadata._meta(head, key, value) == metadata._attr(node, "content")
    node = tree.css_first('meta[http-equiv="content-language" i]')
    assert metadata._meta(head, "http-equiv", "content-language") == metadata._attr(node, "content")


_LD_TYPES = ["application/ld+json", "application/LD+JSON", "application/ld+\u212aSON",
             "text/javascript", "application/json"]  # fmt: skip
_LD_TEXTS = ['{"@type": "NewsArticle", "headline": "H"}', '[{"@graph": [{"a": 1}]}]', "{bad",
             "", "[" * 3000 + "]" * 3000, '"text"']  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from(_LD_TYPES), st.sampled_from(_LD_TEXTS)), max_size=5))
@settings(max_examples=200, deadline=None)
def test_shared_json_ld_is_what_each_reader_parsed(scripts: list[tuple[str, str]]) -> None:
    html = "<html><head>{}</head><body></body></html>".format(
        "".join(f'<script type="{kind}">{text}</script>' for kind, text in scripts)
    )
    tree = LexborHTMLParser(html)
    head = metadata.read_head(tree)
    # metadata: scripts of exactly that type, as the css_first era read them
    expected: list[object] = []
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            expected.extend(metadata._walk_json_ld(json.loads(script.text(deep=True))))
        except (ValueError, RecursionError):
            continue
    assert list(metadata._json_ld(head)) == expected
    # attribution: the type in any ASCII case
    documents = []
    for script in tree.css('script[type="application/ld+json" i]'):
        try:
            documents.append(json.loads(script.text(deep=True) or ""))
        except (ValueError, RecursionError):
            continue
    assert [document for _, document in head.json_ld] == documents


# --- boilerplate: first-character dispatch -------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "keys"),
    [
        (r"(?:foo|Bar)\s*x", "bf"),
        (r"(?-i:[A-C])x", "abc"),
        (r"[xY]z", "xy"),
        (r"a?b", "ab"),
        (r"(?<!\w)(?=q)qu", "q"),
        (r"sk", "sſ"),  # re matches "ſ" (long s) for "s" under IGNORECASE
        (r"ik", "iı"),
        (r"\w+", None),
        (r"x*", None),  # matches the empty string: every block
        (r"(?:a|)b", "ab"),
        (r"[^a]b", None),
        (r"[a-c]", None),  # a range under IGNORECASE: not expanded
        (r"\u0130x", None),  # İ: two characters in str.lower
        (r".x", None),
    ],
)
def test_first_keys(pattern: str, keys: str | None) -> None:
    found = boilerplate._first_keys(pattern)
    assert (None if found is None else "".join(sorted(found))) == keys


def _pack_phrases() -> list[str]:
    import tomllib

    phrases: list[str] = []
    for path in sorted((ROOT / "config" / "boilerplate").glob("*.toml")):
        pack = tomllib.loads(path.read_text(encoding="utf-8"))
        for rule in pack.get("rules", []):
            if rule["match"] != "regex":
                found = rule.get("patterns", [rule.get("pattern")])
                phrases.extend(p for p in found if isinstance(p, str))
    return phrases


# Labelled lines, for the label rules.
_LABELLED = ["Tags: bridge, harbour", "By Jane Doe", "Von Hans Müller", "Published: July 22, 2031",
             "Опубликовано: 22 июля 2031", "Copydesk, July 22, 2031", "Région : Europe",
             "Теги: мост", "Por Ana Pérez", "Par Jean Dupont", "Themen: Brücke"]  # fmt: skip
_PHRASES = _pack_phrases() + _LABELLED
_FIRSTS = ["", "ı", "ſ", "İ", "i", "s", "\u212a", "k", "Σ", "ς", "σ", "µ", "μ", "ᲂ", "в", "ẞ", "ß"]


@given(
    st.sampled_from(_PHRASES),
    st.sampled_from(_FIRSTS) | st.characters(),
    st.sampled_from([str.lower, str.upper, str.title, str]),
    st.sampled_from(["", " and more", ": x", " 2031"]),
)
@settings(max_examples=600, deadline=None)
def test_first_character_dispatch_is_the_full_alternation(
    phrase: str, first: str, case: object, tail: str
) -> None:
    assert callable(case)
    for raw in (case(phrase) + tail, first + case(phrase)[1:] + tail, first + tail):
        text = boilerplate._normalise(raw)
        if not text:
            continue
        key = boilerplate._first_key(text)
        for bucket in RULES._buckets:
            if bucket.anchored is None:
                continue
            full = bucket.anchored.match(text)
            chosen = bucket.anchored
            if key and bucket.anchored_by_first:
                chosen = bucket.anchored_by_first.get(key, bucket.anchored_other)
            part = chosen.match(text) if chosen is not None else None
            assert (full and full.lastgroup) == (part and part.lastgroup), (text, bucket.kind)
        for label in RULES._labels:
            if key and label.first is not None and key not in label.first:
                assert label.regex.search(text) is None, (text, label.rule.ref)


def test_dispatch_covers_the_packs() -> None:
    # Most anchored patterns have known first characters (else the dispatch buys nothing).
    assert sum(len(b.anchored_by_first) > 0 for b in RULES._buckets if b.anchored) >= 20
    assert all(label.first is not None for label in RULES._labels)


def reference_match(rules: RuleSet, text: str, position: str) -> str | None:
    """The rule (ref) that removes a block, found as before the dispatch: every label rule,
    then every bucket with its whole alternations, no prefilter."""
    if not text or boilerplate._DATELINE.match(text):
        return None
    for lm in rules._labels:
        if lm.rule.position != position or len(text) > lm.rule.max_chars:
            continue
        m = lm.regex.search(text)
        value = m.group("value") if m is not None else None
        if value is None or not value.strip():
            continue
        if lm.rule.field == "published" and boilerplate.parse_date_text(value) is None:
            continue
        return lm.rule.ref
    for bucket in rules._buckets:
        if bucket.position != position or len(text) > bucket.max_chars:
            continue
        found = bucket.anchored.match(text) if bucket.anchored is not None else None
        if found is None and bucket.floating is not None:
            found = bucket.floating.search(text)
        if found is not None:
            group = found.lastgroup
            assert group is not None
            return bucket.by_group[group].ref
    return None


@given(
    st.sampled_from(_PHRASES),
    st.sampled_from(_FIRSTS) | st.characters(),
    st.sampled_from(["", " and more", ": x", " 2031", ", July 22, 2031"]),
    st.sampled_from(boilerplate.POSITIONS),
)
@settings(max_examples=600, deadline=None)
def test_match_is_the_undispatched_match(phrase: str, first: str, tail: str, position: str) -> None:
    for raw in (phrase + tail, first + phrase[1:] + tail, first + phrase + tail):
        text = boilerplate._normalise(raw)
        hit = RULES._match(text, position)
        assert (hit.rule.ref if hit is not None else None) == reference_match(
            RULES, text, position
        ), text


# --- markup checks -------------------------------------------------------------------------

_MARKUP_PIECES = ["<a", "<b c", "</html", "</HTML>", "</Html>", ">", "x", " ", "<", "/", '"',
                  "y" * 3999, " q=1" * 1000, "</html>\n", "<a" * 50]  # fmt: skip


def reference_markup(html: str) -> tuple[str | None, int]:
    """The two checks as separate passes: _LONG_TAG candidates, then str.find."""
    hostile = None
    for candidate in content._LONG_TAG.finditer(html):
        if content._ATTRIBUTE_BOMB.match(html, candidate.start()):
            hostile = content._HOSTILE
            break
    found = [i for i in (html.find("</html"), html.find("</HTML")) if i >= 0]
    return hostile, min(found, default=-1)


@given(st.lists(st.sampled_from(_MARKUP_PIECES), max_size=14).map("".join))
@settings(max_examples=400, deadline=None)
def test_one_markup_scan_is_the_two_checks(html: str) -> None:
    hostile, html_end = reference_markup(html)
    scan = content._scan_markup(html)
    assert scan.hostile == hostile
    if hostile is None:
        assert scan.html_end == html_end
        assert content._without_stray_html_end(html, scan.html_end) == (
            content._without_stray_html_end(html)
        )


@given(markup())
@settings(max_examples=200, deadline=None)
def test_anchor_texts_are_the_texts_of_the_links(body: str) -> None:
    html = f'<html><body><a href="/x">{body}</a><a>{body}</a><a href="">  </a>{body}</body></html>'
    tree = LexborHTMLParser(html)
    expected = frozenset(t for a in tree.css("a[href]") if (t := metadata._text(a)))
    assert metadata._anchor_texts(tree) == expected


_LD_OBJECTS = [
    {"@type": "ImageObject", "url": "https://cdn.example/x.jpg"},
    {"@type": "NewsArticle", "publisher": {"name": "Reuters", "url": "https://www.reuters.com"}},
    {"isBasedOn": "https://apnews.com/article/x"},
    {"author": [{"name": "Jane Doe, Associated Press"}]},
    {"sourceOrganization": {"name": "AFP", "url": "https://www.afp.com/"}},
    {"@graph": [{"publisher": "AFP"}, {"breadcrumb": {"itemListElement": []}}]},
]


@given(st.lists(st.sampled_from(_LD_OBJECTS), max_size=6))
@settings(max_examples=100, deadline=None)
def test_json_ld_objects_without_the_keys_give_no_evidence(objects: list[object]) -> None:
    ctx = attribution._context(REGISTRY, URL, {}, ())
    every = [
        evidence
        for obj in attribution._jsonld_objects(objects)
        for evidence in attribution._jsonld_evidence(ctx, obj)
    ]
    html = f'<script type="application/ld+json">{json.dumps(objects)}</script>'
    tree = LexborHTMLParser(html)
    head = metadata.read_head(tree)
    assert list(attribution._head_evidence(ctx, tree, head)) == every


_LINE_WORDS = ["By", "Jane Doe", "Reuters", "staff", "Staff", "ſtaff", "STAFF", "writers", "with",
               "WITH", "wİth", "AFP", "and agencies", "(Reuters)", "(AP) -", "MOSCOW,", "July 22",
               ") –", "-", "—", "(", ")", " ", "Associated Press", "said"]  # fmt: skip


@given(st.lists(st.sampled_from(_LINE_WORDS), max_size=8).map(" ".join))
@settings(max_examples=400, deadline=None)
def test_byline_and_dateline_prefilters_skip_no_match(words: str) -> None:
    # What each prefilter looks for is in every line its regex matches.
    line = " ".join(words.split())
    head = line[: attribution._DATELINE_HEAD]
    if ")" in head and attribution._DATELINE.match(head):
        assert attribution._DATELINE_END.search(head)
    expected = []
    if m := attribution._BY.fullmatch(line):
        expected.append(("by", m.group("who")))
    elif m := attribution._STAFF.fullmatch(line):
        expected.append(("staff", m.group("who")))
    elif m := attribution._WITH.fullmatch(line):
        expected.append(("with", m.group("wire")))
    if line.isascii() and expected and expected[0][0] == "staff":
        assert " staff" in line.lower()
    if line.isascii() and expected and expected[0][0] == "with":
        assert "with " in line.lower()
