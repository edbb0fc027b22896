"""Paths: hostile outlet names and WARC prefixes are refused when the config is loaded, and
whatever a harvest is fed (URLs with ``../``, ``%2e%2e/``, NUL, 4,000-character paths, hostile
outlet names, a hostile host name), every file written resolves under the archive root and
WARC file names use only the safe alphabet."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import write_config
from mockserver import MockServer
from pages import article_page, rss_feed

from harvester.config import ArchiveSettings, Outlet, Settings, load_settings
from harvester.daemon import run_daemon
from harvester.errors import ArchiveError, ConfigError
from harvester.models import FetchRequest, HttpError
from harvester.pipeline import Harvester

pytestmark = pytest.mark.faults

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
WARC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}-\d{14}-\d{5}-[A-Za-z0-9.-]+\.warc\.gz$")

# TOML basic-string spellings (escapes are TOML's own: "\u0000" is a NUL in the value).
BAD_NAMES = {
    "dot-dot-slash": "../../x",
    "absolute": "/abs",
    "absolute-etc": "/etc/passwd",
    "nul": "courier\\u0000.warc",
    "300-characters": "x" * 300,
    "dot-dot": "..",
    "leading-dot": ".hidden",
    "backslash": "..\\\\..\\\\x",
    "newline": "Courier\\nINFO forged log line",
    "tab": "Courier\\tx",
    "escape": "Courier\\u001b[31m",
    "delete": "Courier\\u007f",
}
# Not line-safe though no C0 control: NEL and LINE SEPARATOR end a line for str.splitlines()
# (and for log viewers), RIGHT-TO-LEFT OVERRIDE reverses what follows it on screen.
UNPRINTABLE_NAMES = {"nel": "Courier\\u0085x", "line-separator": "Courier\\u2028x",
                     "rtl-override": "Courier\\u202ex"}  # fmt: skip
BAD_PREFIXES = {
    "slash": "warc/x",
    "dot-dot": "..",
    "dot-dot-slash": "../../x",
    "absolute": "/tmp/x",
    "nul": "harvester\\u0000x",
    "300-characters": "h" * 300,
    "41-characters": "h" * 41,
    "leading-dash": "-rf",
    "space": "my warcs",
    "non-ascii": "härvester",
    "empty": "",
}


def outlet_toml(name: str) -> str:
    return f'[[outlets]]\nname = "{name}"\nhome = "https://courier.example.org/"\n'


def assert_one_line_naming(error: ConfigError, path: Path, key: str) -> None:
    message = str(error)
    assert message.startswith(f"{path}: ")
    assert f"key {key!r}" in message
    assert len(message.splitlines()) == 1
    assert "\x00" not in message


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_hostile_outlet_name_is_a_config_error(tmp_path: Path, name: str) -> None:
    path = write_config(tmp_path / "h.toml", outlet_toml(name))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert_one_line_naming(caught.value, path, "name")


@pytest.mark.parametrize("name", list(UNPRINTABLE_NAMES.values()), ids=list(UNPRINTABLE_NAMES))
def test_unprintable_outlet_name_is_a_config_error(tmp_path: Path, name: str) -> None:
    path = write_config(tmp_path / "h.toml", outlet_toml(name))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert_one_line_naming(caught.value, path, "name")


@pytest.mark.parametrize("prefix", list(BAD_PREFIXES.values()), ids=list(BAD_PREFIXES))
def test_hostile_archive_prefix_is_a_config_error(tmp_path: Path, prefix: str) -> None:
    path = write_config(tmp_path / "h.toml", f'[archive]\nprefix = "{prefix}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert_one_line_naming(caught.value, path, "prefix")
    assert "[archive]" in str(caught.value)


def test_good_names_and_prefixes_still_load(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "h.toml",
        '[archive]\nprefix = "Wire_Archive-2026"\n'
        + outlet_toml("Agence Havas-Reuter (Paris) & Co.")
        + '[[outlets]]\nname = "Новости Варны"\nhome = "https://varna.example.org/"\n',
    )
    settings = load_settings(path)
    assert settings.archive.prefix == "Wire_Archive-2026"
    assert [o.name for o in settings.outlets] == [
        "Agence Havas-Reuter (Paris) & Co.",
        "Новости Варны",
    ]


# --- what a harvest writes --------------------------------------------------------------------


def hostile_paths() -> list[str]:
    return [
        "/a/b/../../../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/%2E%2E%5C%2E%2E%5Cwindows%5Cwin.ini",
        "/.%00./.%00./x%00.warc.gz",
        "/" + "a" * 4000,
        "/" + "/".join(["deep"] * 300),
        "/back\\slash\\..\\..\\x",
        "/%C3%BCn%C3%AFc%C3%B6d%C3%A9/%F0%9F%93%B0",
        "/?file=../../../../x&name=/etc/passwd",
        "/%2F%2F%2Fabs%2Fpath",
        "/nul\x00raw",
        "/crlf\r\nX-Injected: yes",
    ]


def assert_everything_under(root: Path, tmp_path: Path) -> list[Path]:
    """Every file and folder under ``root`` is real (no symlink) and resolves under it; nothing
    appeared next to it. Returns the WARC files."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            assert not path.is_symlink(), path
            assert path.resolve().is_relative_to(real_root), path
            assert SAFE_NAME.match(name), path
    assert [p for p in tmp_path.iterdir() if p != root and p.suffix != ".toml"] == []
    return sorted((root / "warc").rglob("*.warc.gz"))


def test_every_written_path_resolves_under_the_archive_root(
    server: MockServer, settings: Settings, tmp_path: Path
) -> None:
    server.route("/etc/passwd", article_page())
    with Harvester(settings) as harvester:
        for n, path in enumerate(hostile_paths()):
            outlet = ("../../x", "/abs", "nul\x00name", "o" * 300, None)[n % 5]
            harvester.harvest(FetchRequest(url=server.url(path), outlet=outlet))
    files = assert_everything_under(settings.archive.dir, tmp_path)
    assert files and all(WARC_NAME.match(f.name) for f in files)
    assert server.requests_for("/etc/passwd")  # the dot segments went to the server's root
    assert not any("x-injected" in r.headers for r in server.requests)


def test_daemon_writes_only_under_the_archive_root(
    server: MockServer, settings: Settings, tmp_path: Path
) -> None:
    server.route("/etc/passwd", article_page())
    feed = rss_feed([(f"item {n}", server.url(p)) for n, p in enumerate(hostile_paths()[:-2])])
    server.route("/rss.xml", feed, content_type="application/rss+xml")
    outlet = Outlet(name="Courier", home=server.url("/"), feeds=(server.url("/rss.xml"),))
    assert run_daemon(replace(settings, outlets=(outlet,)), once=True) == 0
    files = assert_everything_under(settings.archive.dir, tmp_path)
    assert files and all(WARC_NAME.match(f.name) for f in files)


def test_non_ascii_url_is_archived_not_an_exception(
    server: MockServer, settings: Settings, tmp_path: Path
) -> None:
    """``harvester fetch`` and the Python API take a URL as typed (daemon URLs are normalised,
    hence percent-encoded, before they are fetched)."""
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/ünïcödé/пример")))
    assert isinstance(outcome, HttpError) and outcome.status == 404
    assert server.requests_for("/%C3%BCn%C3%AFc%C3%B6d%C3%A9/%D0%BF%D1%80%D0%B8%D0%BC%D0%B5%D1%80")
    assert_everything_under(settings.archive.dir, tmp_path)


def test_warc_file_names_use_the_safe_alphabet_whatever_the_host_name(
    server: MockServer, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harvester.warc.writer.socket.gethostname", lambda: "../../hôte nul\x00/x")
    server.route("/a", article_page())
    with Harvester(settings) as harvester:
        harvester.harvest(FetchRequest(url=server.url("/a")))
    files = assert_everything_under(settings.archive.dir, tmp_path)
    assert files and all(WARC_NAME.match(f.name) for f in files), [f.name for f in files]


def test_unvalidated_prefix_cannot_escape_the_archive_root(
    server: MockServer, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    hostile = replace(settings, archive=ArchiveSettings(dir=root, prefix="../../../../escaped"))
    server.route("/a", article_page())
    try:
        with Harvester(hostile) as harvester:
            harvester.harvest(FetchRequest(url=server.url("/a")))
    except (ValueError, ConfigError, ArchiveError):
        pass  # refusing the prefix outright is fine too
    assert list(tmp_path.glob("escaped*")) == []
    assert_everything_under(root, tmp_path)
