"""Config loading: valid files become frozen Settings; every mistake is one line naming file,
outlet and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.config import Settings, load_settings, parse_duration, parse_size
from harvester.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

GOOD = """
[archive]
dir = "data"
prefix = "test"
rotate_size = "10MB"

[fetch]
per_host_delay = 0
timeout = "5s"
deadline = "1m"
max_page_bytes = "2MiB"
allow_hosts = ["127.0.0.2"]

[[outlets]]
name = "Northwind News"
home = "https://northwind.example/"
feeds = ["https://northwind.example/rss.xml"]
poll_every = "1h30m"
wire = true
aliases = ["NWN"]

[[outlets]]
name = "Meridian Courier"
home = "https://courier.example/"
sitemaps = ["https://courier.example/sitemap.xml"]
sections = ["https://courier.example/news/"]
"""


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "harvester.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def test_good_config(tmp_path: Path) -> None:
    s = load(tmp_path, GOOD)
    assert s.archive.dir == tmp_path / "data"
    assert s.archive.rotate_size == 10_000_000
    assert s.fetch.per_host_delay == 0.0
    assert s.fetch.deadline == 60.0
    assert s.fetch.max_page_bytes == 2 * 2**20
    assert s.fetch.allow_hosts == ("127.0.0.2",)
    first, second = s.outlets
    assert first.poll_every == 5400.0 and first.wire and first.aliases == ("NWN",)
    assert second.poll_every == 900.0 and not second.wire
    assert s.outlet_for_host("www.courier.example") == second
    assert s.outlet_for_host("courier.example") == second
    assert s.outlet_for_host("news.northwind.example") == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.fetch.timeout = 1.0  # type: ignore[misc]


def test_shipped_config_is_valid() -> None:
    s = load_settings(REPO / "config" / "harvester.toml")
    assert len(s.outlets) >= 5
    assert any(o.wire for o in s.outlets) and any(not o.wire for o in s.outlets)
    assert s.archive.dir == REPO / "archive"


def test_extract_paths_resolve_next_to_config_or_to_shipped_defaults(tmp_path: Path) -> None:
    s = load(tmp_path, "[extract]\nbudget = 'off'\n")
    assert s.extract.budget is None
    assert s.extract.wires == REPO / "config" / "wires.toml"
    assert s.extract.boilerplate == REPO / "config" / "boilerplate"
    (tmp_path / "mine.toml").write_text("", encoding="utf-8")
    s = load(tmp_path, "[extract]\nwires = 'mine.toml'\nbudget = '3s'\n")
    assert s.extract.wires == tmp_path / "mine.toml"
    assert s.extract.budget == 3.0


def test_defaults_without_file() -> None:
    s = load_settings(None)
    assert s.outlets == ()
    assert s.fetch.respect_robots and not s.fetch.allow_private_networks
    assert s.fetch.max_redirects == 10


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("[fetch]\ntimout = 5\n", "[fetch]: unknown key 'timout'"),
        ("[archive]\nsize = 5\n", "[archive]: unknown key 'size'"),
        ("colour = 1\n", "top level: unknown key 'colour'"),
        ("[fetch]\ntimeout = 'fast'\n", "[fetch]: key 'timeout': bad duration 'fast'"),
        ("[fetch]\ntimeout = -3\n", "[fetch]: key 'timeout': duration must be positive"),
        ("[fetch]\nmax_page_bytes = 'huge'\n", "[fetch]: key 'max_page_bytes': bad size"),
        ("[fetch]\nrespect_robots = 'yes'\n", "[fetch]: key 'respect_robots': must be a bool"),
        ("[fetch]\nmax_redirects = 99\n", "[fetch]: key 'max_redirects': must be between"),
        (
            "[[outlets]]\nname = 'X'\nhome = 'ftp://x.example/'\n",
            "outlet 'X': key 'home': bad URL 'ftp://x.example/'",
        ),
        (
            "[[outlets]]\nname = 'X'\nhome = 'https://x.example/'\nfeeds = ['not a url']\n",
            "outlet 'X': key 'feeds': bad URL 'not a url'",
        ),
        (
            "[[outlets]]\nname = 'X'\nhome = 'https://x.example/'\npoll_every = '5 parsecs'\n",
            "outlet 'X': key 'poll_every': bad duration",
        ),
        (
            "[[outlets]]\nname = 'X'\nhome = 'https://x.example/'\ncolour = 'red'\n",
            "outlet 'X': unknown key 'colour'",
        ),
        ("[[outlets]]\nname = 'X'\n", "outlet 'X': key 'home': missing"),
        ("[[outlets]]\nhome = 'https://x.example/'\n", "outlets[0]: key 'name': missing"),
        (
            "[[outlets]]\nname = '../../x'\nhome = 'https://x.example/'\n",
            "key 'name': must be 1-100 printable characters",
        ),
        (
            "[[outlets]]\nname = 'A'\nhome = 'https://a.example/'\n"
            "[[outlets]]\nname = 'a'\nhome = 'https://b.example/'\n",
            "outlet 'a': key 'name': duplicate outlet name",
        ),
        ("[archive]\nprefix = '../evil'\n", "[archive]: key 'prefix'"),
        ("[fetch\n", "invalid TOML"),
        ("[extract]\nbudget = 'soon'\n", "[extract]: key 'budget': bad duration"),
        ("[extract]\nwires = 'nowhere.toml'\n", "[extract]: key 'wires': file not found"),
        ("[extract]\nboilerplate = 'none'\n", "[extract]: key 'boilerplate': folder not found"),
        ("[extract]\ntemplate_min_articles = 1\n", "key 'template_min_articles': must be"),
        ("[extract]\ntemplate_cache = -1\n", "key 'template_cache': must be"),
        ('[extract]\ntemplate_cache = "lots"\n', "template_cache"),
        ("[extract]\nlanguage = 'en'\n", "[extract]: unknown key 'language'"),
    ],
)
def test_bad_config_is_one_line_naming_file_outlet_key(
    tmp_path: Path, snippet: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, snippet)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(tmp_path / "harvester.toml") + ": ")
    assert message in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (2.5, 2.5), ("90s", 90.0), ("15m", 900.0), ("1h30m", 5400.0), ("250ms", 0.25),
     ("1d", 86400.0), (" 2h ", 7200.0)],
)  # fmt: skip
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "fast", "10", "1x", "m5", True, None, 0, "0s", [1]])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [(1024, 1024), ("10MB", 10_000_000), ("10 MiB", 10 * 2**20), ("1gb", 10**9), ("512KiB", 2**19)],
)
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["ms", "s", "m", "h", "d"]))
def test_duration_units_compose(n: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_duration(f"{n}{unit}") == pytest.approx(n * factor)
