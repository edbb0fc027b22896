"""The hot candidate index: which recent docs share sampled shingles with a new text.

Contract. ``add(doc, samples, time)`` files a doc under its fingerprint samples (non-negative
ints below 2**63, as ``Fingerprint.samples``; duplicates are ignored); adding a doc id that is
already in the index replaces its entry (a re-fetched, updated article). ``query(samples)``
returns up to ``limit`` ``(doc, shared)`` pairs, ``shared`` being the number of distinct query
samples the doc holds, for docs with ``shared >= min_shared``, sorted by ``shared`` descending
then doc ascending; ``exclude`` leaves one doc out. ``evict_before(t)`` removes the docs whose
time is before ``t`` (they stay in the catalog). Docs are the caller's ints (the catalog's row
ids); the index never holds texts or fingerprints, only postings.

Layout (an LSM of sorted runs, numpy throughout, no Python object per posting):

* Docs get dense internal *slots* in insertion order; per slot arrays hold the doc id, its
  time and an alive flag (17 bytes a doc).
* New postings go to a small *buffer*: a dict ``hash -> [slot]`` (O(1) lookups) of at most
  ``BUFFER_POSTINGS`` postings, flushed into a sorted *segment*: parallel arrays of ``uint64``
  hashes (sorted) and ``uint32`` slots, 12 bytes a posting. A segment covers a contiguous slot
  range, and within one hash its postings are in slot (= insertion) order.
* Size-tiered merging: after each flush, two neighbouring segments are merged while the older
  is in the same or a lower size tier (``floor(log2(size / BUFFER_POSTINGS))``) and the result
  stays within ``MAX_SEGMENT_POSTINGS``, like a binary counter. Each posting is rewritten
  O(log(MAX_SEGMENT_POSTINGS / BUFFER_POSTINGS)) times, so ``add`` is amortised O(log n); a
  merge interleaves two sorted runs with one ``searchsorted`` (no full re-sort), and capped
  segments bound the memory a merge borrows (about 25 bytes per merged posting).
* Lookup per segment: ``np.searchsorted`` of the query hashes (and hash + 1) for segments below
  ``DIRECTORY_MIN_POSTINGS``; larger ones also keep a *directory* of bucket offsets by the top
  hash bits (about 8 postings a bucket, 0.5-1 byte a posting), so each query hash costs two
  cache misses instead of a binary search's ~20; buckets wider than 32 postings (a hash held
  by many docs) fall back to ``searchsorted`` inside the bucket.
* Eviction marks slots dead (queries filter them); dead postings are dropped physically when
  their segment is merged, when a segment is at least half dead, and when dead slots outnumber
  live ones the slots are renumbered (every segment rewritten once, amortised against the
  evictions that made it necessary). A segment wholly dead is simply dropped.

Complexity (n postings, S = O(log n) segments, Q query samples): ``query`` O(S * Q) numpy work
plus the matches (at most ``MAX_POSTINGS_PER_SAMPLE`` per hash per segment, newest first);
``add`` amortised O(Q log n); ``evict_before`` O(slots + rewritten postings), O(1) when
nothing is old enough: call it periodically, not per insert. Memory: about 13 bytes per
posting plus 29 per doc (1M docs x 40 samples ~ 560 MB).

Out of the heap: given a ``spill_dir``, a segment's postings (hashes and slots, the 12 bytes a
posting that the index grows with) are written to an unnamed temporary file there (created
unlinked, ``O_TMPFILE``-style via ``tempfile.TemporaryFile``, so nothing is left behind by a
crash) and mapped read-only. The kernel then holds them as page cache, reclaimable and
written back from the file, rather than as the process's anonymous memory; per-doc arrays (29
bytes a doc) and the buffer stay in the heap. Without ``spill_dir`` everything is in the heap.

Not thread-safe: one writer, no concurrent readers.
"""

from __future__ import annotations

import math
import operator
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from harvester.errors import archive_os_error

__all__ = ["CandidateIndex"]

_U64 = npt.NDArray[np.uint64]
_U32 = npt.NDArray[np.uint32]
_I64 = npt.NDArray[np.int64]
_SENTINEL = np.uint64(2**64 - 1)  # pads a segment's hashes; above every valid sample
# Why 32: directory buckets hold 4-8 postings on average; a uniform bucket exceeds 32 with odds
# of ~1e-10, so the in-bucket binary search only runs for hashes that many docs share.
_WINDOW = 32
_WINDOW_OFFSETS = np.arange(_WINDOW, dtype=np.intp)


def _padded(n: int) -> _U64:
    """An uninitialised hash array for ``n`` postings, with its ``_WINDOW`` sentinels set."""
    out = np.empty(n + _WINDOW, dtype=np.uint64)
    out[n:] = _SENTINEL
    return out


def _spilled(arr: npt.NDArray[Any], directory: Path) -> npt.NDArray[Any]:
    """``arr``'s contents in a read-only mapping of an unnamed temporary file in
    ``directory`` (the mapping keeps the file alive; closing our handle unlinks nothing
    because the file never had a name). A full disk raises ArchiveUnavailableError (the
    daemon pauses), any other failure ArchiveError; the index is unchanged either way."""
    try:
        with tempfile.TemporaryFile(dir=directory) as f:
            arr.tofile(f)
            f.flush()
            return np.memmap(f, dtype=arr.dtype, mode="r", shape=arr.shape)
    except OSError as exc:
        raise archive_os_error(f"cannot spill the candidate index to {directory}", exc) from exc


def _pad(hashes: _U64) -> _U64:
    out = _padded(len(hashes))
    out[: len(hashes)] = hashes
    return out


def _as_samples(samples: Sequence[int]) -> _U64:
    """Sorted unique samples as uint64; ValueError unless each is in ``[0, 2**63)``."""
    try:
        arr = np.asarray(samples, dtype=np.int64)
    except OverflowError as exc:
        raise ValueError("samples must be below 2**63") from exc
    if arr.ndim != 1:
        raise ValueError("samples must be a flat sequence of ints")
    if arr.size > 1 and not bool(np.all(arr[1:] > arr[:-1])):
        arr = np.unique(arr)
    if arr.size and arr[0] < 0:
        raise ValueError("samples must be non-negative")
    return arr.astype(np.uint64)


class _Segment:
    """An immutable sorted run: postings of the slots in ``[lo, hi)``."""

    __slots__ = (
        "dir",
        "doc_slots",
        "docs",
        "hashes",
        "hi",
        "lo",
        "n",
        "shift",
        "slots",
        "spilled",
    )

    def __init__(
        self,
        padded: _U64,
        slots: _U32,
        lo: int,
        hi: int,
        docs: _I64,
        *,
        directory_min: int,
        spill_dir: Path | None = None,
    ) -> None:
        """``padded``: the sorted hashes then ``_WINDOW`` sentinels (see ``_padded``), so a
        directory window never reads past the end. With ``spill_dir``, hashes and slots are
        kept in a mapped temporary file there instead of the heap."""
        self.n = len(slots)
        self.lo, self.hi = lo, hi
        # Whether the postings are in a mapped file rather than the heap.
        self.spilled = spill_dir is not None and self.n > 0
        if self.spilled:
            assert spill_dir is not None
            padded, slots = _spilled(padded, spill_dir), _spilled(slots, spill_dir)
        self.hashes = padded
        self.slots = slots
        hashes = padded[: self.n]
        # doc -> slot lookup for re-adds: the range's doc ids sorted, with their slots
        order = np.argsort(docs, kind="stable")
        self.docs = docs[order]
        self.doc_slots = (order + lo).astype(np.uint32)
        self.dir: npt.NDArray[np.uint32] | None = None
        self.shift = np.uint64(63)
        if self.n >= directory_min:
            bits = max((self.n // 4).bit_length() - 1, 0)  # 4-8 postings a bucket
            self.shift = np.uint64(63 - bits)
            bounds = np.arange(2**bits + 1, dtype=np.uint64) << self.shift
            self.dir = hashes.searchsorted(bounds).astype(np.uint32)

    @property
    def nbytes(self) -> int:
        """Bytes held in the heap (postings in a mapped file are not counted)."""
        extra = self.dir.nbytes if self.dir is not None else 0
        postings = 0 if self.spilled else self.hashes.nbytes + self.slots.nbytes
        return postings + self.docs.nbytes + self.doc_slots.nbytes + extra

    def lookup(self, q: _U64, bounds: _U64, cap: int, out: list[_U32]) -> None:
        """Append the slots holding each hash of ``q`` (the newest ``cap`` per hash);
        ``bounds`` is ``q`` followed by ``q + 1`` (one ``searchsorted`` finds both ends)."""
        if self.n == 0:
            return
        if self.dir is None:
            self._search(bounds, 0, self.n, cap=cap, out=out)
            return
        bucket = (q >> self.shift).astype(np.intp)
        lo = self.dir.take(bucket).astype(np.intp)
        hi = self.dir.take(bucket + 1).astype(np.intp)  # intp: widths never wrap
        window = lo[:, None] + _WINDOW_OFFSETS
        hit = self.hashes.take(window) == q[:, None]
        widths = hi - lo
        crowded = min(_WINDOW, cap)
        if widths.max() > crowded:  # a hash many docs share: search its whole bucket
            wide = np.flatnonzero(widths > crowded)
            hit[wide] = False
            k = len(q)
            for i in wide.tolist():
                a, b = int(lo[i]), int(hi[i])
                self._search(bounds[[i, k + i]], a, b, cap=cap, out=out)
        positions = window[hit]
        if positions.size:
            out.append(self.slots.take(positions))

    def _search(self, bounds: _U64, a: int, b: int, *, cap: int, out: list[_U32]) -> None:
        """``lookup`` by binary search within postings ``[a, b)``."""
        k = len(bounds) // 2
        found = self.hashes[a:b].searchsorted(bounds)
        first, last = found[:k], found[k:]
        for i in np.flatnonzero(last > first).tolist():
            end = a + int(last[i])
            out.append(self.slots[max(a + int(first[i]), end - cap) : end])

    def find(self, doc: int) -> list[int]:
        """Slots of ``doc`` in this segment (a re-added doc has more than one)."""
        i = int(self.docs.searchsorted(doc))
        found: list[int] = []
        while i < len(self.docs) and int(self.docs[i]) == doc:
            found.append(int(self.doc_slots[i]))
            i += 1
        return found


class CandidateIndex:
    """In-memory candidate lookup by shared samples over a sliding window of docs."""

    # Why 65,536: buffer lookups are dict hits whatever its size, so a larger buffer means
    # fewer small segments to search; it is ~1,600 docs and ~10 MB of Python objects at most.
    BUFFER_POSTINGS: ClassVar[int] = 1 << 16
    # Why 8M postings (~100 MB): merges stop there, so a merge never borrows more than ~200 MB;
    # 1M docs x 40 samples then make about five capped segments plus a few smaller ones.
    MAX_SEGMENT_POSTINGS: ClassVar[int] = 1 << 23
    # Why 1.5M (measured, 40 hashes): a binary search costs ~13 µs at 1M postings against the
    # directory's ~18 µs of numpy calls, ~35 µs against ~20 µs at 4M, ~49 against ~20 at 8M;
    # merged segments sit just below powers of two, so the 2M tier and above get directories.
    DIRECTORY_MIN_POSTINGS: ClassVar[int] = 1_500_000
    # Why 512: a sample held by more docs than this in one segment is boilerplate or a
    # mass-syndicated story; its newest 512 holders are enough to reach the story, and the cap
    # bounds one query's work at Q x segments x 512 slots.
    MAX_POSTINGS_PER_SAMPLE: ClassVar[int] = 512

    def __init__(self, *, spill_dir: Path | None = None) -> None:
        """``spill_dir``: keep segment postings in mapped temporary files there (see the module
        doc); None keeps them in the heap."""
        if spill_dir is not None and not spill_dir.is_dir():
            raise ValueError(f"spill_dir is not a folder: {spill_dir}")
        self._spill_dir = spill_dir
        capacity = 1024
        self._docs = np.zeros(capacity, dtype=np.int64)
        self._times = np.zeros(capacity, dtype=np.float64)
        self._alive = np.zeros(capacity, dtype=np.bool_)
        self._n_slots = 0
        self._n_live = 0
        self._max_doc: int | None = None
        self._oldest = math.inf  # a lower bound on live docs' times
        self._segments: list[_Segment] = []
        # the buffer: slots [_buffer_lo, _n_slots)
        self._buffer_lo = 0
        self._buffer: dict[int, list[int]] = {}
        self._buffer_docs: dict[int, int] = {}
        self._pending: list[_U64] = []
        self._pending_slots: list[int] = []
        self._pending_postings = 0

    # -- public API -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Live docs in the index."""
        return self._n_live

    def add(self, doc: int, samples: Sequence[int], time: float) -> None:
        """File ``doc`` (published/fetched at epoch seconds ``time``) under ``samples``."""
        doc = operator.index(doc)
        if not -(2**63) <= doc < 2**63:
            raise ValueError("doc ids must fit in 64 bits")
        time = float(time)
        if math.isnan(time):
            raise ValueError("time must not be NaN")
        hashes = _as_samples(samples)
        if self._max_doc is not None and doc <= self._max_doc:
            self._remove(doc)
        else:
            self._max_doc = doc
        if (
            self._pending_postings + hashes.size > self.BUFFER_POSTINGS
            or len(self._buffer_docs) >= self.BUFFER_POSTINGS // 8
        ):
            self._flush()  # first, so flushed segments stay within BUFFER_POSTINGS
        slot = self._new_slot(doc, time)
        self._buffer_docs[doc] = slot
        if hashes.size:
            self._pending.append(hashes)
            self._pending_slots.append(slot)
            self._pending_postings += hashes.size
            buffer = self._buffer
            for h in hashes.tolist():
                held = buffer.get(h)
                if held is None:
                    buffer[h] = [slot]
                else:
                    held.append(slot)

    def query(
        self,
        samples: Sequence[int],
        *,
        limit: int = 50,
        min_shared: int = 2,
        exclude: int | None = None,
    ) -> list[tuple[int, int]]:
        """``(doc, shared)`` for docs sharing at least ``min_shared`` samples (see module doc)."""
        q = _as_samples(samples)
        if not q.size or limit <= 0:
            return []
        cap = self.MAX_POSTINGS_PER_SAMPLE
        bounds = np.concatenate((q, q + np.uint64(1)))  # q < 2**63: no wrap
        found: list[_U32] = []
        for segment in self._segments:
            segment.lookup(q, bounds, cap, found)
        if self._buffer:
            held: list[int] = []
            for h in q.tolist():
                holders = self._buffer.get(h)
                if holders is not None:
                    held.extend(holders[-cap:])
            if held:
                found.append(np.array(held, dtype=np.uint32))
        if not found:
            return []
        slots = np.concatenate(found) if len(found) > 1 else found[0]
        slots = np.sort(slots[self._alive[slots]])
        if not slots.size:
            return []
        starts = np.flatnonzero(np.concatenate(([True], slots[1:] != slots[:-1])))
        counts = np.diff(np.append(starts, slots.size))
        keep = counts >= max(min_shared, 1)
        docs = self._docs[slots[starts[keep]]]
        counts = counts[keep]
        if exclude is not None:
            other = docs != exclude
            docs, counts = docs[other], counts[other]
        order = np.lexsort((docs, -counts))[:limit]
        return list(zip(docs[order].tolist(), counts[order].tolist(), strict=True))

    def evict_before(self, time: float) -> int:
        """Drop docs whose time is before ``time``; returns how many were dropped."""
        if time <= self._oldest:
            return 0
        n = self._n_slots
        old = self._alive[:n] & (self._times[:n] < time)
        evicted = int(np.count_nonzero(old))
        alive = self._alive[:n]
        alive[old] = False
        self._n_live -= evicted
        self._oldest = float(self._times[:n][alive].min()) if self._n_live else math.inf
        if not evicted:
            return 0
        for doc, slot in list(self._buffer_docs.items()):
            if not self._alive[slot]:
                del self._buffer_docs[doc]
        dead_slots = n - self._n_live
        if dead_slots > self._n_live and dead_slots >= self.BUFFER_POSTINGS // 8:
            self._renumber()
        else:
            kept: list[_Segment] = []
            for segment in self._segments:
                live = int(np.count_nonzero(self._alive[segment.lo : segment.hi]))
                if live == 0:
                    continue  # wholly evicted: its range dies with it
                half_dead = 2 * live <= segment.hi - segment.lo
                kept.append(self._rewrite(segment) if half_dead else segment)
            self._segments = kept
        self._settle()
        return evicted

    def spilled_bytes(self) -> int:
        """Bytes of postings kept in mapped files (see ``spill_dir``) rather than the heap."""
        return sum(s.hashes.nbytes + s.slots.nbytes for s in self._segments if s.spilled)

    def memory_bytes(self) -> int:
        """Approximate bytes held in the heap: arrays, plus an estimate for the buffer's Python
        objects (postings in mapped files are counted by ``spilled_bytes``)."""
        arrays = self._docs.nbytes + self._times.nbytes + self._alive.nbytes
        segments = sum(s.nbytes for s in self._segments)
        pending = sum(p.nbytes for p in self._pending)
        # dict entry + list + int objects: ~100 bytes per distinct hash, ~40 per posting
        buffer = (
            sys.getsizeof(self._buffer)
            + sys.getsizeof(self._buffer_docs)
            + 100 * len(self._buffer)
            + 40 * self._pending_postings
            + 60 * len(self._buffer_docs)
        )
        return arrays + segments + pending + buffer

    # -- internals --------------------------------------------------------------------------

    def _new_slot(self, doc: int, time: float) -> int:
        slot = self._n_slots
        if slot == len(self._docs):
            grown = 2 * len(self._docs)
            if grown > 2**32:
                raise OverflowError("more than 2**32 slots")
            self._docs = np.resize(self._docs, grown)
            self._times = np.resize(self._times, grown)
            alive = np.zeros(grown, dtype=np.bool_)
            alive[:slot] = self._alive
            self._alive = alive
        self._docs[slot] = doc
        self._times[slot] = time
        self._alive[slot] = True
        self._n_slots += 1
        self._n_live += 1
        self._oldest = min(self._oldest, time)
        return slot

    def _remove(self, doc: int) -> None:
        """Mark the live entry of ``doc``, if any, dead (a re-add replaces it)."""
        slot = self._buffer_docs.pop(doc, None)
        candidates = [slot] if slot is not None else []
        if not candidates:
            for segment in reversed(self._segments):
                candidates.extend(segment.find(doc))
        for s in candidates:
            if self._alive[s]:
                self._alive[s] = False
                self._n_live -= 1
                return

    def _segment(self, padded: _U64, slots: _U32, lo: int, hi: int) -> _Segment:
        return _Segment(
            padded,
            slots,
            lo,
            hi,
            self._docs[lo:hi],
            directory_min=self.DIRECTORY_MIN_POSTINGS,
            spill_dir=self._spill_dir,
        )

    def _flush(self) -> None:
        lo, hi = self._buffer_lo, self._n_slots
        if self._pending:
            hashes = np.concatenate(self._pending)
            slots = np.repeat(
                np.array(self._pending_slots, dtype=np.uint32),
                [len(p) for p in self._pending],
            )
            live = self._alive[slots]
            hashes, slots = hashes[live], slots[live]
            order = np.argsort(hashes, kind="stable")  # stable: slot order within a hash
            padded = _padded(len(order))
            np.take(hashes, order, out=padded[: len(order)])
            slots = slots[order]
        else:
            padded, slots = _padded(0), np.zeros(0, dtype=np.uint32)
        if hi > lo:
            self._segments.append(self._segment(padded, slots, lo, hi))
        self._buffer_lo = hi
        self._buffer = {}
        self._buffer_docs = {}
        self._pending = []
        self._pending_slots = []
        self._pending_postings = 0
        self._settle()

    def _tier(self, segment: _Segment) -> int:
        return (segment.n // self.BUFFER_POSTINGS).bit_length()

    def _settle(self) -> None:
        """Merge neighbours while the older one's tier is not above the newer one's."""
        segments = self._segments
        i = len(segments) - 1
        while i >= 1:
            older, newer = segments[i - 1], segments[i]
            if (
                self._tier(older) <= self._tier(newer)
                and older.n + newer.n <= self.MAX_SEGMENT_POSTINGS
            ):
                segments[i - 1 : i + 1] = [self._merge(older, newer)]
                i = min(i, len(segments) - 1)
            else:
                i -= 1

    def _live_postings(self, segment: _Segment) -> tuple[_U64, _U32]:
        hashes, slots = segment.hashes[: segment.n], segment.slots
        if not bool(self._alive[segment.lo : segment.hi].all()):
            live = self._alive[slots]
            hashes, slots = hashes[live], slots[live]
        return hashes, slots

    def _merge(self, older: _Segment, newer: _Segment) -> _Segment:
        """One segment with both runs' live postings; ``older`` covers the lower slots."""
        ha, sa = self._live_postings(older)
        hb, sb = self._live_postings(newer)
        # place each newer posting after the older ones with an equal hash (slot order)
        at = ha.searchsorted(hb, side="right") + np.arange(len(hb))
        n = len(ha) + len(hb)
        rest = np.ones(n, dtype=np.bool_)
        rest[at] = False
        padded = _padded(n)
        hashes = padded[:n]
        hashes[at] = hb
        hashes[rest] = ha
        del ha, hb
        slots = np.empty(n, dtype=np.uint32)
        slots[at] = sb
        slots[rest] = sa
        return self._segment(padded, slots, older.lo, newer.hi)

    def _rewrite(self, segment: _Segment) -> _Segment:
        hashes, slots = self._live_postings(segment)
        return self._segment(_pad(hashes), slots, segment.lo, segment.hi)

    def _renumber(self) -> None:
        """Drop dead slots: renumber the live ones densely (order kept) in every structure."""
        n = self._n_slots
        alive = self._alive[:n]
        new_of = (np.cumsum(alive) - 1).astype(np.int64)  # new slot of each live old slot
        before = np.concatenate(([0], np.cumsum(alive)))  # live slots below each old slot
        docs = self._docs[:n][alive]
        segments: list[_Segment] = []
        for segment in self._segments:
            hashes, slots = self._live_postings(segment)
            lo, hi = int(before[segment.lo]), int(before[segment.hi])
            if hi > lo:
                segments.append(
                    _Segment(
                        _pad(hashes),
                        new_of[slots].astype(np.uint32),
                        lo,
                        hi,
                        docs[lo:hi],
                        directory_min=self.DIRECTORY_MIN_POSTINGS,
                        spill_dir=self._spill_dir,
                    )
                )
        live = self._n_live
        times = self._times[:n][alive]
        capacity = max(1024, 1 << max(live - 1, 0).bit_length())
        self._docs = np.zeros(capacity, dtype=np.int64)
        self._times = np.zeros(capacity, dtype=np.float64)
        self._alive = np.zeros(capacity, dtype=np.bool_)
        self._docs[:live], self._times[:live], self._alive[:live] = docs, times, True
        # the buffer: keep live pending docs, with new slots
        pending = [
            (h, int(new_of[s]))
            for h, s in zip(self._pending, self._pending_slots, strict=True)
            if alive[s]
        ]
        self._pending = [h for h, _ in pending]
        self._pending_slots = [s for _, s in pending]
        self._pending_postings = sum(len(h) for h in self._pending)
        self._buffer = {}
        for h_arr, s in pending:
            for h in h_arr.tolist():
                self._buffer.setdefault(h, []).append(s)
        self._buffer_docs = {
            doc: int(new_of[s]) for doc, s in self._buffer_docs.items() if alive[s]
        }
        self._buffer_lo = int(before[self._buffer_lo])
        self._n_slots = live
        self._segments = segments
