"""Document ids in Convex's v6 format.

An id is ``VInt(table_number) ‖ 14 random bytes ‖ 2-byte big-endian day number ‖
footer``, where the footer is a wrapping (mod 256) Fletcher-16 checksum of the
preceding bytes, little-endian, and the whole is written in lowercase Crockford
base32 without padding (31-37 characters). The table number makes an id
self-describing: ``decode_table_number`` tells which table an id belongs to
without any lookup in the data, which is how ``v.id("users")`` checks plain
strings coming from remote clients.

Ids are opaque to users; nothing may depend on their layout except this module.
"""

from __future__ import annotations

import functools
import operator
import random
import time

__all__ = ["decode_table_number", "new_id"]

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_TO_BASE32_DIGITS = str.maketrans(_CROCKFORD, "0123456789abcdefghijklmnopqrstuv")
_VALID_CHARS = frozenset(_CROCKFORD)


def _vint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_WEIGHTS = tuple(range(64, 0, -1))
# Base32 two characters at a time: every 10-bit value -> its two Crockford characters.
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)


def _fletcher16(data: bytes) -> int:
    # s1 is the byte sum; s2 sums the running s1, i.e. each byte weighted by how many
    # prefixes contain it. Both mod 256 (wrapping u8 arithmetic), computed in C.
    n = len(data)
    s1 = sum(data) & 0xFF
    s2 = sum(map(operator.mul, data, _WEIGHTS[64 - n :])) & 0xFF
    return (s2 << 8) | s1


def _base32(raw: bytes) -> str:
    """Unpadded lowercase Crockford base32 of ``raw`` (RFC 4648 bit order)."""
    nbits = len(raw) * 8
    pad = -nbits % 10
    npairs = (nbits + pad) // 10
    n = int.from_bytes(raw, "big") << pad
    text = "".join([_PAIRS[(n >> (10 * k)) & 1023] for k in range(npairs - 1, -1, -1)])
    return text[: (nbits + 4) // 5]


def new_id(table_number: int, rng: random.Random, now_seconds: float | None = None) -> str:
    """A fresh id for a document of the table numbered ``table_number``.

    ``rng`` supplies the 14 random bytes, so a seeded transaction produces
    reproducible ids. Cost: a few microseconds.
    """
    if table_number <= 0:
        raise ValueError("table numbers start at 1")
    day = int((time.time() if now_seconds is None else now_seconds) // 86400) & 0xFFFF
    body = _vint(table_number) + rng.getrandbits(112).to_bytes(14, "big") + day.to_bytes(2, "big")
    footer = _fletcher16(body).to_bytes(2, "little")
    return _base32(body + footer)


def new_ids(table_number: int, count: int, rng: random.Random, now_seconds: float) -> list[str]:
    """``count`` fresh ids of one table at once (bulk imports): the shared prefix and
    suffix, and their share of the checksum, are computed once."""
    if table_number <= 0:
        raise ValueError("table numbers start at 1")
    prefix = _vint(table_number)
    suffix = (int(now_seconds // 86400) & 0xFFFF).to_bytes(2, "big")
    n = len(prefix) + 16
    weights = _WEIGHTS[64 - n :]
    w_random = weights[len(prefix) : len(prefix) + 14]
    s1_fixed = sum(prefix) + sum(suffix)
    s2_fixed = sum(map(operator.mul, prefix, weights)) + sum(
        map(operator.mul, suffix, weights[-2:])
    )
    raw = rng.randbytes(14 * count)
    out = []
    mul = operator.mul
    for k in range(0, 14 * count, 14):
        chunk = raw[k : k + 14]
        s1 = (s1_fixed + sum(chunk)) & 0xFF
        s2 = (s2_fixed + sum(map(mul, chunk, w_random))) & 0xFF
        out.append(_base32(prefix + chunk + suffix + bytes((s1, s2))))
    return out


@functools.lru_cache(maxsize=1 << 16)
def decode_table_number(text: str) -> int | None:
    """The table number encoded in ``text``, or None when it is not a valid id.

    Checks the alphabet, the length, the canonical encoding and the footer.
    Cached: the same ids are checked again and again (arguments, ``db.get``).
    """
    if not isinstance(text, str) or not 31 <= len(text) <= 37 or not _VALID_CHARS.issuperset(text):
        return None
    # Crockford's alphabet maps one-to-one onto the digits of int(..., 32).
    nbits = 5 * len(text)
    pad = nbits % 8
    if pad >= 5:  # 33 or 35 characters: no byte string encodes to this length
        return None
    n = int(text.translate(_TO_BASE32_DIGITS), 32)
    if n & ((1 << pad) - 1):  # non-canonical: the padding bits must be zero
        return None
    raw = (n >> pad).to_bytes(nbits // 8, "big")
    body, footer = raw[:-2], raw[-2:]
    if _fletcher16(body).to_bytes(2, "little") != footer:
        return None
    n = shift = 0
    for i, b in enumerate(body):
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if len(body) - (i + 1) != 16:
                return None
            return n if n > 0 else None
        if i >= 4:
            return None
    return None
