"""Fingerprints: normalisation, determinism, containment and resemblance, the stored form.

All article texts here are invented for these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.dedup.fingerprint import (
    MIN_SAMPLES,
    SAMPLE_MOD,
    SHINGLE_WORDS,
    Fingerprint,
    compare,
    fingerprint,
    normalise_text,
    paragraph_hashes,
)

ORIGINAL = [
    "The Marrowby town council voted 7 to 2 on Tuesday night to close the old Kestrel Lane "
    "footbridge for at least 18 months, after engineers found corrosion in three of the steel "
    "cables that have held the span above the river since 1964.",
    'Council leader Imogen Vale said the decision had not been easy. "Nobody wants to cut a '
    "town in half, but we cannot ask people to walk across a bridge our own engineers no "
    'longer trust," she told a packed public gallery.',
    "The footbridge carries about 2,400 pedestrians and cyclists a day, most of them pupils "
    "walking to the Hollins Road secondary school and commuters heading for the railway "
    "station on the eastern bank.",
    "A temporary ferry will run every fifteen minutes between seven in the morning and seven "
    "in the evening from next Monday, and the bus company has agreed to add two extra "
    "services on the route that crosses the river at Sallow Bridge.",
    "Shopkeepers on the western bank fear the closure will hurt trade. Dev Okonkwo, who runs "
    "a bakery fifty metres from the bridge, estimated that a third of his morning customers "
    "come over from the station side on foot.",
    "Repairs are expected to cost 3.2 million pounds. The council hopes a regional transport "
    "fund will pay for most of the work, but officers warned that a bid would not be decided "
    "before the spring and that the timetable could slip.",
    "Opposition councillor Bram Teller, one of the two members who voted against, argued that "
    "the bridge could stay open to pedestrians with a weight limit while the cables were "
    "replaced one at a time, as happened on a similar crossing upriver.",
    "Engineers rejected that idea in a report published alongside the agenda, saying the "
    "cables had to be replaced together and that a partial opening would need a marshal on "
    "each bank at all hours, which the council could not afford.",
]

UNRELATED = [
    "Volunteers at the Fenwick Observatory have catalogued a faint comet that passed within "
    "sight of small telescopes last week, the first such discovery credited to the amateur "
    "society in its forty years of night watches on the moor.",
    "The society's secretary, Lotte Brandauer, said members had taken turns at the eyepiece "
    "through a run of unusually clear nights and compared their sketches with photographs "
    "taken by a camera fixed to the club's largest instrument.",
    "Professional astronomers confirmed the orbit within two days. They expect the comet to "
    "fade quickly as it heads back towards the outer planets, and do not think it will "
    "return within the lifetime of anyone now watching it.",
]


def article(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Don\u2019t stop", "dont stop"),
        ("Don't stop", "dont stop"),
        ("\u201cHello,\u201d she said.", "hello she said"),
        ("'Hello,' she said.", "hello she said"),
        ("well\u2013known \u2014 really", "well known really"),
        ("well-known - really", "well known really"),
        ("Sales rose 4.5% to $1,234,567 on 12/05/2024 at 10:30", "sales rose 0 to 0 on 0 at 0"),
        ("Swiss 1'000 francs, 3rd place", "swiss 0 francs 0rd place"),
        ("\ufb01nance \uff21\uff22\uff23 \u00b2", "finance abc 0"),
        ("STRASSE Stra\u00dfe", "strasse strasse"),
        ("  a\t\tb \n\n c \u00a0 ", "a b c"),
        ("co\u00adoperate zero\u200bwidth", "cooperate zerowidth"),
        ("snake_case", "snake case"),
        ("\u6771\u4eac\u90fd", "\u6771 \u4eac \u90fd"),
        ("\u0939\u093f\u0902\u0926\u0940 news", "\u0939\u093f\u0902\u0926\u0940 news"),
        ("* * * !!! ...", ""),
        ("", ""),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


@given(st.text(alphabet="ab c'\".,:/-_!?019\n\t", max_size=60))
def test_ascii_fast_path_matches_general_path(text: str) -> None:
    # A soft hyphen is removed by normalisation but sends the text down the non-ASCII path.
    assert normalise_text(text) == normalise_text(text + "\u00ad")
    assert normalise_text(text.replace("'", "\u2019")) == normalise_text(text)
    assert fingerprint(text) == fingerprint("\u200b" + text)


def test_paragraph_hashes() -> None:
    text = "First  para.\nSame para.\n \nSecond para.\r\n\r\n***\n\nFIRST para. same PARA"
    hashes = paragraph_hashes(text)
    assert len(hashes) == 3  # a single newline does not split; "***" normalises to nothing
    assert hashes[0] == hashes[2]  # same normalised text
    assert hashes[0] != hashes[1]
    assert all(0 <= h < 2**63 for h in hashes)
    assert paragraph_hashes("") == ()
    assert fingerprint(text).paragraphs == hashes


# -- fingerprints ----------------------------------------------------------------------------


def test_fingerprint_fields() -> None:
    text = article(ORIGINAL)
    fp = fingerprint(text)
    assert fp.words == len(normalise_text(text).split())
    assert list(fp.samples) == sorted(set(fp.samples))
    assert all(0 <= s < 2**63 and s % SAMPLE_MOD == 0 for s in fp.samples)
    assert len(fp.paragraphs) == len(ORIGINAL)
    assert len(fp.text_hash) == 32
    assert int(fp.text_hash, 16) >= 0
    # a ~370-word article keeps roughly one shingle in SAMPLE_MOD
    assert 15 <= len(fp.samples) <= 70


def test_sampling_rate_on_a_long_text() -> None:
    # letters only: digits would all normalise to "0"
    words = ["".join(chr(97 + (i * 7919 // 26**k) % 26) for k in range(4)) for i in range(5_000)]
    fp = fingerprint(" ".join(words))
    expected = (len(words) - SHINGLE_WORDS + 1) / SAMPLE_MOD
    assert 0.8 * expected < len(fp.samples) < 1.2 * expected


def test_empty_and_tiny_texts() -> None:
    empty = fingerprint("")
    assert empty == fingerprint("  \n\n ...  ")
    assert (empty.samples, empty.paragraphs, empty.words) == ((), (), 0)
    tiny = fingerprint("Three small words")
    assert tiny.words == 3
    assert len(tiny.samples) == 1  # one window shorter than SHINGLE_WORDS
    short = fingerprint(" ".join(ORIGINAL[0].split()[:20]))
    assert len(short.samples) == MIN_SAMPLES


def test_deterministic_across_processes() -> None:
    text = article(ORIGINAL) + "\n\nCaf\u00e9 \u201cquotes\u201d \u6771\u4eac \U0001f600 end."
    code = (
        "import sys; from harvester.dedup.fingerprint import fingerprint; "
        "sys.stdout.write(fingerprint(sys.stdin.read()).to_bytes().hex())"
    )
    outputs = set()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            check=True,
        )
        outputs.add(done.stdout)
    assert outputs == {fingerprint(text).to_bytes().hex()}


def test_golden_values() -> None:
    # Pinned: a change here changes every stored fingerprint (bump the format version).
    fp = fingerprint("The quick brown fox jumps over the lazy dog.\n\nIt was 2 degrees.")
    assert fp.text_hash == GOLDEN_TEXT_HASH
    assert fp.samples == GOLDEN_SAMPLES
    assert fp.paragraphs == GOLDEN_PARAGRAPHS
    assert fp.words == 13


GOLDEN_TEXT_HASH = "27573b728ee1ffbd8ceafac2d03a13c5"
GOLDEN_SAMPLES = (
    2238390579435377132,
    2533738699376968732,
    3394961292702968950,
    4607199548332603969,
    4798612287217733354,
    5926734055731004438,
    6049005425551263800,
    6494760559930389290,
)
GOLDEN_PARAGRAPHS = (1574716225844346361, 1899900233323294436)


def test_long_text_hashes_like_a_short_one() -> None:
    from harvester.dedup.fingerprint import _CACHED_POWERS, _normalise, _shingle_hashes

    tail = "alpha beta gamma delta epsilon"
    filler = "lorem " * (_CACHED_POWERS // 3)
    assert len(filler) > _CACHED_POWERS  # past the cached power tables
    long_hashes = set(_shingle_hashes(_normalise(filler + tail)).tolist())
    (short_hash,) = _shingle_hashes(_normalise(tail)).tolist()
    assert short_hash in long_hashes


# -- similarity ------------------------------------------------------------------------------


def test_excerpt_is_contained_in_its_original() -> None:
    excerpt = fingerprint(article(ORIGINAL[:3]))
    original = fingerprint(article(ORIGINAL))
    s = compare(excerpt, original)
    assert s.a_in_b >= 0.8
    assert s.b_in_a < 0.6
    assert s.resemblance < 0.6
    assert compare(original, excerpt).b_in_a == s.a_in_b


def test_typographic_copy_with_updated_numbers_resembles_fully() -> None:
    copy = [
        p.replace('"', "\u201c", 1)
        .replace('"', "\u201d", 1)
        .replace("7 to 2", "8 to 1")
        .replace("2,400", "2,650")
        .replace("3.2 million", "3.45 million")
        .replace(", ", " ,  ")
        .replace(" - ", " \u2014 ")
        for p in ORIGINAL
    ]
    a, b = fingerprint(article(ORIGINAL)), fingerprint("\n\n\n".join(copy) + "\n")
    assert compare(a, b).resemblance == 1.0
    assert a.text_hash == b.text_hash


def test_edited_copy_stays_similar() -> None:
    copy = list(ORIGINAL)
    copy[1] = copy[1].replace("packed public gallery", "crowded chamber")
    copy.insert(0, "UPDATED with the council's vote and the ferry timetable.")
    s = compare(fingerprint(article(copy)), fingerprint(article(ORIGINAL)))
    assert s.resemblance >= 0.8


def test_unrelated_texts_share_nothing() -> None:
    s = compare(fingerprint(article(ORIGINAL)), fingerprint(article(UNRELATED)))
    assert s.shared <= 1
    assert s.resemblance < 0.05


def test_follow_up_sharing_one_background_paragraph_is_not_a_copy() -> None:
    follow_up = [*UNRELATED, ORIGINAL[2]]
    a, b = fingerprint(article(follow_up)), fingerprint(article(ORIGINAL))
    s = compare(a, b)
    assert s.a_in_b < 0.5
    assert s.b_in_a < 0.3
    assert len(set(a.paragraphs) & set(b.paragraphs)) == 1


def test_short_excerpt_fillers_do_not_count_against_a_long_original() -> None:
    words = ORIGINAL[3].split()
    original = fingerprint(article(ORIGINAL))
    for size in range(SHINGLE_WORDS, len(words)):
        excerpt = fingerprint(" ".join(words[:size]))
        sampled = [x for x in excerpt.samples if x % SAMPLE_MOD == 0]
        if sampled and len(excerpt.samples) > len(sampled):
            break
    else:  # pragma: no cover - depends on the hash constants
        pytest.skip("no prefix of that paragraph is short with a sampled shingle")
    s = compare(excerpt, original)
    assert s.shared == len(sampled)
    assert s.a_in_b == 1.0
    # two short texts compare on everything they kept
    assert compare(excerpt, excerpt).resemblance == 1.0


def test_compare_empty() -> None:
    empty = fingerprint("")
    s = compare(empty, fingerprint(article(ORIGINAL)))
    assert (s.shared, s.resemblance, s.a_in_b, s.b_in_a) == (0, 0.0, 0.0, 0.0)
    assert compare(empty, empty).resemblance == 0.0


# -- stored form -----------------------------------------------------------------------------

hashes63 = st.integers(min_value=0, max_value=2**63 - 1)
fingerprints = st.builds(
    Fingerprint,
    text_hash=st.binary(max_size=64).map(bytes.hex),
    samples=st.lists(hashes63, unique=True, max_size=200).map(lambda xs: tuple(sorted(xs))),
    paragraphs=st.lists(hashes63, max_size=50).map(tuple),
    words=st.integers(min_value=0, max_value=2**32 - 1),
)


@given(fingerprints)
def test_to_bytes_round_trip(fp: Fingerprint) -> None:
    data = fp.to_bytes()
    assert Fingerprint.from_bytes(data) == fp
    assert len(data) == 18 + len(fp.text_hash) // 2 + 8 * (len(fp.samples) + len(fp.paragraphs))


@settings(max_examples=50)
@given(st.text(max_size=400))
def test_fingerprint_round_trip(text: str) -> None:
    fp = fingerprint(text)
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp


def test_stored_form_is_compact() -> None:
    fp = fingerprint(article(ORIGINAL))
    assert len(fp.to_bytes()) == 18 + 16 + 8 * (len(fp.samples) + len(fp.paragraphs))


def test_from_bytes_rejects_foreign_blobs() -> None:
    data = bytearray(fingerprint(article(ORIGINAL)).to_bytes())
    with pytest.raises(ValueError, match="too short"):
        Fingerprint.from_bytes(bytes(data[:5]))
    with pytest.raises(ValueError, match="wrong length"):
        Fingerprint.from_bytes(bytes(data[:-1]))
    other_version = bytearray(data)
    other_version[0] = 99
    with pytest.raises(ValueError, match="version"):
        Fingerprint.from_bytes(bytes(other_version))
    other_scheme = bytearray(data)
    other_scheme[1] = SHINGLE_WORDS + 1
    with pytest.raises(ValueError, match="re-fingerprint"):
        Fingerprint.from_bytes(bytes(other_scheme))


def test_to_bytes_rejects_unrepresentable_fields() -> None:
    base = fingerprint("a few words here")
    bad = [
        Fingerprint(text_hash="ABCD", samples=(), paragraphs=(), words=0),
        Fingerprint(text_hash="abc", samples=(), paragraphs=(), words=0),
        Fingerprint(text_hash=base.text_hash, samples=(2**63,), paragraphs=(), words=0),
        Fingerprint(text_hash=base.text_hash, samples=(), paragraphs=(), words=2**32),
    ]
    for fp in bad:
        with pytest.raises(ValueError):
            fp.to_bytes()
