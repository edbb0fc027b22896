"""Configuration: one TOML file read and validated once into frozen objects.

Layout (see config/harvester.toml for a commented example)::

    [archive]   dir, prefix, rotate_size, catalog
    [fetch]     user_agent, per_host_delay, per_host_connections, workers, processes, retries,
                retry_delay, timeout, deadline, max_page_bytes, max_redirects,
                respect_robots, allow_private_networks, allow_hosts, oversize
    [extract]   budget, wires, boilerplate, template_min_articles, template_cache
    [dedup]     window, follow_attribution
    [serve]     host, port, token (the story desk, ``harvester serve``; flags win)
    [[outlets]] name, home, feeds, sitemaps, sections, section_include, section_exclude,
                poll_every, poll_min, poll_max, wire, aliases, headers, cookies

Every problem is reported as one :class:`ConfigError` line that names the file, the outlet (when
there is one) and the key.  Relative paths (``[archive] dir``) resolve against the directory of the
config file, so a config means the same thing whatever the working directory.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harvester.errors import ConfigError

__all__ = [
    "DEFAULT_USER_AGENT",
    "ArchiveSettings",
    "DedupSettings",
    "ExtractSettings",
    "FetchSettings",
    "Outlet",
    "Settings",
    "default_config_dir",
    "load_settings",
    "parse_duration",
    "parse_size",
]

DEFAULT_USER_AGENT = "harvester/0.1 (wire-story archiver; +https://example.org/harvester)"

# Outlet names become parts of file names and log lines: keep them printable and path-free.
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,100}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings:
    """Where and how WARC files and the catalog are written."""

    dir: Path = Path("archive")
    prefix: str = "harvester"
    rotate_size: int = 10**9
    # None: <dir>/index.sqlite; else a PostgreSQL URL (a fleet) or an SQLite path
    catalog: str | None = None


@dataclass(frozen=True, kw_only=True)
class FetchSettings:
    """How politely and how safely pages are fetched. Durations are seconds."""

    user_agent: str = DEFAULT_USER_AGENT
    per_host_delay: float = 1.0
    per_host_connections: int = 1
    workers: int = 16
    # worker processes of `harvester run` (each fetches, archives and extracts): every core
    processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    retries: int = 3
    retry_delay: float = 30.0
    timeout: float = 20.0
    deadline: float = 60.0
    max_page_bytes: int = 10 * 2**20
    max_redirects: int = 10
    respect_robots: bool = True
    allow_private_networks: bool = False
    allow_hosts: tuple[str, ...] = ()
    oversize: str = "refuse"


_PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | None) -> bool:
    """Whether a catalog URL names a PostgreSQL database."""
    return bool(target) and str(target).startswith(_PG_SCHEMES)


def check_catalog_url(target: str | None) -> str | None:
    """``target`` if it is a catalog URL harvester can open (None, a PostgreSQL URL, a
    ``sqlite:///path`` URL or a plain path); ConfigError otherwise."""
    if target is None or is_postgres(target):
        return target
    if "://" in target and not target.startswith("sqlite:///"):
        scheme = target.split("://", 1)[0]
        raise ConfigError(
            f"unsupported catalog URL scheme {scheme!r} (use postgresql://user@host:port/db, "
            "sqlite:///path or a file path)"
        )
    return target


def default_config_dir() -> Path:
    """Where wires.toml and boilerplate/ live when no config file names them.

    ``$HARVESTER_CONFIG_DIR``, else the ``config/`` folder of a source checkout (editable
    installs), else ``/etc/harvester`` (the Docker image).
    """
    env = os.environ.get("HARVESTER_CONFIG_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "config"
    return checkout if checkout.is_dir() else Path("/etc/harvester")


@dataclass(frozen=True, kw_only=True)
class ExtractSettings:
    """Extraction: time budget per page, the wire registry, boilerplate packs, templates."""

    budget: float | None = 20.0
    wires: Path = field(default_factory=lambda: default_config_dir() / "wires.toml")
    boilerplate: Path = field(default_factory=lambda: default_config_dir() / "boilerplate")
    template_min_articles: int = 3
    # Block keys of learned-template models held in memory over all outlets (least recently
    # used models leave memory beyond it and are read back from the catalog when needed).
    template_cache: int = 250_000


@dataclass(frozen=True, kw_only=True)
class DedupSettings:
    """Story assignment: the hot candidate window, and whether to fetch attributed originals."""

    window: float = 30 * 86400.0
    follow_attribution: bool = False


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """The story desk (``harvester serve``): where it listens and the token it asks for."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None


@dataclass(frozen=True, kw_only=True)
class Outlet:
    """A news outlet (a wire service or a republisher) and where to discover its articles."""

    name: str
    home: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    section_include: tuple[str, ...] = ()
    section_exclude: tuple[str, ...] = ()
    poll_every: float = 900.0
    poll_min: float | None = None
    poll_max: float | None = None
    wire: bool = False
    aliases: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cookies: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def credentials(self) -> dict[str, str]:
        """The request headers that go to this outlet's origin only (``headers`` and a
        ``Cookie`` header built from ``cookies``)."""
        sent = dict(self.headers)
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies)
        return sent

    @property
    def interval_bounds(self) -> tuple[float, float]:
        """The adaptive poll interval's bounds: ``poll_min`` / ``poll_max``, by default a
        quarter of and four times ``poll_every``."""
        low = self.poll_min if self.poll_min is not None else self.poll_every / 4
        high = self.poll_max if self.poll_max is not None else self.poll_every * 4
        return low, max(low, high)

    @property
    def host(self) -> str:
        """The outlet's home host, lower-cased."""
        return (urlsplit(self.home).hostname or "").lower()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The whole validated configuration."""

    source: Path | None = None
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    outlets: tuple[Outlet, ...] = ()

    def with_archive_dir(self, path: Path) -> Settings:
        """A copy with ``[archive] dir`` replaced (the ``--archive`` flag wins over the file)."""
        return replace(self, archive=replace(self.archive, dir=path))

    def with_catalog(self, catalog: str | None) -> Settings:
        """A copy with ``[archive] catalog`` replaced (the ``--catalog`` flag); a relative
        SQLite path stays relative to the working directory, as flags are."""
        if catalog is not None and not is_postgres(catalog):
            catalog = str(Path(catalog.removeprefix("sqlite://")).expanduser().resolve())
        return replace(self, archive=replace(self.archive, catalog=catalog))

    def outlet_for_host(self, host: str) -> Outlet | None:
        """The configured outlet whose home host (or a parent domain of it) matches ``host``."""
        host = host.lower()
        for outlet in self.outlets:
            oh = outlet.host.removeprefix("www.")
            if host == oh or host.endswith("." + oh):
                return outlet
        return None


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``2.5``, ``"90s"``, ``"15m"``, ``"1h30m"``, ``"250ms"`` or ``"1d"``.

    Raises ValueError for anything else, and for durations that are not positive.
    """
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION_RE.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"bad duration {value!r} (use e.g. 90s, 15m, 1h30m)")
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"bad duration {value!r}")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"10MB"``, ``"10 MiB"`` or ``"1GB"``. Must be positive."""
    if isinstance(value, bool):
        raise ValueError(f"bad size {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    else:
        raise ValueError(f"bad size {value!r} (use e.g. 10MB, 512KiB or a byte count)")
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


def load_settings(path: Path | str | None = None) -> Settings:
    """Read and validate a config file; ``None`` gives the built-in defaults (no outlets).

    Raises ConfigError with one line naming the file, the outlet and the key.
    """
    if path is None:
        return Settings()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return settings_from_mapping(raw, source=path)


def settings_from_mapping(raw: Mapping[str, Any], *, source: Path) -> Settings:
    """Validate an already-parsed TOML document (see :func:`load_settings`)."""
    v = _Validator(source)
    v.unknown_keys(
        raw, {"archive", "fetch", "extract", "dedup", "serve", "outlets"}, where="top level"
    )
    archive = _archive(v, v.table(raw, "archive", where="top level"))
    fetch = _fetch(v, v.table(raw, "fetch", where="top level"))
    extract = _extract(v, v.table(raw, "extract", where="top level"))
    dedup_raw = v.table(raw, "dedup", where="top level")
    v.unknown_keys(dedup_raw, set(DedupSettings.__dataclass_fields__), where="[dedup]")
    dedup = DedupSettings(
        window=v.convert("[dedup]", "window", dedup_raw.get("window", "30d"), parse_duration),
        follow_attribution=v.typed(
            "[dedup]", "follow_attribution", dedup_raw.get("follow_attribution", False), bool
        ),
    )
    serve_raw = v.table(raw, "serve", where="top level")
    v.unknown_keys(serve_raw, set(ServeSettings.__dataclass_fields__), where="[serve]")
    token = serve_raw.get("token")
    serve = ServeSettings(
        host=v.typed("[serve]", "host", serve_raw.get("host", "127.0.0.1"), str),
        port=v.typed("[serve]", "port", serve_raw.get("port", 8080), int),
        token=None if token is None else v.typed("[serve]", "token", token, str),
    )
    if not 0 <= serve.port <= 65535:
        v.fail("[serve]", "port", f"{serve.port} is not a port number")
    outlets_raw = raw.get("outlets", [])
    if not isinstance(outlets_raw, list):
        v.fail("top level", "outlets", "must be an array of tables ([[outlets]])")
    outlets: list[Outlet] = []
    seen: set[str] = set()
    for index, item in enumerate(outlets_raw):
        outlet = _outlet(v, item, index)
        if outlet.name.casefold() in seen:
            v.fail(f"outlet {outlet.name!r}", "name", "duplicate outlet name")
        seen.add(outlet.name.casefold())
        outlets.append(outlet)
    return Settings(
        source=source,
        archive=archive,
        fetch=fetch,
        extract=extract,
        dedup=dedup,
        serve=serve,
        outlets=tuple(outlets),
    )


_T = TypeVar("_T")


class _Validator:
    """Small helpers that turn a bad value into one ConfigError line."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, where: str, key: str, why: str) -> None:
        raise ConfigError(f"{self.source}: {where}: key {key!r}: {why}")

    def unknown_keys(self, table: Mapping[str, Any], allowed: set[str], *, where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError(f"{self.source}: {where}: unknown key {key!r} (known: {known})")

    def table(self, raw: Mapping[str, Any], key: str, *, where: str) -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.fail(where, key, "must be a table")
        return value  # type: ignore[no-any-return]

    def convert(self, where: str, key: str, value: object, parse: Callable[[object], _T]) -> _T:
        try:
            return parse(value)
        except ValueError as exc:
            raise ConfigError(f"{self.source}: {where}: key {key!r}: {exc}") from None

    def typed(self, where: str, key: str, value: object, kind: type[_T]) -> _T:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(where, key, f"must be a {kind.__name__}, got {value!r}")
        return value  # type: ignore[return-value]

    def string_list(self, where: str, key: str, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            self.fail(where, key, "must be a list of strings")
        return tuple(value)  # type: ignore[arg-type]

    def url(self, where: str, key: str, value: object) -> str:
        text = self.typed(where, key, value, str).strip()
        try:
            parts = urlsplit(text)
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:
            port_ok = False
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            self.fail(where, key, f"bad URL {text!r} (need an absolute http(s) URL)")
        if any(c.isspace() or c == "\x00" for c in text):
            self.fail(where, key, f"bad URL {text!r} (contains whitespace or NUL)")
        return text


def _archive(v: _Validator, raw: Mapping[str, Any]) -> ArchiveSettings:
    where = "[archive]"
    v.unknown_keys(raw, {"dir", "prefix", "rotate_size", "catalog"}, where=where)
    d = ArchiveSettings()
    directory = d.dir
    if "dir" in raw:
        text = v.typed(where, "dir", raw["dir"], str)
        if not text or "\x00" in text:
            v.fail(where, "dir", "must be a non-empty path")
        directory = Path(text).expanduser()
    if not directory.is_absolute():
        directory = Path(os.path.normpath(v.source.parent / directory))
    prefix = raw.get("prefix", d.prefix)
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        v.fail(where, "prefix", f"{prefix!r} must be 1-40 of [A-Za-z0-9_-], starting alphanumeric")
    rotate = v.convert(where, "rotate_size", raw.get("rotate_size", d.rotate_size), parse_size)
    catalog = None
    if "catalog" in raw:
        catalog = v.typed(where, "catalog", raw["catalog"], str).strip()
        if not catalog or any(c in catalog for c in "\r\n\x00"):
            v.fail(where, "catalog", "must be a PostgreSQL URL or a file path")
        try:
            check_catalog_url(catalog)
        except ConfigError as exc:
            v.fail(where, "catalog", str(exc))
        if not is_postgres(catalog):
            path = Path(catalog.removeprefix("sqlite://")).expanduser()
            catalog = str(path if path.is_absolute() else v.source.parent / path)
    return ArchiveSettings(dir=directory, prefix=prefix, rotate_size=rotate, catalog=catalog)


def _fetch(v: _Validator, raw: Mapping[str, Any]) -> FetchSettings:
    where = "[fetch]"
    d = FetchSettings()
    v.unknown_keys(raw, set(FetchSettings.__dataclass_fields__), where=where)
    ua = v.typed(where, "user_agent", raw.get("user_agent", d.user_agent), str).strip()
    if not ua or any(c in ua for c in "\r\n\x00"):
        v.fail(where, "user_agent", "must be one non-empty line")
    redirects = v.typed(where, "max_redirects", raw.get("max_redirects", d.max_redirects), int)
    if not 0 <= redirects <= 30:
        v.fail(where, "max_redirects", "must be between 0 and 30")
    hosts = v.string_list(where, "allow_hosts", raw.get("allow_hosts", []))
    delay = raw.get("per_host_delay", d.per_host_delay)
    bounded = {
        key: v.typed(where, key, raw.get(key, getattr(d, key)), int)
        for key in ("per_host_connections", "workers", "processes", "retries")
    }
    for key, (low, high) in {
        "per_host_connections": (1, 16),
        "workers": (1, 256),
        "processes": (1, 64),
        "retries": (0, 10),
    }.items():
        if not low <= bounded[key] <= high:
            v.fail(where, key, f"must be between {low} and {high}")
    return FetchSettings(
        per_host_connections=bounded["per_host_connections"],
        workers=bounded["workers"],
        processes=bounded["processes"],
        retries=bounded["retries"],
        retry_delay=v.convert(
            where, "retry_delay", raw.get("retry_delay", d.retry_delay), parse_duration
        ),
        user_agent=ua,
        # zero is a valid delay (tests, your own servers); parse_duration wants positive
        per_host_delay=0.0
        if delay in (0, "0", "0s")
        else v.convert(where, "per_host_delay", delay, parse_duration),
        timeout=v.convert(where, "timeout", raw.get("timeout", d.timeout), parse_duration),
        deadline=v.convert(where, "deadline", raw.get("deadline", d.deadline), parse_duration),
        max_page_bytes=v.convert(
            where, "max_page_bytes", raw.get("max_page_bytes", d.max_page_bytes), parse_size
        ),
        max_redirects=redirects,
        respect_robots=v.typed(
            where, "respect_robots", raw.get("respect_robots", d.respect_robots), bool
        ),
        allow_private_networks=v.typed(
            where,
            "allow_private_networks",
            raw.get("allow_private_networks", d.allow_private_networks),
            bool,
        ),
        allow_hosts=tuple(h.strip().lower() for h in hosts),
        oversize=_choice(v, where, "oversize", raw.get("oversize", d.oversize), OVERSIZE),
    )


def _extract(v: _Validator, raw: Mapping[str, Any]) -> ExtractSettings:
    where = "[extract]"
    v.unknown_keys(raw, set(ExtractSettings.__dataclass_fields__), where=where)
    budget_raw = raw.get("budget", 20)
    # "off" runs extraction in-process with no budget (benchmarks; trusted input only).
    budget = None if budget_raw == "off" else v.convert(where, "budget", budget_raw, parse_duration)
    minimum = v.typed(where, "template_min_articles", raw.get("template_min_articles", 3), int)
    if not 2 <= minimum <= 1000:
        v.fail(where, "template_min_articles", "must be between 2 and 1000")
    cache_raw = raw.get("template_cache", ExtractSettings.template_cache)
    cache = v.typed(where, "template_cache", cache_raw, int)
    if not 0 <= cache <= 100_000_000:
        v.fail(where, "template_cache", "must be between 0 and 100000000")

    def path(key: str, default: str, *, is_dir: bool) -> Path:
        if key not in raw:
            # Not named: next to the config file if it is there, else the shipped default.
            beside = v.source.parent / default
            return beside if beside.exists() else default_config_dir() / default
        text = v.typed(where, key, raw[key], str)
        resolved = Path(os.path.normpath(v.source.parent / Path(text).expanduser()))
        if not (resolved.is_dir() if is_dir else resolved.is_file()):
            v.fail(where, key, f"{'folder' if is_dir else 'file'} not found: {resolved}")
        return resolved

    return ExtractSettings(
        budget=budget,
        wires=path("wires", "wires.toml", is_dir=False),
        boilerplate=path("boilerplate", "boilerplate", is_dir=True),
        template_min_articles=minimum,
        template_cache=cache,
    )


OVERSIZE = ("refuse", "truncate")
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers that describe the message, not the client: an outlet may not set them.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding", "cookie"}
)


def _choice(v: _Validator, where: str, key: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        v.fail(where, key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _pairs(v: _Validator, where: str, key: str, value: object) -> tuple[tuple[str, str], ...]:
    """A table of header (or cookie) names to values, validated so nothing can smuggle a line
    break into a request."""
    if not isinstance(value, dict):
        v.fail(where, key, "must be a table of name = value")
    pairs = []
    for name, text in value.items():  # type: ignore[attr-defined]
        if not isinstance(text, str) or any(c in text for c in "\r\n\x00"):
            v.fail(where, key, f"{name!r}: value must be one line of text")
        if not _TOKEN_RE.match(name) or (key == "headers" and name.lower() in _RESERVED_HEADERS):
            v.fail(where, key, f"{name!r} is not an allowed name")
        pairs.append((str(name), str(text)))
    return tuple(pairs)


def _outlet(v: _Validator, raw: object, index: int) -> Outlet:
    if not isinstance(raw, dict):
        raise ConfigError(f"{v.source}: outlets[{index}]: must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{v.source}: outlets[{index}]: key 'name': missing or empty")
    where = f"outlet {name!r}"
    if (
        not _NAME_RE.match(name)
        or not name.isprintable()
        or name.strip() != name
        or name.startswith(".")
    ):
        v.fail(where, "name", "must be 1-100 printable characters, no slashes, no leading dot")
    v.unknown_keys(raw, set(Outlet.__dataclass_fields__), where=where)
    if "home" not in raw:
        v.fail(where, "home", "missing (the outlet's home page URL)")

    def urls(key: str) -> tuple[str, ...]:
        return tuple(v.url(where, key, u) for u in v.string_list(where, key, raw.get(key, [])))

    def patterns(key: str) -> tuple[str, ...]:
        found = v.string_list(where, key, raw.get(key, []))
        for pattern in found:
            try:
                re.compile(pattern)
            except re.error as exc:
                v.fail(where, key, f"bad regular expression {pattern!r}: {exc}")
        return found

    def duration(key: str) -> float | None:
        return v.convert(where, key, raw[key], parse_duration) if key in raw else None

    poll_min, poll_max = duration("poll_min"), duration("poll_max")
    if poll_min is not None and poll_max is not None and poll_min > poll_max:
        v.fail(where, "poll_min", "must not be larger than poll_max")
    return Outlet(
        name=name,
        home=v.url(where, "home", raw["home"]),
        feeds=urls("feeds"),
        sitemaps=urls("sitemaps"),
        sections=urls("sections"),
        section_include=patterns("section_include"),
        section_exclude=patterns("section_exclude"),
        poll_every=v.convert(where, "poll_every", raw.get("poll_every", 900), parse_duration),
        poll_min=poll_min,
        poll_max=poll_max,
        headers=_pairs(v, where, "headers", raw.get("headers", {})),
        cookies=_pairs(v, where, "cookies", raw.get("cookies", {})),
        wire=v.typed(where, "wire", raw.get("wire", False), bool),
        aliases=tuple(a.strip() for a in v.string_list(where, "aliases", raw.get("aliases", []))),
    )
