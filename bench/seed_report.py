"""The seed page through the whole pipeline: what is kept, what is removed, what is evidence.

Serves the seed article (read at run time from ../shared/seeds, never copied into the repo) in
an ordinary news template on 127.0.0.2, harvests it with a throwaway archive, and reports:
article paragraphs kept (of those in the seed), boilerplate lines left in the text, evidence
found, and the resolved original outlet.

Run from the repository root: ``.venv/bin/python bench/seed_report.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from mockserver import MockServer  # noqa: E402
from pages import seed_page, seed_paragraphs, seed_text  # noqa: E402

from harvester.config import ArchiveSettings, FetchSettings, Settings  # noqa: E402
from harvester.models import Archived, FetchRequest  # noqa: E402
from harvester.pipeline import Harvester  # noqa: E402

FURNITURE = (
    "Comment on Global Research Articles on our Facebook page",
    "Become a Member of Global Research",
    "Articles by:",
    "Disclaimer:",
    "fair use",
    "For media inquiries:",
)


def main() -> int:
    """Print the report; skip with a message where the seed is absent."""
    if seed_text() is None:
        print("seed not found (../shared/seeds): report skipped")
        return 0
    blocks = seed_paragraphs()
    first = next(i for i, b in enumerate(blocks) if "NOVO-OGARYOVO" in b)
    last = next(i for i, b in enumerate(blocks) if b.startswith("In line with the state"))
    article = blocks[first : last + 1]
    with tempfile.TemporaryDirectory() as tmp, MockServer("127.0.0.2") as server:
        server.route("/putin-venezuela", seed_page())
        settings = Settings(
            archive=ArchiveSettings(dir=Path(tmp)),
            fetch=FetchSettings(per_host_delay=0.0, allow_hosts=("127.0.0.2",)),
        )
        with Harvester(settings) as harvester:
            outcome = harvester.harvest(
                FetchRequest(url=server.url("/putin-venezuela"), outlet="Global Research")
            )
    if not isinstance(outcome, Archived):
        print(f"seed was not archived as an article: {outcome}")
        return 1
    record = outcome.record
    kept = [p for p in article if p in record.text.split("\n\n")]
    left = [f for f in FURNITURE if f in record.text]
    print("| measure | value |")
    print("|---|---|")
    print(f"| article paragraphs kept | {len(kept)} of {len(article)} |")
    print(f"| other blocks in text | {len(record.text.split(chr(10) * 2)) - len(kept)} |")
    print(f"| boilerplate lines left in text | {len(left)} of {len(FURNITURE)} {left or ''} |")
    for evidence in record.original.evidence:
        print(f"| evidence: {evidence.kind} | {evidence.source}: {evidence.text[:60]} |")
    print(f"| original.outlet | {record.original.outlet} (seen: {record.original.seen}) |")
    print(f"| is_original | {record.is_original} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
