"""Behaviour of harvester.net.robots against RFC 9309 and the edge cases real sites produce."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.net.robots import (
    ALLOW_ALL,
    DISALLOW_ALL,
    ROBOTS_MAX_BYTES,
    RobotsRules,
    parse_robots,
    product_token,
    rules_for_status,
)

UA = "harvester/0.1 (+https://example.org/bot)"

# RFC 9309, section 5.1.
RFC_5_1 = """\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
"""


@pytest.mark.parametrize(
    ("agent", "path", "expected"),
    [
        ("foobot", "/example/page.html", True),
        ("foobot", "/example/allowed.gif", True),
        ("foobot", "/example/other.html", False),
        ("foobot", "/publications/", False),
        ("foobot", "/", False),
        ("barbot", "/example/page.html", False),
        ("bazbot", "/example/page.html", False),
        ("barbot", "/example/other.html", True),
        ("barbot", "/image.gif", True),
        ("quxbot", "/example/page.html", True),
        ("quxbot", "/image.gif", True),
        ("otherbot", "/image.gif", False),
        ("otherbot", "/image.gif?x=1", True),
        ("otherbot", "/example/page.html", False),
        ("otherbot", "/publications/", True),
        ("otherbot", "/publications/cover.gif", True),
        ("otherbot", "/about", True),
    ],
)
def test_rfc_simple_example(agent: str, path: str, expected: bool) -> None:
    assert parse_robots(RFC_5_1, agent).allowed(path) is expected


def test_rfc_longest_match_example() -> None:
    # RFC 9309, section 5.2.
    rules = parse_robots(
        "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
        "foobot",
    )
    assert rules.allowed("/example/page/")
    assert rules.allowed("/example/page/allowed.gif")
    assert not rules.allowed("/example/page/disallowed.gif")


def test_longest_match_wins_regardless_of_order() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /\nAllow: /p\n", UA)
    assert rules.allowed("/page")
    assert not rules.allowed("/other")
    rules = parse_robots("User-agent: *\nAllow: /folder/\nDisallow: /folder\n", UA)
    assert rules.allowed("/folder/page")
    assert not rules.allowed("/folder")
    assert not rules.allowed("/folderpage")


def test_allow_wins_a_tie_of_equal_length() -> None:
    for body in (
        "User-agent: *\nDisallow: /page\nAllow: /page\n",
        "User-agent: *\nAllow: /page\nDisallow: /page\n",
        "User-agent: *\nDisallow: /pag*\nAllow: /p*ge\n",
    ):
        assert parse_robots(body, UA).allowed("/page.html"), body


def test_equivalent_spellings_have_equal_length() -> None:
    # Length is measured on the normalised pattern, so two spellings of one path tie: allow wins.
    rules = parse_robots("User-agent: *\nDisallow: /caf%c3%a9\nAllow: /café\n", UA)
    assert rules.allowed("/caf%C3%A9s")
    rules = parse_robots("User-agent: *\nDisallow: /~user\nAllow: /%7Euser\n", UA)
    assert rules.allowed("/~user/page")
    rules = parse_robots("User-agent: *\nDisallow: /caf%C3\nAllow: /caf\n", UA)
    assert not rules.allowed("/caf%C3%A9")


def test_dollar_anchors_the_end() -> None:
    rules = parse_robots("User-agent: *\nAllow: /$\nDisallow: /\n", UA)
    assert rules.allowed("/")
    assert rules.allowed("https://example.org")
    assert not rules.allowed("/page.html")
    rules = parse_robots("User-agent: *\nDisallow: /this/path/exactly$\n", UA)
    assert not rules.allowed("/this/path/exactly")
    assert rules.allowed("/this/path/exactly/more")
    assert rules.allowed("/this/path/exactly?q=1")


def test_dollar_inside_a_pattern_is_literal() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /a$b\n", UA)
    assert not rules.allowed("/a$b/c")
    assert rules.allowed("/a")


def test_star_matches_any_sequence() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /this/*/exactly\n", UA)
    assert not rules.allowed("/this/a/exactly")
    assert not rules.allowed("/this/a/b/c/exactly/and/more")
    assert not rules.allowed("/this//exactly")
    assert rules.allowed("/this/exactly")
    assert rules.allowed("/that/a/exactly")


def test_star_and_dollar_together() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /*.php$\nDisallow: /**/private*\n", UA)
    assert not rules.allowed("/index.php")
    assert not rules.allowed("/a/b/index.php")
    assert rules.allowed("/index.php?x=1")
    assert rules.allowed("/index.php5")
    assert not rules.allowed("/x/private")
    assert not rules.allowed("/x/privateer")
    assert rules.allowed("/privateer"), "the pattern needs a second slash before 'private'"


def test_escaped_special_characters_match_literally() -> None:
    # RFC 9309, section 2.2.3.
    rules = parse_robots(
        "User-agent: *\nDisallow: /\nAllow: /path/file-with-a-%2A.html\nAllow: /path/foo-%24\n", UA
    )
    assert rules.allowed("https://www.example.com/path/file-with-a-*.html")
    assert rules.allowed("https://www.example.com/path/foo-$")
    assert not rules.allowed("https://www.example.com/path/file-with-a-b.html")
    assert not rules.allowed("https://www.example.com/path/foo-")


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/foo/bar?baz=quz", "/foo/bar?baz=quz"),
        ("/foo/bar/ツ", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%E3%83%84", "/foo/bar/ツ"),
        ("/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%62%61%7A", "/foo/bar/baz"),
        ("/foo/bar/baz", "/foo/bar/%62%61%7a"),
        ("/caf%C3%A9", "/café"),
        ("/café", "/caf%c3%a9"),
        ("/~user", "/%7Euser"),
        ("/a%20b", "/a b"),
    ],
)
def test_percent_encoding_is_normalised(pattern: str, path: str) -> None:
    # RFC 9309, section 2.2.2: equivalent encodings of a path are the same path.
    rules = parse_robots(f"User-agent: *\nDisallow: {pattern}\n", UA)
    assert not rules.allowed(path)


def test_encoded_reserved_characters_stay_distinct() -> None:
    # "%2F" is data inside a segment, not a path separator (RFC 3986 2.2).
    rules = parse_robots("User-agent: *\nDisallow: /a/b\n", UA)
    assert rules.allowed("/a%2Fb")


def test_non_ascii_body_bytes_match_an_encoded_path() -> None:
    body = "User-agent: *\nDisallow: /über\n".encode()
    assert not parse_robots(body, UA).allowed("/%C3%BCber/x")


def test_query_is_judged_and_fragment_and_host_ignored() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /search?\nDisallow: /*?sessionid=\n", UA)
    assert not rules.allowed("https://example.org/search?q=wire")
    assert rules.allowed("https://example.org/search")
    assert not rules.allowed("/news/1?sessionid=abc")
    assert rules.allowed("/news/1#sessionid=abc")
    assert rules.allowed("https://example.org/private-in-host-does-not-matter")


def test_groups_naming_us_are_merged() -> None:
    body = """\
User-agent: harvester
Disallow: /a

User-agent: *
Disallow: /c

User-agent: otherbot
User-agent: harvester
Disallow: /b
Allow: /a/open
"""
    rules = parse_robots(body, UA)
    assert not rules.allowed("/a/x")
    assert not rules.allowed("/b/x")
    assert rules.allowed("/a/open/x")
    assert rules.allowed("/c/x"), "the * group must not apply once a group names us"
    assert set(rules.disallow) == {"/a", "/b"}
    assert rules.allow == ("/a/open",)


def test_star_groups_are_the_fallback_and_merge() -> None:
    body = """\
User-agent: *
Disallow: /a

User-agent: otherbot
Disallow: /

User-agent: *
Disallow: /b
"""
    rules = parse_robots(body, UA)
    assert not rules.allowed("/a")
    assert not rules.allowed("/b")
    assert rules.allowed("/c")


def test_our_token_matches_case_insensitively_and_ignores_versions() -> None:
    for agent_line in ("Harvester", "HARVESTER", "harvester/1.0", "  Harvester/2 (compat)  "):
        body = f"User-agent: *\nDisallow: /\n\nUser-agent: {agent_line}\nDisallow: /private\n"
        rules = parse_robots(body, "Harvester/0.1 (+https://example.org/bot)")
        assert rules.allowed("/news"), agent_line
        assert not rules.allowed("/private"), agent_line


def test_a_token_that_merely_shares_a_prefix_does_not_match() -> None:
    body = "User-agent: harvesterplus\nDisallow: /\n\nUser-agent: harvest\nDisallow: /\n"
    assert parse_robots(body, UA).allowed("/x")


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("harvester/0.1 (+https://example.org/bot)", "harvester"),
        ("Harvester", "harvester"),
        ("  HarVester/2.0  ", "harvester"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_product_token(user_agent: str, token: str) -> None:
    assert product_token(user_agent) == token


def test_empty_user_agent_falls_back_to_star() -> None:
    body = "User-agent:\nDisallow: /empty\n\nUser-agent: *\nDisallow: /star\n"
    rules = parse_robots(body, "")
    assert rules.allowed("/empty")
    assert not rules.allowed("/star")


def test_empty_disallow_disallows_nothing() -> None:
    rules = parse_robots("User-agent: *\nDisallow:\n", UA)
    assert rules.allowed("/")
    assert rules.allowed("/anything")
    assert rules.disallow == ()


def test_empty_group_naming_us_allows_everything() -> None:
    assert parse_robots("User-agent: *\nDisallow: /\n\nUser-agent: harvester\n", UA).allowed("/x")


@pytest.mark.parametrize(
    "body",
    [
        "",
        b"",
        "# only a comment\n",
        "Sitemap: https://example.org/sitemap.xml\n",
        "Disallow: /\nAllow: /x\n",  # rules before any user-agent line belong to no group
        "User-agent: otherbot\nDisallow: /\n",
    ],
)
def test_no_applicable_group_allows_all(body: bytes | str) -> None:
    rules = parse_robots(body, UA)
    assert rules == ALLOW_ALL
    assert rules.allowed("/anything")


def test_user_agent_after_rules_starts_a_new_group() -> None:
    body = "User-agent: harvester\nDisallow: /a\nUser-agent: otherbot\nDisallow: /b\n"
    rules = parse_robots(body, UA)
    assert not rules.allowed("/a")
    assert rules.allowed("/b")


def test_unknown_keys_do_not_split_a_group() -> None:
    body = "User-agent: otherbot\nSitemap: https://example.org/s.xml\nUser-agent: harvester\n"
    body += "Host: example.org\nClean-param: ref /news/\nDisallow: /a\n"
    rules = parse_robots(body, UA)
    assert not rules.allowed("/a")
    assert rules.allowed("/news/")


def test_syntax_tolerance() -> None:
    body = (
        b"\xef\xbb\xbfUSER-AGENT :  Harvester  # us\r\n"
        b"  disallow\t:\t/crlf  \r"
        b"DisAllow:/cr # trailing comment\n"
        b"this line has no colon\n"
        b"# Disallow: /commented\n"
        b"Allow: /crlf/open\n"
    )
    rules = parse_robots(body, UA)
    assert not rules.allowed("/crlf/x")
    assert not rules.allowed("/cr")
    assert rules.allowed("/crlf/open/x")
    assert rules.allowed("/commented")
    assert rules.allowed("/this")


def test_invalid_utf8_is_replaced_not_raised() -> None:
    body = b"User-agent: *\nDisallow: /\xff\xfe\nDisallow: /private\n"
    rules = parse_robots(body, UA)
    assert not rules.allowed("/private")
    assert rules.allowed("/public")


def test_robots_txt_is_always_allowed() -> None:
    assert DISALLOW_ALL.allowed("/robots.txt")
    assert DISALLOW_ALL.allowed("https://example.org/robots.txt")
    assert not DISALLOW_ALL.allowed("/")
    assert not DISALLOW_ALL.allowed("/robots.txt.bak")
    assert DISALLOW_ALL.allowed("/robots%2Etxt?x=1")
    assert parse_robots("User-agent: *\nDisallow: /robots\n", UA).allowed("/robots.txt")


def test_a_leading_double_slash_is_a_path_not_a_host() -> None:
    rules = parse_robots("User-agent: *\nDisallow: //private\n", UA)
    assert not rules.allowed("//private/x")
    assert rules.allowed("/private/x")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "parsed"),
        (204, "parsed"),
        (301, ALLOW_ALL),
        (400, ALLOW_ALL),
        (401, ALLOW_ALL),
        (403, ALLOW_ALL),
        (404, ALLOW_ALL),
        (410, ALLOW_ALL),
        (429, DISALLOW_ALL),
        (500, DISALLOW_ALL),
        (503, DISALLOW_ALL),
        (599, DISALLOW_ALL),
        (100, DISALLOW_ALL),
        (600, DISALLOW_ALL),
    ],
)
def test_rules_for_status(status: int, expected: RobotsRules | str) -> None:
    body = b"User-agent: *\nDisallow: /private\n"
    rules = rules_for_status(status, body, UA)
    if expected == "parsed":
        assert rules == parse_robots(body, UA)
        assert not rules.allowed("/private")
        assert rules.allowed("/public")
    else:
        assert rules == expected


def test_status_5xx_blocks_everything_but_robots_txt() -> None:
    rules = rules_for_status(503, b"", UA)
    assert not rules.allowed("/")
    assert rules.allowed("/robots.txt")


def test_crawl_delay() -> None:
    assert parse_robots("User-agent: *\nCrawl-delay: 2.5\n", UA).crawl_delay == 2.5
    assert parse_robots("User-agent: *\nDisallow: /\n", UA).crawl_delay is None
    body = "User-agent: harvester\nCrawl-delay: 3\n\nUser-agent: HARVESTER\ncrawl-delay: 10\n"
    assert parse_robots(body, UA).crawl_delay == 10


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", ""])
def test_unusable_crawl_delay_is_ignored(value: str) -> None:
    body = f"User-agent: *\nCrawl-delay: {value}\nCrawl-delay: 1\nDisallow: /x\n"
    rules = parse_robots(body, UA)
    assert rules.crawl_delay == 1
    assert not rules.allowed("/x")


def test_crawl_delay_comes_only_from_the_chosen_groups() -> None:
    body = "User-agent: *\nCrawl-delay: 30\n\nUser-agent: harvester\nCrawl-delay: 1\n"
    assert parse_robots(body, UA).crawl_delay == 1
    assert parse_robots(body, "otherbot").crawl_delay == 30


def test_crawl_delay_ends_the_user_agent_lines_of_a_group() -> None:
    body = "User-agent: otherbot\nCrawl-delay: 5\nUser-agent: harvester\nDisallow: /a\n"
    rules = parse_robots(body, UA)
    assert rules.crawl_delay is None
    assert not rules.allowed("/a")


def _padded(tail: str, *, pad_to: int) -> bytes:
    head = b"User-agent: *\nDisallow: /early\n"
    filler_line = b"# " + b"x" * 97 + b"\n"
    padding = filler_line * ((pad_to - len(head)) // len(filler_line) + 1)
    return (head + padding)[:pad_to] + b"\n" + tail.encode()


def test_rules_beyond_the_size_limit_are_ignored() -> None:
    body = _padded("Disallow: /late\n", pad_to=ROBOTS_MAX_BYTES + 10)
    rules = parse_robots(body, UA)
    assert not rules.allowed("/early")
    assert rules.allowed("/late")
    assert parse_robots(body.decode(), UA).allowed("/late")


def test_rules_within_the_size_limit_apply() -> None:
    body = _padded("Disallow: /late\n", pad_to=ROBOTS_MAX_BYTES - 100)
    assert len(body) < ROBOTS_MAX_BYTES
    assert not parse_robots(body, UA).allowed("/late")


def test_a_line_cut_by_the_size_limit_is_dropped() -> None:
    # "Disallow: /late-and-long" cut after "/la" must not block "/lab".
    body = _padded("Disallow: /late-and-long\n", pad_to=ROBOTS_MAX_BYTES - 14)
    assert len(body) > ROBOTS_MAX_BYTES
    assert body[:ROBOTS_MAX_BYTES].endswith(b"Disallow: /la")
    rules = parse_robots(body, UA)
    assert rules.allowed("/lab")
    assert rules.allowed("/late-and-long")


def test_pathological_wildcards_answer_correctly() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /a*a*a*a*a*a*a*a*a*a*b\n", UA)
    assert rules.allowed("/" + "a" * 10_000)
    assert not rules.allowed("/" + "a" * 10_000 + "b")
    anchored = parse_robots("User-agent: *\nDisallow: /a*a*a*a*a*a*a*a*a*a*b$\n", UA)
    assert anchored.allowed("/" + "a" * 10_000 + "bc")
    assert not anchored.allowed("/" + "a" * 10_000 + "b")
    assert anchored.allowed("/" + "a" * 5 + "b")


def test_rules_value_semantics() -> None:
    one = RobotsRules(allow=("/a",), disallow=("/",), crawl_delay=1.0)
    two = RobotsRules(allow=("/a",), disallow=("/",), crawl_delay=1.0)
    assert one == two
    assert hash(one) == hash(two)
    assert "_rules" not in repr(one)
    with pytest.raises(ValueError, match="crawl_delay"):
        RobotsRules(allow=(), disallow=(), crawl_delay=-1.0)


# -- properties ------------------------------------------------------------------------------

_literal = st.text(alphabet="ab/", max_size=6).map(lambda s: "/" + s)
_glob = st.text(alphabet="ab/*", max_size=6).map(lambda s: "/" + s)


def _glob_matches(pattern: str, path: str) -> bool:
    """An independent (backtracking) reference for the matcher, fine on tiny inputs."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*")) + ("$" if anchored else "")
    return re.match(regex, path, re.DOTALL) is not None


@given(
    allow=st.lists(_literal, max_size=4),
    disallow=st.lists(_literal, max_size=4),
    path=_literal,
)
def test_literal_rules_block_only_prefixed_paths(
    allow: list[str], disallow: list[str], path: str
) -> None:
    rules = RobotsRules(allow=tuple(allow), disallow=tuple(disallow))
    if not any(path.startswith(d) for d in disallow):
        assert rules.allowed(path)
    if not any(path.startswith(a) for a in allow) and any(path.startswith(d) for d in disallow):
        assert not rules.allowed(path)


@given(
    allow=st.lists(st.tuples(_glob, st.booleans()), max_size=3),
    disallow=st.lists(st.tuples(_glob, st.booleans()), max_size=3),
    path=st.text(alphabet="ab/", max_size=10).map(lambda s: "/" + s),
)
def test_matches_a_reference_longest_match(
    allow: list[tuple[str, bool]], disallow: list[tuple[str, bool]], path: str
) -> None:
    allow_patterns = [p + "$" if anchor else p for p, anchor in allow]
    disallow_patterns = [p + "$" if anchor else p for p, anchor in disallow]
    rules = RobotsRules(allow=tuple(allow_patterns), disallow=tuple(disallow_patterns))
    best_allow = max((len(p) for p in allow_patterns if _glob_matches(p, path)), default=-1)
    best_disallow = max((len(p) for p in disallow_patterns if _glob_matches(p, path)), default=-1)
    assert rules.allowed(path) is (best_allow >= best_disallow)


@given(body=st.binary(max_size=300) | st.text(max_size=300), user_agent=st.text(max_size=20))
def test_any_input_parses_and_robots_txt_stays_allowed(body: bytes | str, user_agent: str) -> None:
    rules = parse_robots(body, user_agent)
    assert rules.allowed("/robots.txt")
    assert rules.crawl_delay is None or rules.crawl_delay >= 0
