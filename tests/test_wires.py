"""The wire registry (config/wires.toml, harvester.extract.wires) and registrable domains."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from harvester.errors import ConfigError
from harvester.extract.domains import host_of, registrable_domain, same_site
from harvester.extract.wires import WIRES_FILE, Wire, WireRegistry, normalize_name

SHIPPED = Path(__file__).resolve().parents[1] / "config" / WIRES_FILE

# name -> (aliases that must resolve, domains that must be registered)
REQUIRED = {
    "Associated Press": (["AP", "The Associated Press"], ["apnews.com", "ap.org"]),
    "Reuters": (["Thomson Reuters"], ["reuters.com"]),
    "Agence France-Presse": (["AFP"], ["afp.com"]),
    "RIA Novosti": (["RIA", "РИА Новости"], ["ria.ru"]),
    "TASS": (["ITAR-TASS", "ТАСС"], ["tass.com", "tass.ru"]),
    "Xinhua": (["Xinhua News Agency"], ["xinhuanet.com", "news.cn"]),
    "dpa": (["Deutsche Presse-Agentur"], ["dpa.com"]),
    "EFE": (["Agencia EFE"], ["efe.com"]),
    "ANSA": ([], ["ansa.it"]),
    "Anadolu Agency": (["AA", "Anadolu"], ["aa.com.tr"]),
    "Kyodo": (["Kyodo News"], ["kyodonews.net"]),
    "Yonhap": (["Yonhap News Agency"], ["yna.co.kr"]),
    "PA Media": (["Press Association", "PA"], ["pamediagroup.com"]),
    "UPI": (["United Press International"], ["upi.com"]),
    "Sputnik": ([], ["sputniknews.com"]),
    "Bloomberg": ([], ["bloomberg.com"]),
    "ANI": ([], ["aninews.in"]),
    "PTI": (["Press Trust of India"], ["ptinews.com"]),
    "Interfax": ([], ["interfax.ru"]),
    "Ukrinform": ([], ["ukrinform.net"]),
    "KCNA": (["Korean Central News Agency"], ["kcna.kp"]),
}


@pytest.fixture(scope="module")
def registry() -> WireRegistry:
    return WireRegistry.load(SHIPPED)


def test_shipped_registry_has_every_required_wire(registry: WireRegistry) -> None:
    names = {w.name for w in registry.wires}
    assert set(REQUIRED) <= names, set(REQUIRED) - names
    for name, (aliases, domains) in REQUIRED.items():
        wire = registry.resolve(name)
        assert wire is not None and wire.name == name
        for alias in aliases:
            assert registry.resolve(alias) is wire, alias
        for domain in domains:
            assert domain in wire.domains, (name, domain)
            assert registry.by_domain(domain) is wire, domain


def test_resolve_ignores_case_punctuation_and_the(registry: WireRegistry) -> None:
    ap = registry.resolve("Associated Press")
    assert ap is not None
    for spelling in ("the associated press", "  THE  Associated   Press ", "A.P.", "ap"):
        assert registry.resolve(spelling) is ap, spelling
    ria = registry.resolve("RIA Novosti")
    assert registry.resolve("RIA-Novosti") is ria
    assert registry.resolve("риа новости") is ria
    assert registry.resolve("itar tass") is registry.resolve("TASS")
    assert registry.resolve("Associated Pressure") is None
    assert registry.resolve("") is None


def test_resolve_written_keeps_short_aliases_to_capitals(registry: WireRegistry) -> None:
    assert registry.resolve_written("AP") is registry.resolve("Associated Press")
    assert registry.resolve_written("AA") is registry.resolve("Anadolu Agency")
    assert registry.resolve_written("PA") is registry.resolve("PA Media")
    for lower in ("ap", "Ap", "aa", "pa", "Pa"):
        assert registry.resolve_written(lower) is None, lower
    # longer names keep case-insensitive matching
    assert registry.resolve_written("reuters") is registry.resolve("Reuters")
    assert registry.resolve_written("DPA") is registry.resolve("dpa")


def test_by_domain_uses_registrable_domain(registry: WireRegistry) -> None:
    assert registry.by_domain("https://en.rian.ru/world/20080722/1.html") is registry.resolve("RIA")
    assert registry.by_domain("WWW.APNEWS.COM:443") is registry.resolve("AP")
    assert registry.by_domain("https://www.yna.co.kr/view/x") is registry.resolve("Yonhap")
    assert registry.by_domain("https://www.aa.com.tr/en/x") is registry.resolve("Anadolu")
    assert registry.by_domain("https://english.news.cn/x") is registry.resolve("Xinhua")
    assert registry.by_domain("https://co.tr/") is None
    assert registry.by_domain("https://example.org/") is None
    assert registry.by_domain("") is None


def test_names_pattern(registry: WireRegistry) -> None:
    pattern = registry.names_pattern()
    assert pattern.fullmatch("ITAR-TASS")
    assert pattern.fullmatch("the associated press")
    assert pattern.fullmatch("AP")
    assert not pattern.fullmatch("ap")
    m = pattern.search("Filed by Associated Press 22 July")
    assert m is not None and m.group(0) == "Associated Press"
    assert not pattern.search("a happy apple and a pavement")


def test_direct_construction_first_wins() -> None:
    one = Wire(name="One", aliases=("Same",), domains=("one.example",))
    two = Wire(name="Two", aliases=("Same",), domains=("one.example",))
    reg = WireRegistry(wires=(one, two))
    assert reg.resolve("same") is one
    assert reg.by_domain("www.one.example") is one
    assert reg.resolve("two") is two
    assert WireRegistry().resolve("anything") is None


def test_registry_pickles(registry: WireRegistry) -> None:
    # extraction runs in worker processes: the registry crosses a process boundary
    copy = pickle.loads(pickle.dumps(registry))  # noqa: S301 (our own bytes)
    assert copy == registry
    assert copy.resolve("AP") == registry.resolve("AP")
    assert copy.names_pattern().pattern == registry.names_pattern().pattern


def test_normalize_name() -> None:
    assert normalize_name("The Associated Press") == "associated press"
    assert normalize_name("RIA-Novosti") == "ria novosti"
    assert normalize_name("A.P.") == "ap"
    assert normalize_name("The") == "the"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[[wires]]\nname = "X"\nurl = "y"\n', "wire 'X': unknown key 'url'"),
        ('[[wires]]\naliases = ["Y"]\n', "wires[0]: key 'name': missing or empty"),
        ('[[wires]]\nname = "  "\n', "wires[0]: key 'name'"),
        ('[[wires]]\nname = "X"\naliases = "A"\ndomains = 3\n', "wire 'X': key 'domains'"),
        ('[[wires]]\nname = "X"\naliases = [1]\n', "wire 'X': key 'aliases'"),
        ('[[wires]]\nname = "X"\ndomains = ["https://x.example/"]\n', "wire 'X': key 'domains'"),
        ('[[wires]]\nname = "X"\ndomains = ["www.x.example"]\n', "wire 'X': key 'domains'"),
        (
            '[[wires]]\nname = "X"\naliases = ["Same"]\n'
            '[[wires]]\nname = "Y"\naliases = ["same"]\n',
            "wire 'Y': key 'aliases': 'same' already names wire 'X'",
        ),
        (
            '[[wires]]\nname = "X"\n[[wires]]\nname = "the x"\n',
            "wire 'the x': key 'name'",
        ),
        (
            '[[wires]]\nname = "X"\ndomains = ["x.ru"]\n'
            '[[wires]]\nname = "Y"\ndomains = ["x.ru"]\n',
            "wire 'Y': key 'domains': 'x.ru' already belongs to wire 'X'",
        ),
        ("wires = 3\n", "top level: key 'wires'"),
        ("[[wires]]\nname = 'X'\n[other]\n", "top level: unknown key 'other'"),
        ("wires = [1]\n", "wires[0]: must be a table"),
        ("[[wires]\n", "invalid TOML"),
    ],
)
def test_registry_errors_are_one_line(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / WIRES_FILE
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        WireRegistry.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wires file not found"):
        WireRegistry.load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.Example.COM", "example.com"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("bbc.co.uk.", "bbc.co.uk"),
        ("en.rian.ru:8080", "rian.ru"),
        ("www.aa.com.tr", "aa.com.tr"),
        ("english.kyodonews.net", "kyodonews.net"),
        ("www.abc.net.au", "abc.net.au"),
        ("a.b.example.gov.pl", "example.gov.pl"),
        ("www.yna.co.kr", "yna.co.kr"),
        ("example.com", "example.com"),
        ("localhost", "localhost"),
        ("127.0.0.2", "127.0.0.2"),
        ("127.0.0.2:8080", "127.0.0.2"),
        ("[::1]:8443", "::1"),
        ("::1", "::1"),
        ("", ""),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


def test_host_of_and_same_site() -> None:
    assert host_of("https://User@Sub.Example.com:8080/x?y") == "sub.example.com"
    assert host_of("Example.com:80/path") == "example.com"
    assert host_of("http://[::1]:80/") == "::1"
    assert same_site("https://www.example.com/a", "http://news.example.com/b")
    assert same_site("https://news.bbc.co.uk/a", "https://www.bbc.co.uk/b")
    assert not same_site("https://a.co.uk/", "https://b.co.uk/")
    assert not same_site("https://example.com/", "https://example.org/")
    assert not same_site("", "")
