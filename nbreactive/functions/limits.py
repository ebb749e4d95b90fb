"""Per-transaction limits, with Convex's defaults and its error messages.

Convex counts every document a transaction scans (filtered-out ones included),
the bytes of those documents, the index ranges read (each ``db.get`` and each
``db.query`` is one), and the documents and bytes written. Exceeding any of them
aborts the transaction with ``LimitExceededError``; nothing is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbreactive.errors import LimitExceededError

__all__ = ["SYSTEM_LIMITS", "TransactionLimits"]

_ADVICE = (
    "Consider using smaller limits in your queries, paginating your queries, or using "
    "indexed queries with a selective index range expression."
)


@dataclass(frozen=True)
class TransactionLimits:
    """Limits of one query or mutation (Convex's current defaults).

    Example::

        app = nr.App(limits=nr.TransactionLimits(documents_scanned=1_000))
    """

    documents_scanned: int = 32_000
    bytes_read: int = 16 * 1024 * 1024
    index_ranges_read: int = 4_096
    documents_written: int = 16_000
    bytes_written: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TransactionLimits.{name} must be a positive int, got {value!r}")

    def too_many_scanned(self) -> LimitExceededError:
        return LimitExceededError(
            "Too many documents read in a single function execution "
            f"(limit: {self.documents_scanned}). {_ADVICE}"
        )

    def too_many_bytes_read(self) -> LimitExceededError:
        return LimitExceededError(
            f"Too many bytes read in a single function execution (limit: {self.bytes_read} "
            f"bytes). {_ADVICE}"
        )

    def too_many_ranges(self) -> LimitExceededError:
        return LimitExceededError(
            "Too many reads in a single function execution "
            f"(limit: {self.index_ranges_read}). {_ADVICE}"
        )

    def too_many_writes(self) -> LimitExceededError:
        return LimitExceededError(
            "Too many writes in a single function execution "
            f"(limit: {self.documents_written}). Split the work across several mutations, "
            "e.g. one per page of a paginated query, scheduling the next from each."
        )

    def too_many_bytes_written(self) -> LimitExceededError:
        return LimitExceededError(
            f"Too many bytes written in a single function execution (limit: "
            f"{self.bytes_written} bytes). Split the work across several mutations."
        )


#: nbreactive's own reads and writes of system tables (a job's bookkeeping, a
#: mutation's de-duplication record) do not count against the user's limits.
SYSTEM_LIMITS = TransactionLimits(documents_scanned=2**62, bytes_read=2**62, index_ranges_read=2**62,
                                  documents_written=2**62, bytes_written=2**62)
