"""Layer 4: queries as plain data (see ``docs/DESIGN.md``).

- ``index_range``: ``IndexRangeBuilder`` → ``IndexRange`` (the byte interval ``[lo, hi)``)
- ``filter``: ``FilterBuilder`` → ``Expr`` trees, compiled to closures with Convex semantics
- ``plan``: ``QueryPlan`` (source, order, filters; ``fingerprint``) and the ``Reader`` protocol
- ``pagination``: opaque cursors and ``paginate`` options
- ``query``: the ``Query`` builder and its terminals
"""

from __future__ import annotations

from nbreactive.query.filter import Expr, FilterBuilder, compile_filter, evaluate
from nbreactive.query.index_range import IndexBound, IndexRange, IndexRangeBuilder
from nbreactive.query.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from nbreactive.query.plan import QueryPlan, Reader
from nbreactive.query.query import MAX_QUERY_OPERATORS, Query

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_QUERY_OPERATORS",
    "Expr",
    "FilterBuilder",
    "IndexBound",
    "IndexRange",
    "IndexRangeBuilder",
    "Query",
    "QueryPlan",
    "Reader",
    "compile_filter",
    "decode_cursor",
    "encode_cursor",
    "evaluate",
]
