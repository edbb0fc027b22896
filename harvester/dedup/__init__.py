"""Deduplication and provenance: fingerprints, the candidate index, stories and originals."""
