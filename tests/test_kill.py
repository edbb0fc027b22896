"""Durability under SIGKILL (the slow tier): 20 trials of kill-at-a-random-moment + restart.

Each trial starts `harvester run --once` in a child process against a three-host local newsroom,
SIGKILLs it after a random 0.4-2.4 s, restarts it to completion, and checks: no article lost, no
finished article fetched again, every WARC file valid (`warcio check`) and closed, no two response
records for one URL and payload, and the catalog agreeing with the WARC files record by record.
bench/kill_trials.py runs the same trial 100 times.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from killtrial import check_archive, newsroom, run_trial

TRIALS = 20


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    failures = []
    kills_mid_run = 0
    with newsroom() as servers:
        for n in range(TRIALS):
            for srv in servers:
                with srv._lock:
                    srv.requests.clear()
            result = run_trial(tmp_path / f"trial-{n}", servers, rng)
            if 0 < result.archived_before_kill < 36:
                kills_mid_run += 1
            if result.problems:
                failures.append((n, result))
    assert not failures, failures
    # the trials must actually have interrupted work, not only killed idle or finished runs
    assert kills_mid_run >= 5, f"only {kills_mid_run} kills landed mid-run"


def test_check_archive_notices_a_catalog_row_without_its_record(tmp_path: Path) -> None:
    import sqlite3

    from harvester.catalog import CATALOG_NAME, SqliteCatalog

    archive = tmp_path / "archive"
    with SqliteCatalog(archive / CATALOG_NAME):
        pass
    db = sqlite3.connect(archive / CATALOG_NAME)
    db.execute(
        "INSERT INTO captures (url, fetched, status, record_type, payload_digest, file, offset,"
        " length, record_id) VALUES ('http://x/', 'now', 200, 'response', 'sha1:X',"
        " 'warc/none.warc.gz', 0, 10, '<urn:uuid:1>')"
    )
    db.commit()
    db.close()
    assert check_archive(archive) == ["catalog capture <urn:uuid:1> not at warc/none.warc.gz:0"]
