"""The Dockerfile: what it copies exists, and the command it runs works (no Docker engine here).

The image runs ``harvester run --archive /archive`` with HARVESTER_CONFIG pointing at the copied
config. These tests run that same command line from the installed package, with the config env
pointed at a local test config and --once, so the entry point is exercised end to end.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import outlet_config
from mockserver import MockServer
from pages import article_page, rss_feed

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    """The JSON (exec form) argument of the last ``name`` instruction."""
    matches = re.findall(rf"^{name}\s+(\[.*\])\s*$", DOCKERFILE, flags=re.M)
    assert matches, f"no exec-form {name} in Dockerfile"
    return list(json.loads(matches[-1]))


def test_image_runs_the_daemon_as_non_root_on_a_volume() -> None:
    assert instruction("ENTRYPOINT") == ["harvester"]
    assert instruction("CMD")[0] == "run"
    assert re.search(r"^USER\s+(?!0\b|root\b)\S+", DOCKERFILE, flags=re.M)
    assert '"/archive"' in DOCKERFILE.split("VOLUME", 1)[1].splitlines()[0]
    assert "HARVESTER_CONFIG=/etc/harvester/harvester.toml" in DOCKERFILE


def test_copied_paths_exist() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _dest = shlex.split(line)[1:]
            for source in sources:
                assert (REPO / source).exists(), source


def test_entrypoint_command_runs(server: MockServer, tmp_path: Path) -> None:
    server.route("/a", article_page())
    server.route("/rss.xml", rss_feed([("A", server.url("/a"))]))
    config = outlet_config(tmp_path, server, archive=None)
    archive = tmp_path / "archive"
    command = instruction("ENTRYPOINT") + instruction("CMD")
    # the image's paths, mapped to this machine
    args = [str(archive) if a == "/archive" else a for a in command[1:]]
    env = {**os.environ, "HARVESTER_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "harvester", *args, "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert list(archive.rglob("*.warc.gz"))
    assert len(server.requests_for("/a")) == 1
