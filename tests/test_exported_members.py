"""The public surface of ``nbreactive`` is exactly its ``__all__``.

Like ``encode/httpx:tests/test_exported_members.py``: adding a public name to
``nbreactive/__init__.py`` without listing it (or the reverse) fails here, so the
surface changes only on purpose.
"""

from __future__ import annotations

import types

import nbreactive


def _public_attributes() -> set[str]:
    """Names a user sees on ``nbreactive``: not private, not a submodule.

    ``from __future__ import annotations`` binds ``annotations`` in the module; it
    is a compiler flag, not part of the API.
    """
    return {
        name
        for name, value in vars(nbreactive).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"
    }


def test_every_name_in_all_exists() -> None:
    missing = [name for name in nbreactive.__all__ if not hasattr(nbreactive, name)]
    assert missing == [], f"listed in nbreactive.__all__ but not defined: {missing}"


def test_all_is_sorted_without_duplicates() -> None:
    names = list(nbreactive.__all__)
    assert names == sorted(set(names)), "keep nbreactive.__all__ sorted (plain sorted()), once each"


def test_every_public_attribute_is_in_all() -> None:
    unlisted = sorted(_public_attributes() - set(nbreactive.__all__))
    assert unlisted == [], (
        f"public in nbreactive but not in __all__: {unlisted}; "
        "add them to __all__ or import them under a private name"
    )
