"""The public API: __all__ is complete and importable; fetch_url raises the documented errors."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from mockserver import MockServer
from pages import article_page, listing_page

import harvester
from harvester.config import Settings


def test_all_names_exist_and_are_public() -> None:
    for name in harvester.__all__:
        assert hasattr(harvester, name), name
    exported = {
        name
        for name, value in vars(harvester).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("harvester")
    }
    assert exported <= set(harvester.__all__), exported - set(harvester.__all__)


def test_every_module_imports_and_declares_all() -> None:
    root = Path(harvester.__file__).parent
    for path in root.rglob("*.py"):
        if path.name in ("__init__.py", "__main__.py", "version.py"):
            continue
        module = importlib.import_module(
            "harvester." + ".".join(path.relative_to(root).with_suffix("").parts)
        )
        assert hasattr(module, "__all__"), path
        for name in module.__all__:
            assert hasattr(module, name), f"{path}: {name}"


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    assert version("harvester") == harvester.__version__


def test_fetch_url_returns_record(server: MockServer, settings: Settings) -> None:
    server.route("/story", article_page())
    record = harvester.fetch_url(server.url("/story"), settings=settings, outlet="Courier")
    assert record.outlet == "Courier"
    assert record.is_original


def test_fetch_url_raises_typed_errors(server: MockServer, settings: Settings) -> None:
    server.route("/news", listing_page())
    with pytest.raises(harvester.NotAnArticleError):
        harvester.fetch_url(server.url("/news"), settings=settings)
    with pytest.raises(harvester.FetchError, match="HTTP 404"):
        harvester.fetch_url(server.url("/nothing"), settings=settings)
    with pytest.raises(harvester.RefusedError, match="robots"):
        harvester.fetch_url(server.url("/private/x"), settings=settings)
    assert issubclass(harvester.ArchiveLockedError, harvester.HarvesterError)


def test_fetch_url_from_a_script_without_a_main_guard(server: MockServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    server.route("/story", article_page())
    script = tmp_path / "plain_script.py"
    script.write_text(
        "from harvester import FetchSettings, Settings, fetch_url\n"
        "settings = Settings(fetch=FetchSettings(per_host_delay=0, allow_hosts=('127.0.0.2',)))\n"
        f"record = fetch_url({server.url('/story')!r}, settings=settings,\n"
        f"                   archive={str(tmp_path / 'a')!r})\n"
        "print('TITLE', record.title)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("TITLE Harbour authority") == 1  # the worker did not re-run it
