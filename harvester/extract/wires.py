"""The registry of wire services (config/wires.toml): names, aliases and domains of each wire.

Contract:

* :meth:`WireRegistry.load` reads a ``[[wires]]`` TOML file (keys ``name``, ``aliases``,
  ``domains``; nothing else) and raises :class:`ConfigError` with one line naming the file, the
  wire and the key. A name, alias or domain may belong to one wire only.
* :meth:`WireRegistry.resolve` maps a name to its wire by exact match after
  :func:`normalize_name` (case, punctuation, whitespace and a leading "The" ignored).
  :meth:`WireRegistry.resolve_written` is the same for a name as printed on a page, except that
  one- and two-letter aliases ("AP", "AA", "PA") only count in capitals.
* :meth:`WireRegistry.by_domain` maps a URL or host to the wire owning its registrable domain.
* :meth:`WireRegistry.names_pattern` is a compiled regex matching any wire name or alias as
  printed (same case rules), for detectors that look for a wire name in a fixed position.

The registry is immutable; build it once and share it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harvester.errors import ConfigError
from harvester.extract.domains import host_of, registrable_domain

__all__ = ["SHORT_ALIAS_MAX", "WIRES_FILE", "Wire", "WireRegistry", "normalize_name"]

WIRES_FILE = "wires.toml"
# Why 2: "AP", "AA", "PA" are also ordinary words or abbreviations ("Pennsylvania", "Alcoholics
# Anonymous"); three-letter agency names (AFP, EFE, dpa, UPI) are not, in practice.
SHORT_ALIAS_MAX = 2

_WIRE_KEYS = frozenset({"name", "aliases", "domains"})
_DROP = re.compile(r"[.'’`\u00ad]")
_NON_WORD = re.compile(r"[\W_]+")
_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z]{2,63}$")


def normalize_name(name: str) -> str:
    """Matching key of a name: NFKC, case-folded, punctuation dropped, "the" prefix removed.

    ``"The Associated Press"`` -> ``"associated press"``; ``"RIA-Novosti"`` -> ``"ria novosti"``;
    ``"A.P."`` -> ``"ap"``.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _NON_WORD.sub(" ", _DROP.sub("", text)).strip()
    return text.removeprefix("the ") if text != "the" else text


def _is_capitals(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


@dataclass(frozen=True, kw_only=True)
class Wire:
    """A wire service: canonical ``name``, other ``aliases``, registrable ``domains``."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name followed by the aliases."""
        return (self.name, *self.aliases)


def _name_regex(name: str) -> str:
    tokens = [re.escape(t) for t in re.split(r"[\s\-‐‑–]+", name.strip()) if t]
    body = r"[\s\-‐‑–]+".join(tokens)
    key = normalize_name(name)
    # Short aliases must be printed in capitals (see SHORT_ALIAS_MAX); longer names in any case.
    return body if len(key.replace(" ", "")) <= SHORT_ALIAS_MAX else f"(?i:{body})"


@dataclass(frozen=True, kw_only=True)
class WireRegistry:
    """Known wire services, looked up by name, alias or domain. Immutable.

    Constructing one directly never fails: when two wires claim the same name or domain, the
    first wins (:meth:`load` rejects such files instead).
    """

    wires: tuple[Wire, ...] = ()
    _by_name: Mapping[str, Wire] = field(init=False, repr=False, compare=False)
    _by_domain: Mapping[str, Wire] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Wire] = {}
        by_domain: dict[str, Wire] = {}
        written: set[str] = set()
        for wire in self.wires:
            for name in wire.names:
                key = normalize_name(name)
                if key:
                    by_name.setdefault(key, wire)
                    written.add(name.strip())
            for domain in wire.domains:
                by_domain.setdefault(registrable_domain(domain), wire)
        # Longest first, so "Associated Press" wins over "AP" and "ITAR-TASS" over "TASS".
        alternatives = [_name_regex(n) for n in sorted(written, key=len, reverse=True) if n]
        pattern = r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)" if alternatives else r"(?!x)x"
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))
        object.__setattr__(self, "_by_domain", MappingProxyType(by_domain))
        object.__setattr__(self, "_pattern", re.compile(pattern))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by its wires alone (extraction runs in worker processes); indexes are rebuilt.
        return (partial(WireRegistry, wires=self.wires), ())

    @classmethod
    def load(cls, path: Path) -> WireRegistry:
        """Read and validate a wires file. Raises ConfigError (one line: file, wire, key)."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: wires file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read wires file: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        return cls.from_mapping(raw, source=path)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: Path) -> WireRegistry:
        """Validate an already-parsed wires document (see :meth:`load`)."""
        for key in raw:
            if key != "wires":
                raise ConfigError(f"{source}: top level: unknown key {key!r} (known: wires)")
        items = raw.get("wires", [])
        if not isinstance(items, list):
            raise ConfigError(f"{source}: top level: key 'wires': must be an array ([[wires]])")
        wires: list[Wire] = []
        owner_of_name: dict[str, str] = {}
        owner_of_domain: dict[str, str] = {}
        for index, item in enumerate(items):
            wire = _wire(item, index, source)
            where = f"{source}: wire {wire.name!r}"
            for key, name in [("name", wire.name)] + [("aliases", a) for a in wire.aliases]:
                norm = normalize_name(name)
                if norm in owner_of_name and owner_of_name[norm] != wire.name:
                    raise ConfigError(
                        f"{where}: key {key!r}: {name!r} already names wire {owner_of_name[norm]!r}"
                    )
                owner_of_name[norm] = wire.name
            for domain in wire.domains:
                if domain in owner_of_domain:
                    raise ConfigError(
                        f"{where}: key 'domains': {domain!r} already belongs to wire "
                        f"{owner_of_domain[domain]!r}"
                    )
                owner_of_domain[domain] = wire.name
            wires.append(wire)
        return cls(wires=tuple(wires))

    def resolve(self, name: str) -> Wire | None:
        """The wire called ``name`` (name or alias; case, punctuation, "The" ignored), or None."""
        return self._by_name.get(normalize_name(name))

    def resolve_written(self, name: str) -> Wire | None:
        """Like :meth:`resolve` for a name printed on a page: short aliases only in capitals."""
        wire = self.resolve(name)
        if wire is None:
            return None
        if len(normalize_name(name).replace(" ", "")) <= SHORT_ALIAS_MAX and not _is_capitals(name):
            return None
        return wire

    def by_domain(self, url_or_host: str) -> Wire | None:
        """The wire whose registrable domain is that of ``url_or_host``, or None."""
        domain = registrable_domain(host_of(url_or_host))
        return self._by_domain.get(domain) if domain else None

    def names_pattern(self) -> re.Pattern[str]:
        """A regex matching any wire name or alias as printed (short aliases in capitals only)."""
        return self._pattern


def _string_list(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key {key!r}: must be a list of strings")
    out = tuple(" ".join(v.split()) for v in value)
    if any(not normalize_name(v) for v in out):
        raise ConfigError(f"{where}: key {key!r}: empty or punctuation-only entry")
    return out


def _wire(raw: object, index: int, source: Path) -> Wire:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: wires[{index}]: must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not normalize_name(name):
        raise ConfigError(f"{source}: wires[{index}]: key 'name': missing or empty")
    where = f"{source}: wire {name!r}"
    if name != " ".join(name.split()) or any(ord(c) < 32 for c in name):
        raise ConfigError(f"{where}: key 'name': must be one line without surrounding spaces")
    for key in raw:
        if key not in _WIRE_KEYS:
            known = ", ".join(sorted(_WIRE_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r} (known: {known})")
    aliases = _string_list(raw.get("aliases", []), where, "aliases")
    domains = tuple(d.lower() for d in _string_list(raw.get("domains", []), where, "domains"))
    for domain in domains:
        if not _DOMAIN_RE.match(domain) or registrable_domain(domain) != domain:
            raise ConfigError(
                f"{where}: key 'domains': {domain!r} is not a registrable domain "
                "(write e.g. 'ria.ru', not 'https://en.ria.ru/' or 'www.ria.ru')"
            )
    return Wire(name=name, aliases=aliases, domains=domains)
