"""Text fingerprints for the exact, near-duplicate and containment tiers (pure, deterministic).

A ``Fingerprint`` of an article's cleaned text holds:

* ``text_hash``: BLAKE2b-128 hex digest of ``normalise_text(text)`` (tier 3, identical text);
* ``samples``: the sorted, unique hashes of its ``SHINGLE_WORDS``-word shingles that are
  ``0 mod SAMPLE_MOD`` ("0 mod p" sampling). Every document keeps the *same* subset of the
  shingle-hash space, so for two documents the shared samples are an unbiased sample of their
  shared shingles, and the ratios below estimate both resemblance and containment (a truncated
  excerpt is found in its original, which a fixed-size MinHash sketch cannot promise);
* ``paragraphs``: one 63-bit hash per normalised paragraph, in order (paragraph-level diffs and
  the "one shared background paragraph is not a copy" rule);
* ``words``: the number of normalised words.

Normalisation (``normalise_text``): NFKC, casefold; invisible format characters (soft hyphen,
zero-width space/joiners, BOM) removed; every apostrophe variant (straight, curly, modifier
letter, prime) unified, and one inside a word joined (``don’t`` = ``don't`` = ``dont``); digit
runs with their inner separators (``1,234.5``, ``10:30``, ``12/05/2024``, ``1'000``) -> ``0``
so an updated figure still matches; Han/kana characters made one word each (those scripts use
no spaces); every other non-word character (quotes and dashes of every kind, punctuation,
symbols) dropped as a separator, so typography cannot matter; whitespace collapsed. Paragraphs
are separated by blank lines in the input; ``normalise_text`` joins them with one space.

Hashing never uses Python's salted ``hash()``: a shingle's hash is the polynomial hash of its
characters (code points, its words joined by single spaces) ``sum(c[j] * BASE**j) mod 2**64``
with a fixed odd base, read off prefix sums for all shingles of a text at once (numpy, no
per-word Python work), put through the MurmurHash3 64-bit finaliser and shifted to 63 bits.
Paragraph and text hashes are BLAKE2b of the normalised UTF-8 text. The results are the same
in every process and on every machine (fixed constants, wrap-around uint64 arithmetic,
little-endian serialisation); ``tests/test_fingerprint.py`` pins golden values.

Short texts: when "0 mod p" sampling keeps fewer than ``MIN_SAMPLES`` hashes, the smallest other
shingle hashes are added until there are ``MIN_SAMPLES`` (or every shingle is kept). Those
fillers are the hashes that are *not* ``0 mod SAMPLE_MOD``; see ``compare`` for how they count.

Complexity: ``fingerprint`` is O(len(text)) with a constant number of numpy passes (about
110 µs for a 400-word article on one 2.6 GHz EPYC core); ``compare`` is O(|A| + |B|);
``to_bytes``/``from_bytes`` are O(|samples| + |paragraphs|): 8 bytes per hash plus an 18-byte
header and the 16-byte text hash.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import sys
import unicodedata
from array import array
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_SAMPLES",
    "SAMPLE_MOD",
    "SHINGLE_WORDS",
    "Fingerprint",
    "Similarity",
    "compare",
    "fingerprint",
    "normalise_text",
    "paragraph_hashes",
]

# Why 5: shorter shingles (2-3 words) recur across unrelated articles ("said on Tuesday that");
# longer ones break at every edit, so a lightly edited copy would keep too few of them.
SHINGLE_WORDS: Final = 5
# Why 10: a 400-word article has ~396 shingles, so it keeps ~40 samples (within the 25-50 that
# estimate a containment of 0.5 to about +-0.08, and 1M articles x 40 samples x 12 bytes fits
# the hot index's memory budget); a 3-paragraph excerpt of ~120 words still keeps ~12.
SAMPLE_MOD: Final = 10
# Why 8: the candidate index asks for at least 2-3 shared samples; a short text (a brief, an
# excerpt of a few sentences) needs several kept hashes for a near-copy to reach that.
MIN_SAMPLES: Final = 8

_FORMAT_VERSION: Final = 1
# version, shingle words, sample mod, min samples, hash length, words, #samples, #paragraphs
_HEADER: Final = struct.Struct("<BBHBBIII")

# Polynomial shingle hash (mod 2**64) and MurmurHash3 fmix64 constants. Changing any of them
# changes every fingerprint: bump _FORMAT_VERSION.
_BASE: Final = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64
_FMIX1: Final = 0xFF51AFD7ED558CCD
_FMIX2: Final = 0xC4CEB9FE1A85EC53

_U64 = npt.NDArray[np.uint64]

# Character classes of the normaliser; the rare ones (CJK, invisible) have the highest numbers.
_OTHER, _SPACE, _NEWLINE, _WORD, _DIGIT, _NUMSEP, _APOS, _CJK, _INVISIBLE = range(9)
_APOSTROPHES: Final = "'\u2018\u2019\u201a\u201b\u2032\u02bc\u0060\u00b4"
_NUMBER_SEPARATORS: Final = ".,:/"
_CJK_RANGES: Final = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_LE32: Final = np.dtype("<u4")
# Powers of _BASE and of its inverse mod 2**64 up to this length are cached (16 bytes a char);
# a longer text gets temporary tables.
_CACHED_POWERS: Final = 1 << 18
_powers: tuple[_U64, _U64] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))

_UInt = npt.NDArray[np.uint8] | npt.NDArray[np.uint32]
_Bool = npt.NDArray[np.bool_]


def _class_of(char: str) -> int:
    """The normaliser's class of one (already NFKC-normalised, casefolded) character."""
    if char in "\n\r":
        return _NEWLINE
    if char.isspace():
        return _SPACE
    if char in _APOSTROPHES:
        return _APOS
    if char in _NUMBER_SEPARATORS:
        return _NUMSEP
    if char.isdecimal():  # what re's \d matches
        return _DIGIT
    if any(lo <= ord(char) <= hi for lo, hi in _CJK_RANGES):
        return _CJK
    category = unicodedata.category(char)
    if category == "Cf":  # soft hyphen, zero-width space/joiners, BOM, bidi marks
        return _INVISIBLE
    if char.isalnum() or category[0] == "M":  # combining marks stay inside their word
        return _WORD
    return _OTHER  # punctuation (quotes and dashes included), symbols, "_", controls


_ASCII_CLASSES: Final = bytes(_class_of(chr(c)) if c < 128 else _OTHER for c in range(256))


@functools.cache
def _class_table() -> npt.NDArray[np.uint8]:
    """The class of every BMP code point (64 KiB, built on the first non-ASCII text)."""
    return np.array([_class_of(chr(cp)) for cp in range(0x10000)], dtype=np.uint8)


def _between(mask: _Bool, side: _Bool) -> _Bool:
    """``mask[i] and side[i - 1] and side[i + 1]`` (False at both ends)."""
    out = np.zeros_like(mask)
    out[1:-1] = mask[1:-1] & side[:-2] & side[2:]
    return out


def _classify(folded: str) -> tuple[_UInt, npt.NDArray[np.uint8]]:
    """Writable code points of ``folded`` and their classes; invisible characters removed and
    each Han/kana character turned into a word of its own (space, character, space)."""
    if folded.isascii():
        raw = folded.encode("ascii")
        return (
            np.frombuffer(bytearray(raw), dtype=np.uint8),
            np.frombuffer(raw.translate(_ASCII_CLASSES), dtype=np.uint8),
        )
    cps = np.frombuffer(folded.encode("utf-32-le"), dtype=_LE32).astype(np.uint32)
    cls = _class_table()[np.minimum(cps, 0xFFFF)]
    astral = np.flatnonzero(cps > 0xFFFF)
    if astral.size:  # emoji, historic scripts: rare, classified one by one
        cls[astral] = [_class_of(chr(cp)) for cp in cps[astral].tolist()]
    if cls.max() >= _CJK:
        keep = cls != _INVISIBLE
        cps, cls = cps[keep], cls[keep]
        cjk = cls == _CJK
        reps = np.where(cjk, 3, 1)
        at = (np.cumsum(reps) - reps)[cjk]
        cps, cls = np.repeat(cps, reps), np.repeat(cls, reps)
        cls[at] = _SPACE
        cls[at + 1] = _WORD
        cls[at + 2] = _SPACE
    return cps, cls


def _normalise(text: str) -> _UInt:
    """The normalised text as code points: words split by one space, paragraphs by one newline.

    Vectorised (numpy, a constant number of passes over the text), in order: NFKC and casefold;
    invisible format characters removed; Han/kana characters made words of their own; an
    apostrophe between two word characters removed; each digit run with its inner separators
    -> "0"; every other non-word character a separator; each separator run -> one space, or
    one newline when it holds two or more line breaks (a blank line); both ends stripped.
    Every separator left is a code point <= 32 and every other code point is > 32.
    """
    cps, cls = _classify(unicodedata.normalize("NFKC", text).casefold())
    n = len(cps)
    if n == 0:
        return cps
    word = (cls - np.uint8(_WORD)) <= 1  # word characters and digits (uint8 wraps below)
    drop: _Bool | None = None
    inner = cls == _NUMSEP
    apostrophe = cls == _APOS
    if apostrophe.any():
        joined = _between(apostrophe, word)
        word |= joined
        drop = joined
        inner |= joined  # 1'000 is one number
    digit = cls == _DIGIT
    if digit.any():
        number = digit | _between(inner, digit)
        tail = np.zeros(n, dtype=np.bool_)
        tail[1:] = number[1:] & number[:-1]
        cps[number] = ord("0")
        word |= number
        drop = tail if drop is None else drop | tail
    sep = ~word
    first = sep.copy()
    first[1:] &= word[:-1]
    starts = np.flatnonzero(first)
    if starts.size:
        # reduceat sums from one run start to the next: the run's line breaks (words hold none)
        breaks = np.add.reduceat(cls == _NEWLINE, starts, dtype=np.intp)
        cps[starts] = np.where(breaks >= 2, ord("\n"), ord(" "))
    keep = word | first
    if drop is not None:
        keep &= ~drop
    out = cps[keep]
    return out[int(sep[0]) : len(out) - int(sep[-1])]


def _paragraphs(normalised: _UInt) -> str:
    """The normalised text as ``str``, paragraphs separated by ``\\n``."""
    if normalised.dtype == np.uint8:
        return normalised.tobytes().decode("ascii")
    return normalised.astype(_LE32, copy=False).tobytes().decode("utf-32-le")


def normalise_text(text: str) -> str:
    """NFKC, casefold, typography unified, numbers -> ``0``, punctuation dropped, one space."""
    return _paragraphs(_normalise(text)).replace("\n", " ")


def _hash63(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def paragraph_hashes(text: str) -> tuple[int, ...]:
    """One 63-bit hash per paragraph (blank-line separated) of its normalised form, in order.

    Paragraphs that normalise to nothing (only punctuation) are skipped.
    """
    normalised = _paragraphs(_normalise(text))
    return tuple(_hash63(p) for p in normalised.split("\n")) if normalised else ()


def _power_tables(n: int) -> tuple[_U64, _U64]:
    """``_BASE**k`` and ``_BASE**-k`` mod 2**64 for ``k < n`` (at least)."""
    global _powers  # noqa: PLW0603 - a grow-only cache; rebinding a tuple is atomic
    pw, inv = _powers
    while len(pw) < n:
        k = len(pw)
        step = np.array([pow(_BASE, k, 1 << 64), pow(_BASE, -k, 1 << 64)], dtype=np.uint64)
        pw, inv = np.concatenate((pw, pw * step[0])), np.concatenate((inv, inv * step[1]))
        if len(pw) <= _CACHED_POWERS:
            _powers = (pw, inv)
    return pw, inv


def _fmix64(x: _U64) -> _U64:
    """MurmurHash3's 64-bit finaliser (full avalanche), in place, wrapping."""
    x ^= x >> np.uint64(33)
    x *= np.uint64(_FMIX1)
    x ^= x >> np.uint64(33)
    x *= np.uint64(_FMIX2)
    x ^= x >> np.uint64(33)
    return x


def _shingle_hashes(normalised: _UInt) -> _U64:
    """63-bit hashes of every ``SHINGLE_WORDS``-word window (one window for a shorter text).

    A window's hash is the polynomial hash ``sum(char[s + j] * BASE**j) mod 2**64`` of its
    characters (words joined by one space), read off prefix sums for all windows at once, then
    put through ``_fmix64`` and shifted to 63 bits.
    """
    n = len(normalised)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    chars = normalised.astype(np.uint64)
    seps = np.flatnonzero(normalised <= 32)
    chars[seps] = ord(" ")  # a paragraph break joins words like a space
    pw, inv = _power_tables(n)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(chars * pw[:n], out=prefix[1:])
    starts = np.concatenate(([0], seps + 1))
    ends = np.concatenate((seps, [n]))
    windows = max(len(starts) - SHINGLE_WORDS + 1, 1)
    first = starts[:windows]
    last = ends[min(SHINGLE_WORDS, len(ends)) - 1 :]
    hashes = (prefix[last] - prefix[first]) * inv[first]
    return _fmix64(hashes) >> np.uint64(1)


def _sample(shingles: _U64) -> tuple[int, ...]:
    kept = sorted(set(shingles[shingles % np.uint64(SAMPLE_MOD) == 0].tolist()))
    if len(kept) >= MIN_SAMPLES:
        return tuple(kept)
    # Short text: fill up with the smallest hashes that sampling did not keep.
    others = np.sort(shingles[shingles % np.uint64(SAMPLE_MOD) != 0])
    fillers: list[int] = []
    for h in others.tolist():
        if len(kept) + len(fillers) >= MIN_SAMPLES:
            break
        if not fillers or h != fillers[-1]:
            fillers.append(h)
    return tuple(sorted(kept + fillers))


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    """What the dedup tiers know of a text (see the module docstring); ``fingerprint()`` makes one.

    Invariants (kept by ``fingerprint``): ``samples`` sorted, unique, each in ``[0, 2**63)``;
    ``paragraphs`` each in ``[0, 2**63)``; ``text_hash`` lowercase hex; ``words < 2**32``.
    """

    text_hash: str
    samples: tuple[int, ...]
    paragraphs: tuple[int, ...]
    words: int

    def to_bytes(self) -> bytes:
        """Compact little-endian form (the catalog's BLOB): header, hash bytes, int64 arrays.

        The header records the shingle scheme, so ``from_bytes`` refuses a fingerprint made
        with other constants (its samples would not be comparable). Raises ``ValueError`` when
        a field breaks the invariants in a way the round trip could not preserve.
        """
        digest = bytes.fromhex(self.text_hash)
        if digest.hex() != self.text_hash or len(digest) > 255:
            raise ValueError(f"text_hash is not lowercase hex of <= 255 bytes: {self.text_hash!r}")
        try:
            header = _HEADER.pack(
                _FORMAT_VERSION,
                SHINGLE_WORDS,
                SAMPLE_MOD,
                MIN_SAMPLES,
                len(digest),
                self.words,
                len(self.samples),
                len(self.paragraphs),
            )
            body = array("q", self.samples)
            body.extend(self.paragraphs)
        except (struct.error, OverflowError) as exc:
            raise ValueError(f"fingerprint field out of range: {exc}") from exc
        if sys.byteorder == "big":  # pragma: no cover - stored form is little-endian
            body.byteswap()
        return header + digest + body.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        """The fingerprint ``to_bytes`` wrote; ``ValueError`` on a malformed or foreign blob."""
        if len(data) < _HEADER.size:
            raise ValueError("fingerprint blob too short")
        version, shingle, mod, min_samples, hlen, words, ns, np_ = _HEADER.unpack_from(data)
        if version != _FORMAT_VERSION:
            raise ValueError(f"unknown fingerprint format version {version}")
        if (shingle, mod, min_samples) != (SHINGLE_WORDS, SAMPLE_MOD, MIN_SAMPLES):
            raise ValueError(
                f"fingerprint made with shingle={shingle} mod={mod} min={min_samples}; "
                "re-fingerprint its text"
            )
        start = _HEADER.size + hlen
        if len(data) != start + 8 * (ns + np_):
            raise ValueError("fingerprint blob has the wrong length")
        body = array("q")
        body.frombytes(data[start:])
        if sys.byteorder == "big":  # pragma: no cover
            body.byteswap()
        return cls(
            text_hash=data[_HEADER.size : start].hex(),
            samples=tuple(body[:ns]),
            paragraphs=tuple(body[ns:]),
            words=words,
        )


def fingerprint(text: str) -> Fingerprint:
    """The fingerprint of one article's text (paragraphs separated by blank lines)."""
    normalised = _normalise(text)
    marked = _paragraphs(normalised)
    flat = marked.replace("\n", " ")
    return Fingerprint(
        text_hash=hashlib.blake2b(flat.encode("utf-8"), digest_size=16).hexdigest(),
        samples=_sample(_shingle_hashes(normalised)),
        paragraphs=tuple(_hash63(p) for p in marked.split("\n")) if marked else (),
        words=flat.count(" ") + 1 if flat else 0,
    )


@dataclass(frozen=True, kw_only=True)
class Similarity:
    """Sample-set overlap of A and B: ``shared`` = |A∩B|, ``resemblance`` = |A∩B|/|A∪B|,
    ``a_in_b`` = |A∩B|/|A|, ``b_in_a`` = |A∩B|/|B| (each 0.0 when its denominator is 0)."""

    shared: int
    resemblance: float
    a_in_b: float
    b_in_a: float


def _fillers(samples: tuple[int, ...]) -> bool:
    return len(samples) <= MIN_SAMPLES and any(s % SAMPLE_MOD for s in samples)


def compare(a: Fingerprint, b: Fingerprint) -> Similarity:
    """Exact set arithmetic on the kept samples.

    Short texts: when exactly one side carries short-text fillers (kept hashes that are not
    ``0 mod SAMPLE_MOD``), those fillers are left out of that side's set, because the other
    side could never have kept them: containment of a short excerpt in a long original stays
    unbiased (and is 0.0 when no "0 mod p" sample is left). Two short texts, or two long ones,
    are compared on everything they kept.
    """
    sa, sb = a.samples, b.samples
    fa, fb = _fillers(sa), _fillers(sb)
    if fa and not fb:
        sa = tuple(s for s in sa if s % SAMPLE_MOD == 0)
    elif fb and not fa:
        sb = tuple(s for s in sb if s % SAMPLE_MOD == 0)
    shared = len(set(sa).intersection(sb))
    union = len(sa) + len(sb) - shared
    return Similarity(
        shared=shared,
        resemblance=shared / union if union else 0.0,
        a_in_b=shared / len(sa) if sa else 0.0,
        b_in_a=shared / len(sb) if sb else 0.0,
    )
