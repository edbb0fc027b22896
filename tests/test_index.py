"""The hot candidate index: lookups, ordering, eviction, re-adds, merges (against a model).

Article texts here are invented for these tests.
"""

from __future__ import annotations

import atexit
import errno
import os
import random
import shutil
import tempfile
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.index import CandidateIndex
from harvester.errors import ArchiveError, ArchiveUnavailableError


class TinyIndex(CandidateIndex):
    """Thresholds small enough that a few dozen docs flush, merge, cap segments, build
    directories and renumber slots."""

    BUFFER_POSTINGS: ClassVar[int] = 16
    MAX_SEGMENT_POSTINGS: ClassVar[int] = 256
    DIRECTORY_MIN_POSTINGS: ClassVar[int] = 8
    MAX_POSTINGS_PER_SAMPLE: ClassVar[int] = 10**9


# One folder for every SpilledTinyIndex: spilled files have no name, so it stays empty.
_SPILL_DIR = Path(tempfile.mkdtemp(prefix="harvester-spill-"))
atexit.register(shutil.rmtree, _SPILL_DIR, ignore_errors=True)


class SpilledTinyIndex(TinyIndex):
    """TinyIndex with every segment's postings in mapped temporary files (``spill_dir``)."""

    def __init__(self) -> None:
        super().__init__(spill_dir=_SPILL_DIR)


class Model:
    """The brute-force reference: a dict of doc -> (samples, time)."""

    def __init__(self) -> None:
        self.docs: dict[int, tuple[set[int], float]] = {}

    def add(self, doc: int, samples: Sequence[int], time: float) -> None:
        self.docs[doc] = (set(samples), time)

    def query(
        self, samples: Sequence[int], limit: int, min_shared: int, exclude: int | None
    ) -> list[tuple[int, int]]:
        wanted = set(samples)
        found = [
            (doc, len(wanted & held))
            for doc, (held, _) in self.docs.items()
            if doc != exclude and len(wanted & held) >= max(min_shared, 1)
        ]
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found[: max(limit, 0)]

    def evict_before(self, time: float) -> int:
        old = [doc for doc, (_, t) in self.docs.items() if t < time]
        for doc in old:
            del self.docs[doc]
        return len(old)


STORY = (
    "Flood barriers along the Teme embankment were raised before dawn on Sunday as the river "
    "climbed to its highest level in eleven years, and the county asked residents of the low "
    "streets behind the quay to move cars and valuables upstairs.\n\n"
    "The environment agency said the water would peak around midday and fall slowly through "
    "the week. Volunteers handed out sandbags from the rowing club, where the boats had been "
    "lifted onto trailers and towed to a car park on higher ground.\n\n"
    "Shop owners on Bridge Street, which flooded twice in the last decade, said the barriers "
    "had given them hope. One florist said she had moved her stock to a friend's garage "
    "anyway, because she no longer trusted a forecast to be right to the inch."
)
OTHER = (
    "A village choir from the hills above Llanrhos has won the national amateur competition "
    "with a programme of folk songs arranged by its own conductor, a retired maths teacher who "
    "only took up the baton after the previous director moved abroad.\n\n"
    "The judges praised the choir's blend and its unaccompanied finale. The prize money will "
    "pay for a new roof on the chapel where the singers have rehearsed every Thursday evening "
    "for more than sixty years, through three changes of minister."
)


def test_query_finds_inserted_near_duplicates() -> None:
    index = CandidateIndex()
    original, other = fingerprint(STORY), fingerprint(OTHER)
    index.add(1, original.samples, 100.0)
    index.add(2, other.samples, 100.0)
    edited = STORY.replace("eleven years", "twelve years").replace("Sunday", "Monday")
    copy = fingerprint("Breaking: the river is still rising.\n\n" + edited)
    found = index.query(copy.samples)
    assert found[0][0] == 1
    assert found[0][1] >= 2
    assert 2 not in dict(found)
    excerpt = fingerprint(STORY.split("\n\n", maxsplit=1)[0])
    assert [doc for doc, _ in index.query(excerpt.samples)] == [1]
    assert len(index) == 2


def test_query_counts_each_shared_sample_once() -> None:
    index = CandidateIndex()
    index.add(1, [50, 50, 60, 70], 0.0)
    assert index.query([60, 50, 50, 80], min_shared=1) == [(1, 2)]
    assert index.query([]) == []
    assert index.query([50, 60], limit=0) == []


def test_exclude() -> None:
    index = CandidateIndex()
    index.add(5, [10, 20, 30], 0.0)
    index.add(6, [10, 20], 0.0)
    assert index.query([10, 20, 30], exclude=5) == [(6, 2)]
    assert index.query([10, 20, 30], exclude=99) == [(5, 3), (6, 2)]


def test_limit_and_ordering() -> None:
    index = CandidateIndex()
    index.add(10, [1, 2, 3, 4, 5], 0.0)
    index.add(3, [1, 2, 3, 4, 5, 6], 0.0)
    index.add(7, [1, 2, 3], 0.0)
    index.add(1, [1], 0.0)
    query = [1, 2, 3, 4, 5]
    assert index.query(query, limit=2) == [(3, 5), (10, 5)]
    assert index.query(query) == [(3, 5), (10, 5), (7, 3)]
    assert index.query(query, min_shared=1) == [(3, 5), (10, 5), (7, 3), (1, 1)]
    assert index.query(query, min_shared=4) == [(3, 5), (10, 5)]


def test_eviction() -> None:
    index = CandidateIndex()
    for doc in range(10):
        index.add(doc, [100, 200, 300 + doc], float(doc))
    assert index.evict_before(5.0) == 5
    assert len(index) == 5
    assert [doc for doc, _ in index.query([100, 200])] == [5, 6, 7, 8, 9]
    assert index.evict_before(5.0) == 0
    assert index.evict_before(-1.0) == 0
    assert index.evict_before(100.0) == 5
    assert len(index) == 0
    assert index.query([100, 200]) == []
    index.add(3, [100, 200], 200.0)  # an evicted doc may come back
    assert index.query([100, 200]) == [(3, 2)]


def test_re_adding_a_doc_replaces_it() -> None:
    index = TinyIndex()
    index.add(1, [10, 20, 30], 0.0)
    for doc in range(2, 40):  # push doc 1 out of the buffer into merged segments
        index.add(doc, [1000 + doc, 2000 + doc], 0.0)
    index.add(1, [40, 50, 60], 5.0)
    assert len(index) == 39
    assert index.query([10, 20, 30]) == []
    assert index.query([40, 50, 60]) == [(1, 3)]
    index.add(1, [70, 80], 6.0)  # and again, while it is in the buffer
    assert index.query([40, 50, 60]) == []
    assert index.query([70, 80]) == [(1, 2)]
    assert index.evict_before(5.5) == 38
    assert index.query([70, 80]) == [(1, 2)]


def test_rejects_invalid_input() -> None:
    index = CandidateIndex()
    with pytest.raises(ValueError):
        index.add(1, [-1], 0.0)
    with pytest.raises(ValueError):
        index.add(1, [2**63], 0.0)
    with pytest.raises(ValueError):
        index.add(1, [1], float("nan"))
    with pytest.raises(ValueError):
        index.query([2**64])
    assert len(index) == 0


def test_merges_keep_everything_findable() -> None:
    index = TinyIndex()
    rng = random.Random(7)
    docs = {doc: sorted(rng.sample(range(2**62), 12)) for doc in range(600)}
    for doc, samples in docs.items():
        index.add(doc, samples, float(doc))
    # merged up to MAX_SEGMENT_POSTINGS: capped segments hold at least half of it, plus at
    # most one segment per size tier below
    postings = 600 * 12
    tiers = (TinyIndex.MAX_SEGMENT_POSTINGS // TinyIndex.BUFFER_POSTINGS).bit_length()
    bound = postings // (TinyIndex.MAX_SEGMENT_POSTINGS // 2) + tiers
    assert 1 < len(index._segments) <= bound
    assert any(s.dir is not None for s in index._segments)
    for doc, samples in docs.items():
        assert index.query(samples, limit=1) == [(doc, 12)]


def test_crowded_samples_are_capped_newest_first() -> None:
    class Capped(CandidateIndex):
        MAX_POSTINGS_PER_SAMPLE: ClassVar[int] = 3

    index = Capped()
    for doc in range(10):
        index.add(doc, [7, 8], 0.0)
    assert index.query([7, 8]) == [(7, 2), (8, 2), (9, 2)]

    class CappedTiny(TinyIndex):
        MAX_POSTINGS_PER_SAMPLE: ClassVar[int] = 3

    index = CappedTiny()
    for doc in range(200):
        index.add(doc, [7, 8, 1000 + doc], 0.0)
    found = index.query([7, 8])
    assert 3 <= len(found) <= 3 * (len(index._segments) + 1)
    assert 199 in dict(found)


def test_memory_is_bounded_by_the_window() -> None:
    index = TinyIndex()
    rng = random.Random(3)
    peaks = []
    for doc in range(3_000):
        index.add(doc, rng.sample(range(2**62), 10), float(doc))
        if doc % 100 == 99:
            index.evict_before(doc - 300.0)
            peaks.append(index.memory_bytes())
    assert len(index) <= 400
    assert max(peaks[-10:]) < 2 * max(peaks[3:6])  # flat once the window is full
    assert index._n_slots < 2 * 400


def test_memory_bytes_counts_postings() -> None:
    index = CandidateIndex()
    empty = index.memory_bytes()
    rng = random.Random(1)
    for doc in range(3_000):
        index.add(doc, rng.sample(range(2**62), 40), 0.0)
    assert index.memory_bytes() - empty > 3_000 * 40 * 12


# -- against the brute-force model -----------------------------------------------------------

samples_st = st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**63 - 1)), max_size=12)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.one_of(st.integers(0, 30), st.integers(1_000, 1_100)),
            samples_st,
            st.floats(0, 100),
        ),
        st.tuples(
            st.just("query"),
            samples_st,
            st.integers(0, 60),
            st.integers(0, 3),
            st.one_of(st.none(), st.integers(0, 30)),
        ),
        st.tuples(st.just("evict"), st.floats(0, 100)),
    ),
    max_size=120,
)


@pytest.mark.parametrize("kind", [CandidateIndex, TinyIndex, SpilledTinyIndex])
@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_matches_brute_force_model(kind: type[CandidateIndex], ops: list[tuple[Any, ...]]) -> None:
    index, model = kind(), Model()
    for op in ops:
        if op[0] == "add":
            _, doc, samples, time = op
            index.add(doc, samples, time)
            model.add(doc, samples, time)
        elif op[0] == "query":
            _, samples, limit, min_shared, exclude = op
            got = index.query(samples, limit=limit, min_shared=min_shared, exclude=exclude)
            assert got == model.query(samples, limit, min_shared, exclude)
        else:
            assert index.evict_before(op[1]) == model.evict_before(op[1])
        assert len(index) == len(model.docs)
    for doc, (held, _) in model.docs.items():
        if held:
            assert (doc, len(held)) in index.query(sorted(held), limit=10**6, min_shared=1)


def test_spilled_postings_leave_the_heap_and_no_files(tmp_path: Path) -> None:
    """With spill_dir the postings live in mapped unnamed files: out of memory_bytes (the heap),
    in spilled_bytes, answers unchanged, and the folder stays empty (nothing to clean up after
    a crash)."""
    rng = random.Random(7)
    heap, spilled = TinyIndex(), TinyIndex(spill_dir=tmp_path)
    docs = {doc: rng.sample(range(2**40), 12) for doc in range(400)}
    for doc, samples in docs.items():
        heap.add(doc, samples, float(doc))
        spilled.add(doc, samples, float(doc))
    assert spilled.spilled_bytes() > 300 * 12 * 12  # most postings are in segments
    assert heap.spilled_bytes() == 0
    assert heap.memory_bytes() - spilled.memory_bytes() >= spilled.spilled_bytes() * 0.9
    for samples in list(docs.values())[::7]:
        assert spilled.query(samples) == heap.query(samples)
    assert spilled.evict_before(200.0) == heap.evict_before(200.0) == 200
    for samples in list(docs.values())[::5]:
        assert spilled.query(samples, min_shared=1) == heap.query(samples, min_shared=1)
    assert list(tmp_path.iterdir()) == []


def test_spill_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        CandidateIndex(spill_dir=tmp_path / "missing")


def test_a_full_disk_while_spilling_leaves_the_index_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing a segment raises ArchiveUnavailableError (the daemon pauses) and
    changes nothing: the same add succeeds once space returns, and every answer equals that of
    an index that never failed. Other OSErrors are ArchiveErrors."""
    import harvester.dedup.index as index_module

    failure: list[int] = []

    def temporary_file(**kwargs: Any) -> Any:
        if failure:
            raise OSError(failure[0], os.strerror(failure[0]))
        return tempfile.TemporaryFile(**kwargs)

    monkeypatch.setattr(
        index_module, "tempfile", types.SimpleNamespace(TemporaryFile=temporary_file)
    )
    rng = random.Random(3)
    heap, spilled = TinyIndex(), TinyIndex(spill_dir=tmp_path)
    docs = {doc: rng.sample(range(2**40), 6) for doc in range(60)}
    failed = 0
    for doc, samples in docs.items():
        heap.add(doc, samples, float(doc))
        failure[:] = [errno.ENOSPC] if doc % 7 == 3 else []
        try:
            spilled.add(doc, samples, float(doc))
        except ArchiveUnavailableError:
            failed += 1
            for other in list(docs)[: doc + 1][::5]:
                if other != doc:
                    assert spilled.query(docs[other]) == heap.query(docs[other])
            failure.clear()  # space returns: the same add again
            spilled.add(doc, samples, float(doc))
    assert failed >= 3
    for samples in docs.values():
        assert spilled.query(samples, min_shared=1) == heap.query(samples, min_shared=1)
    failure[:] = [errno.EACCES]
    with pytest.raises(ArchiveError) as caught:
        for doc in range(100, 120):
            spilled.add(doc, rng.sample(range(2**40), 6), 100.0)
    assert not isinstance(caught.value, ArchiveUnavailableError)
    assert "cannot spill the candidate index" in str(caught.value)
