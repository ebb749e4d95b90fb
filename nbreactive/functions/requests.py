"""Exactly-once mutations over the sync protocol: the ``_session_requests`` table.

A Convex client numbers its mutations per session and sends again, after a
reconnect, every mutation whose answer it has not seen. So a mutation that ran
must be recognised by its (session id, request id) and answered with its first
result instead of running twice, also after a restart of the server. Its record
is written by the same transaction as the mutation's own writes: either both
are durable or neither is.

Only mutations that wrote something are recorded: one that wrote nothing (or
failed, which writes nothing) can run again without anyone noticing. Records
are kept ``RETENTION_SECONDS`` (a client resends within seconds of
reconnecting) and at most ``MAX_RECORDS`` in all; each recording transaction
deletes up to a few expired ones, so the table stays small without a
background task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbreactive.errors import FunctionError
from nbreactive.schema.system import SESSION_REQUESTS
from nbreactive.values.model import MAX_VALUE_NESTING, normalize_value
from nbreactive.values.sizes import document_size

if TYPE_CHECKING:
    from nbreactive.functions.transaction import Transaction

__all__ = ["MAX_RECORDS", "MAX_RESULT_BYTES", "RETENTION_SECONDS", "Request", "find", "record"]

RETENTION_SECONDS = 600.0
MAX_RECORDS = 20_000
# Larger results are not kept (a resend is told the mutation ran): the records live in
# memory, so they stay within MAX_RECORDS * MAX_RESULT_BYTES (320 MiB) at worst and
# are typically a few bytes each (an id, a count).
MAX_RESULT_BYTES = 16 * 1024
# Expired records deleted per recording transaction (more than one: the table
# shrinks back after a burst).
_PRUNE_PER_WRITE = 4
_END = b"\xff"  # above every index key


@dataclass(frozen=True)
class Request:
    """A mutation's identity on the sync protocol."""

    session: str
    request_id: int


def find(tx: Transaction, request: Request) -> tuple[bool, Any]:
    """``(True, result)`` if ``request`` ran and committed already, else ``(False, None)``.

    Reads through the transaction's view, so a first run still on its way to
    DuckDB counts as having run.
    """
    doc = _lookup(tx, request)
    if doc is None:
        return False, None
    if doc.get("resultTooLarge"):
        raise FunctionError(
            f"mutation request {request.request_id} of this session already ran and its writes "
            f"are committed, but its result (over {MAX_RESULT_BYTES} bytes) was not kept for a "
            "resend: do not run it again; read the data instead"
        )
    return True, doc.get("result")


def record(tx: Transaction, request: Request, result: Any) -> None:
    """Record ``request``'s result in ``tx`` (the mutation's own transaction)."""
    doc: dict[str, Any] = {"sessionId": request.session, "requestId": request.request_id}
    if result is not None:
        doc["result"] = normalize_value(result, max_nesting=MAX_VALUE_NESTING)  # a copy: the caller keeps its own
    if document_size(doc) > MAX_RESULT_BYTES:
        doc = {"sessionId": request.session, "requestId": request.request_id,
               "resultTooLarge": True}
    tx.insert(SESSION_REQUESTS, doc, system=True)
    _prune(tx)


def _lookup(tx: Transaction, request: Request) -> dict[str, Any] | None:
    # A direct probe of the index (a resent request is rare; this runs for every one).
    return next(tx.scan_prefix(SESSION_REQUESTS, "by_request", (request.session, request.request_id)), None)


def _prune(tx: Transaction) -> None:
    over = tx.count(SESSION_REQUESTS, "by_creation_time", b"", _END) - MAX_RECORDS
    cutoff = (tx.now - RETENTION_SECONDS) * 1000.0
    budget = _PRUNE_PER_WRITE + min(max(over, 0), _PRUNE_PER_WRITE)
    doomed: list[str] = []
    for _, doc in tx.scan(SESSION_REQUESTS, "by_creation_time", b"", _END, False):
        if len(doomed) == budget or (over <= 0 and doc["_creationTime"] >= cutoff):
            break
        doomed.append(doc["_id"])
        over -= 1
    for doc_id in doomed:
        tx.delete(doc_id, SESSION_REQUESTS, system=True)
