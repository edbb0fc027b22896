"""robots.txt parsing and matching (RFC 9309), pure: no I/O, no network, no module-level state.

Contract:

* ``parse_robots(body, user_agent)`` reads the first ``ROBOTS_MAX_BYTES`` octets of a robots.txt
  and returns the ``RobotsRules`` that apply to our product token: the merged groups naming it
  (case-insensitively), else the merged ``*`` groups, else allow-all.
* ``rules_for_status(status, body, user_agent)`` maps the HTTP outcome of fetching robots.txt to
  rules (RFC 9309 2.3.1): 2xx parses the body, 3xx (redirects were not resolved within the
  fetcher's limit) and 4xx allow everything, 429 and 5xx disallow everything, anything else
  disallows everything.
* ``RobotsRules.allowed(url)`` judges the path and query of an absolute URL or of a bare
  ``/path?query``: the longest matching pattern (in octets) wins, ``allow`` wins a tie, no match
  means allowed, and ``/robots.txt`` itself is always allowed.  ``*`` matches any run of
  characters and a trailing ``$`` anchors the pattern at the end of the path.  Patterns and paths
  are compared after percent-encoding normalisation, so ``/caf%C3%A9``, ``/caf%c3%a9`` and
  ``/café`` are the same path, and so are ``%7E`` and ``~``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "ALLOW_ALL",
    "DISALLOW_ALL",
    "ROBOTS_MAX_BYTES",
    "RobotsRules",
    "parse_robots",
    "product_token",
    "rules_for_status",
]

ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least the first 500 KiB; ignore the rest

_ROBOTS_PATH = "/robots.txt"

# A %XX escape, or any character that may not stand literally in the canonical form: everything
# except unreserved characters and the reserved ones whose literal and escaped forms differ in
# meaning (RFC 3986 2.2).  "*" and "$" are left out on purpose: inside a pattern they are
# operators, so their literal occurrences in a path (and "%2A"/"%24" in a pattern) must meet as
# escapes (RFC 9309 2.2.3).
_NEEDS_CANONICAL = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~:/?#\[\]@!&'()+,;=]")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_EOL = re.compile(r"\r\n|\r|\n")

_GROUP_KEY = "user-agent"
_RULE_KEYS = frozenset({"allow", "disallow", "crawl-delay"})


def _canonical_escape(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 3:
        byte = int(text[1:], 16)
        char = chr(byte)
        return char if char in _UNRESERVED else f"%{byte:02X}"
    # surrogatepass: a caller-built URL may carry lone surrogates; they must not raise here.
    return "".join(f"%{b:02X}" for b in text.encode("utf-8", "surrogatepass"))


def _canonical(text: str) -> str:
    """Return ``text`` with equivalent percent-encodings collapsed to one spelling."""
    return _NEEDS_CANONICAL.sub(_canonical_escape, text)


@dataclass(frozen=True, slots=True)
class _Rule:
    allow: bool
    segments: tuple[str, ...]  # the canonical pattern split on "*"; never empty
    anchored: bool  # the pattern ended in "$"
    priority: int  # octets of the canonical pattern, "*" and "$" included

    def matches(self, path: str) -> bool:
        # Greedy leftmost search per segment is exact for "*"-only globs and stays linear-ish:
        # placing a segment as early as possible never removes a way to place the later ones.
        segments = self.segments
        first = segments[0]
        if not path.startswith(first):
            return False
        if len(segments) == 1:
            return not self.anchored or len(path) == len(first)
        pos = len(first)
        for segment in segments[1:-1]:
            found = path.find(segment, pos)
            if found < 0:
                return False
            pos = found + len(segment)
        last = segments[-1]
        if self.anchored:
            return path.endswith(last) and len(path) - len(last) >= pos
        return path.find(last, pos) >= 0


def _compile(pattern: str, *, allow: bool) -> _Rule:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    segments = tuple(_canonical(part) for part in body.split("*"))
    # A "$" anywhere but at the end is an ordinary character and is escaped by _canonical; count
    # "*" and a final "$" as the one octet each they are in the file.
    priority = sum(map(len, segments)) + len(segments) - 1 + int(anchored)
    return _Rule(allow=allow, segments=segments, anchored=anchored, priority=priority)


def _path_and_query(url: str) -> tuple[str, str]:
    """Split ``url`` into its raw path (never empty) and the path+query that rules judge."""
    if url.startswith("/"):
        # A bare path, even "//x": urlsplit would read that as a host, but callers hand us either
        # an absolute URL or the path they are about to request, never a scheme-relative URL.
        path_query = url.split("#", 1)[0]
        path = path_query.split("?", 1)[0]
        return path, path_query
    parts = urlsplit(url)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path, f"{path}?{parts.query}" if parts.query else path


@dataclass(frozen=True, kw_only=True)
class RobotsRules:
    """The rules of one robots.txt that apply to one user agent."""

    allow: tuple[str, ...]
    disallow: tuple[str, ...]
    crawl_delay: float | None = None
    # Compiled once per instance: allowed() is called for every URL of a host.
    _rules: tuple[_Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.crawl_delay is not None and not (
            math.isfinite(self.crawl_delay) and self.crawl_delay >= 0
        ):
            raise ValueError(f"crawl_delay must be a finite number >= 0, not {self.crawl_delay!r}")
        # Empty patterns match nothing (RFC 9309 2.2.2: an empty disallow disallows nothing).
        compiled = [_compile(p, allow=True) for p in self.allow if p]
        compiled += [_compile(p, allow=False) for p in self.disallow if p]
        # Highest priority first, allow before disallow on a tie: the first match decides.
        compiled.sort(key=lambda rule: (-rule.priority, not rule.allow))
        object.__setattr__(self, "allow", tuple(self.allow))
        object.__setattr__(self, "disallow", tuple(self.disallow))
        object.__setattr__(self, "_rules", tuple(compiled))

    def allowed(self, url: str) -> bool:
        """Return whether these rules let us fetch ``url`` (absolute, or a path with a query).

        Only the path and query are judged; scheme, host and fragment are ignored.  A string that
        starts with "/" is always taken as a path, so "//x" is the path "//x", not the host "x".
        """
        path, path_query = _path_and_query(url)
        if _canonical(path) == _ROBOTS_PATH:
            return True
        target = _canonical(path_query)
        for rule in self._rules:
            if rule.matches(target):
                return rule.allow
        return True


ALLOW_ALL = RobotsRules(allow=(), disallow=())
DISALLOW_ALL = RobotsRules(allow=(), disallow=("/",))


def product_token(user_agent: str) -> str:
    """Return the lower-cased product token of a User-Agent string.

    It is the first product of the string without its version: ``"harvester/0.1 (+https://...)"``
    gives ``"harvester"``.  An empty or blank string gives ``""``, which matches no named group.
    """
    words = user_agent.split(maxsplit=1)
    if not words:
        return ""
    return words[0].split("/", 1)[0].lower()


def _decode(body: bytes | str) -> str:
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) > ROBOTS_MAX_BYTES:
        raw = raw[:ROBOTS_MAX_BYTES]
        # Drop the line the cut went through: a half-read "Disallow: /private" would turn into
        # "Disallow: /pri" and block more than the site asked for.
        last_eol = max(raw.rfind(b"\n"), raw.rfind(b"\r"))
        raw = raw[: last_eol + 1]
    return raw.decode("utf-8-sig", errors="replace")


@dataclass
class _Group:
    agents: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    disallow: list[str] = field(default_factory=list)
    crawl_delays: list[float] = field(default_factory=list)


def _parse_crawl_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


def _parse_groups(text: str) -> list[_Group]:
    groups: list[_Group] = []
    current: _Group | None = None
    collecting_agents = False
    for line in _EOL.split(text):
        key, sep, value = line.split("#", 1)[0].partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key == _GROUP_KEY:
            # Consecutive user-agent lines share one group; one after a rule starts a new group.
            if current is None or not collecting_agents:
                current = _Group()
                groups.append(current)
                collecting_agents = True
            current.agents.append(product_token(value))
        elif key in _RULE_KEYS:
            if current is None:
                continue  # rules before the first user-agent line belong to no group
            collecting_agents = False
            if key == "allow":
                current.allow.append(value)
            elif key == "disallow":
                current.disallow.append(value)
            else:
                delay = _parse_crawl_delay(value)
                if delay is not None:
                    current.crawl_delays.append(delay)
        # Other keys (sitemap, host, clean-param, typos) neither carry rules nor end a group.
    return groups


def parse_robots(body: bytes | str, user_agent: str) -> RobotsRules:
    """Return the rules of the robots.txt ``body`` that apply to ``user_agent``.

    ``user_agent`` may be the full User-Agent header; only its product token is compared.  Groups
    naming the token are merged; if none does, the ``*`` groups are merged; if there is neither,
    everything is allowed.  Only the first ``ROBOTS_MAX_BYTES`` octets are read and invalid UTF-8
    is replaced, never an error.
    """
    token = product_token(user_agent)
    groups = _parse_groups(_decode(body))
    chosen = [g for g in groups if token in g.agents] if token else []
    if not chosen:
        chosen = [g for g in groups if "*" in g.agents]
    if not chosen:
        return ALLOW_ALL
    delays = [d for g in chosen for d in g.crawl_delays]
    return RobotsRules(
        allow=tuple(dict.fromkeys(p for g in chosen for p in g.allow if p)),
        disallow=tuple(dict.fromkeys(p for g in chosen for p in g.disallow if p)),
        # The most cautious delay any applicable group asks for.
        crawl_delay=max(delays) if delays else None,
    )


def rules_for_status(status: int, body: bytes, user_agent: str) -> RobotsRules:
    """Return the rules implied by fetching robots.txt with HTTP ``status`` and ``body``.

    RFC 9309 2.3.1: 2xx parses ``body``; 4xx ("unavailable") allows everything; 5xx
    ("unreachable") disallows everything.  3xx means the fetcher gave up following redirects,
    which 2.3.1.2 treats as unavailable, so everything is allowed.  429 is the exception among
    4xx: the server asks us to slow down, and crawling the whole site would be the opposite, so
    it is treated like 5xx (as Google does).  Any other status is unknown and disallows.
    """
    if 200 <= status <= 299:
        return parse_robots(body, user_agent)
    if status == 429:
        return DISALLOW_ALL
    if 300 <= status <= 499:
        return ALLOW_ALL
    return DISALLOW_ALL
