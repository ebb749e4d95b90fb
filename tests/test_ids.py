"""Document ids: ``decode_table_number`` accepts exactly the canonical v6 ids.

The decoder is checked against an independent reference written here with the
standard library's base32 (RFC 4648 alphabet mapped from Crockford's), on fresh ids
and on every kind of damage: changed characters, wrong lengths, foreign characters,
non-canonical trailing bits, a zero table number.
"""

from __future__ import annotations

import base64
import random

import pytest

from nbreactive.storage.ids import decode_table_number, new_id, new_ids

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_TO_RFC = str.maketrans(_CROCKFORD, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
decode = decode_table_number.__wrapped__  # uncached: every case is decoded afresh


def reference(text: str) -> int | None:
    if not 31 <= len(text) <= 37 or not set(text) <= set(_CROCKFORD):
        return None
    rfc = text.translate(_TO_RFC)
    try:
        raw = base64.b32decode(rfc + "=" * (-len(rfc) % 8))
    except ValueError:
        return None
    if base64.b32encode(raw).decode().rstrip("=") != rfc:
        return None
    body, footer = raw[:-2], raw[-2:]
    s1 = sum(body) & 0xFF
    s2 = sum(b * (len(body) - k) for k, b in enumerate(body)) & 0xFF
    if bytes((s1, s2)) != footer:
        return None
    n = shift = 0
    for k, b in enumerate(body):
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n if n > 0 and len(body) - (k + 1) == 16 else None
        if k >= 4:
            return None
    return None


@pytest.mark.parametrize("table", [1, 2, 127, 128, 300, 16_383, 16_384, 2_000_000, 2**31 - 1])
def test_fresh_ids_decode_to_their_table(table: int) -> None:
    rng = random.Random(table)
    for doc_id in [new_id(table, rng) for _ in range(50)] + new_ids(table, 50, rng, 1.7e9):
        assert decode(doc_id) == table == reference(doc_id)


def test_damaged_ids_are_refused_exactly_as_the_reference_does() -> None:
    rng = random.Random(7)
    accepted = refused = 0
    for table in (1, 5, 129, 70_000):
        for _ in range(100):
            doc_id = new_id(table, rng)
            for _ in range(10):
                k = rng.randrange(len(doc_id))
                damaged = doc_id[:k] + rng.choice(_CROCKFORD) + doc_id[k + 1 :]
                got = decode(damaged)
                assert got == reference(damaged), damaged
                accepted += got is not None
                refused += got is None
    assert refused > accepted > 0  # both outcomes exercised (unchanged chars are accepted)


def test_noncanonical_trailing_bits_are_refused() -> None:
    doc_id = new_id(3, random.Random(1))
    last = _CROCKFORD.index(doc_id[-1])
    pad = (5 * len(doc_id)) % 8  # unused low bits of the last character
    assert pad > 0
    for bit in range(pad):
        bad = doc_id[:-1] + _CROCKFORD[last ^ (1 << bit)]
        assert decode(bad) is None and reference(bad) is None


@pytest.mark.parametrize(
    "text",
    ["", "abc", "0" * 30, "0" * 38, "u" * 32, "I" * 32, "ilou" * 8, "z" * 32, "0" * 32, 12345, None],
)
def test_non_ids_are_refused(text: object) -> None:
    assert decode(text) is None


def test_random_strings_agree_with_the_reference() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        text = "".join(rng.choice(_CROCKFORD) for _ in range(rng.randrange(29, 40)))
        assert decode(text) == reference(text)


@pytest.mark.parametrize("table", [1, 10_001, 16_389, 2_000_000])
def test_impossible_lengths_are_refused(table: int) -> None:
    # No byte string encodes to 33 or 35 characters; an id with a "0" appended would
    # otherwise pass every other check (its extra bits are zero).
    doc_id = new_id(table, random.Random(table))
    for bad in (doc_id + "0", doc_id + "00", doc_id[:-1]):
        assert decode(bad) is None and reference(bad) is None, (len(bad), bad)


def test_an_id_with_a_character_appended_is_not_an_id_of_the_app() -> None:
    import nbreactive as nr
    from nbreactive import v

    with nr.App() as app:

        @app.mutation()
        def add(ctx):
            return ctx.db.insert("t", {})

        @app.mutation(args={"ref": v.id("t")})
        def link(ctx, ref):
            return ctx.db.insert("links", {"ref": ref})

        good = add()
        assert link(ref=str(good))
        with pytest.raises(nr.ValidationError):
            link(ref=str(good) + "0")
