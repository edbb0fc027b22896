"""harvester: scrape and archive syndicated wire stories, with clean text and provenance."""

from __future__ import annotations

__version__ = "0.1.0"
