"""What ``app.sql`` may run, and which tables a statement reads.

``app.sql`` runs one statement that reads. DuckDB's statement type alone does not
tell: ``EXPLAIN ANALYZE`` runs the statement it explains, a ``WITH`` clause may hold
an INSERT, UPDATE, DELETE or ``COPY ... TO`` (the statement is still a SELECT), and
most PRAGMAs change settings (``enable_profiling``) or the database
(``force_checkpoint``, ``import_database``). So a statement is judged by kind:

- SELECT (and DESCRIBE, SHOW, SUMMARIZE, FROM-first, VALUES): allowed unless its
  parse tree holds a query node other than a SELECT (a writing ``WITH`` clause) or
  calls a table function that changes settings or the database
  (``FROM enable_profiling()``, ``FROM checkpoint()``: ``_SIDE_EFFECT_FUNCTIONS``).
- EXPLAIN [ANALYZE]: judged by the statement it explains.
- PRAGMA: only those that report (``_REPORTING_PRAGMAS``).
- anything else (INSERT, COPY, ATTACH, SET, CALL, ...): refused.

``check_read_only`` also says whether a statement should run inside a
``READ ONLY`` transaction as a second guard: statements the parse tree cannot
vouch for (EXPLAIN, PRAGMA, a SELECT DuckDB cannot serialize) do. A plain SELECT
does not; the transaction would add ~75 µs to a ~190 µs ``app.sql("SELECT 1")``.
"""

from __future__ import annotations

import atexit
import functools
import re
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from nbreactive.errors import SqlError

__all__ = ["check_read_only", "tables_read"]

# Statement types that may read only (subject to the checks below). RELATION comes
# from DuckDB's relational API, never from SQL text.
_READ_ONLY = {"SELECT", "EXPLAIN", "PRAGMA", "RELATION"}

# PRAGMAs that only report (``SELECT * FROM duckdb_functions() WHERE function_type =
# 'pragma'`` lists them all; the rest change settings or the database).
_REPORTING_PRAGMAS = frozenset({
    "collations", "database_list", "database_size", "extension_versions", "functions",
    "metadata_info", "platform", "show", "show_databases", "show_tables",
    "show_tables_expanded", "storage_info", "table_info", "user_agent", "version",
})

# Query nodes that only read; any other (INSERT_QUERY_NODE, DELETE_QUERY_NODE,
# UPDATE_QUERY_NODE, COPY_QUERY_NODE, ...) writes.
_READING_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})

# A statement can only hold a writing WITH clause if one of these words occurs in it
# (a CTE body is a SELECT, INSERT, UPDATE, DELETE or COPY TO): most statements skip
# the parse tree (~0.1-0.2 ms the first time a statement is seen).
_WRITE_WORDS = re.compile(r"\b(?:insert|update|delete|copy|merge)\b", re.IGNORECASE)

# Table functions that change settings or the database, which a SELECT would run
# (``SELECT function_name FROM duckdb_functions() WHERE function_type = 'table'``
# lists them all; the others read). json_execute_serialized_sql runs any serialized
# statement, a writing WITH clause included, that no word in the text gives away.
_SIDE_EFFECT_FUNCTIONS = frozenset({
    "checkpoint", "force_checkpoint",
    "enable_profiling", "disable_profiling",
    "enable_logging", "disable_logging", "truncate_duckdb_logs",
    "json_execute_serialized_sql",
    "create_external_resource", "destroy_external_resource", "register_external_resource",
    "deregister_external_resource", "register_external_resource_type",
})
# A statement can only call one if its lower-cased text holds the name (DuckDB folds
# identifier case, quoted ones too): most statements skip the parse tree. Names that
# contain another (force_checkpoint) are covered by it. ``in`` tests on the lower-cased
# text: ~0.5 µs for a 90-character statement (an IGNORECASE regex took ~4 µs).
_SIDE_EFFECT_WORDS = tuple(sorted(
    n for n in _SIDE_EFFECT_FUNCTIONS
    if not any(m != n and m in n for m in _SIDE_EFFECT_FUNCTIONS)
))


def _names_side_effect_function(text: str) -> bool:
    low = text.lower()
    return any(name in low for name in _SIDE_EFFECT_WORDS)

# Whitespace and comments between keywords.
_GAP = r"(?:\s|/\*.*?\*/|--[^\n]*(?:\n|$))"
_PRAGMA_NAME = re.compile(rf'{_GAP}*pragma{_GAP}*"?([A-Za-z_][A-Za-z0-9_]*)', re.IGNORECASE | re.DOTALL)
_EXPLAIN = re.compile(rf"{_GAP}*explain{_GAP}*(?:analy[sz]e\b{_GAP}*)?", re.IGNORECASE | re.DOTALL)
_EXPLAIN_OPTIONS = re.compile(r"""\((?:[^()'"]|'[^']*'|"[^"]*")*\)\s*""")

# Statement types that change data (the others change settings, attach files, ...).
_DATA_WRITES = frozenset({
    "INSERT", "UPDATE", "DELETE", "MERGE_INTO", "CREATE", "CREATE_FUNC", "DROP", "ALTER",
    "COPY", "COPY_DATABASE",
})
_WHAT_RUNS = (
    "It runs SELECT (also DESCRIBE, SHOW, SUMMARIZE, and table functions such as "
    "SELECT * FROM pragma_table_info('posts')), EXPLAIN [ANALYZE] of those, and the "
    "PRAGMAs that only report."
)
_USE_MUTATIONS = (
    "Change data through mutations (app.run_mutation / ctx.db.insert, patch, replace, "
    "delete) so that validation, transactions and live queries stay correct."
)


def check_read_only(cur: Any, statement: Any) -> bool:
    """Raise ``SqlError`` unless ``statement`` (one of ``cur.extract_statements``) only
    reads. Returns whether to run it inside a ``READ ONLY`` transaction too."""
    kind = statement.type.name
    text = statement.query
    if kind not in _READ_ONLY:
        hint = _USE_MUTATIONS if kind in _DATA_WRITES else _WHAT_RUNS
        raise SqlError(f"app.sql is read-only: {kind} statements are refused. {hint}")
    if kind == "PRAGMA":
        m = _PRAGMA_NAME.match(text)
        if m is None:
            raise SqlError("app.sql could not tell which PRAGMA this is, so it is refused. "
                           "Write PRAGMA name or PRAGMA name('argument').")
        name = m.group(1).lower()
        if name not in _REPORTING_PRAGMAS:
            raise SqlError(
                f"app.sql is read-only: PRAGMA {name} changes a setting or the database and "
                f"is refused. PRAGMAs that only report are allowed: "
                f"{', '.join(sorted(_REPORTING_PRAGMAS))}. To profile a query, write "
                "EXPLAIN ANALYZE SELECT ..."
            )
        return True
    if kind == "EXPLAIN":
        inner = _explained(cur, text)
        if inner is None:
            raise SqlError(
                "app.sql could not tell which statement this EXPLAIN explains, so it is "
                "refused. Write EXPLAIN SELECT ... or EXPLAIN ANALYZE SELECT ..."
            )
        try:
            check_read_only(cur, inner)
        except SqlError as e:
            reason = str(e).removeprefix("app.sql is read-only: ")
            raise SqlError(
                "app.sql is read-only: EXPLAIN takes only statements app.sql runs itself "
                f"(EXPLAIN ANALYZE runs the statement it explains), and {reason}"
            ) from None
        return True
    if kind == "SELECT" and _names_side_effect_function(text):
        _check_table_functions(text)
    if kind == "SELECT" and _WRITE_WORDS.search(text):
        writes = _parsed(text).writes
        if writes is None:
            return True
        if writes:
            raise SqlError(
                f"app.sql is read-only: this statement's WITH clause runs "
                f"{' and '.join(writes)}. {_USE_MUTATIONS}"
            )
    return False


def _check_table_functions(text: str) -> None:
    """Refuse a statement that calls a table function in ``_SIDE_EFFECT_FUNCTIONS``
    (its text holds one of their names)."""
    parsed = _parsed(text)
    if parsed.writes is None:
        # A READ ONLY transaction would not stop them (settings, checkpoints).
        raise SqlError(
            "app.sql could not parse this statement to check that it calls none of the "
            f"table functions that change settings or the database "
            f"({', '.join(sorted(_SIDE_EFFECT_FUNCTIONS))}), and its text names one, so "
            "it is refused. Write it as a plain SELECT."
        )
    if parsed.effects:
        names = ("table function " if len(parsed.effects) == 1 else "table functions ") + (
            " and ".join(f"{n}()" for n in parsed.effects)
        )
        hint = (
            " To profile a query, write EXPLAIN ANALYZE SELECT ..."
            if any("profiling" in n for n in parsed.effects)
            else ""
        )
        raise SqlError(
            f"app.sql is read-only: this statement calls the {names}, which "
            f"{'change' if len(parsed.effects) > 1 else 'changes'} a setting or the "
            f"database, and is refused.{hint}"
        )


def _explained(cur: Any, text: str) -> Any:
    """The statement an EXPLAIN statement explains (as ``extract_statements`` gives it),
    or None if it cannot be told."""
    m = _EXPLAIN.match(text)
    if m is None:
        return None
    rest = text[m.end():]
    candidates = [rest]
    options = _EXPLAIN_OPTIONS.match(rest)
    if options is not None:
        # EXPLAIN (ANALYZE, FORMAT json) SELECT ... - or EXPLAIN (SELECT 1), whose
        # parenthesis is the statement itself: the remainder then does not parse.
        candidates.insert(0, rest[options.end():])
    for candidate in candidates:
        try:
            statements = cur.extract_statements(candidate)
        except Exception:
            continue
        if len(statements) == 1:
            return statements[0]
    return None


def tables_read(query: str) -> frozenset[str]:
    """The tables ``query`` reads, named by DuckDB's own parser.

    Walks the statement's parse tree (``json_serialize_sql``, which accepts ``?``
    parameters) for base-table references. CTE names may be included; they match no
    table, so they cost nothing. A table function (``query_table('t')``,
    ``read_parquet(...)``) yields ``"*"``: the statement may read any table. A
    statement DuckDB cannot parse that way yields the names ``duckdb.get_table_names``
    finds, or none; running it then reports the actual problem.
    """
    return _parsed(query).tables


@dataclass(frozen=True)
class _Parsed:
    tables: frozenset[str]
    # The kinds of writing query nodes in the tree ("DELETE", "COPY", ...); None when
    # DuckDB could not serialize the statement's tree.
    writes: tuple[str, ...] | None
    # The table functions in ``_SIDE_EFFECT_FUNCTIONS`` the statement calls.
    effects: tuple[str, ...] = ()


_parser_lock = threading.Lock()
_parser: list[Any] = []  # a private in-memory connection, made on first use


def _close_parser() -> None:
    with _parser_lock:
        while _parser:
            _parser.pop().close()


@functools.lru_cache(maxsize=512)
def _parsed(query: str) -> _Parsed:
    import duckdb

    try:
        with _parser_lock:
            if not _parser:
                _parser.append(duckdb.connect(":memory:"))
                atexit.register(_close_parser)
            row = _parser[0].execute("SELECT json_serialize_sql(?)", [query]).fetchone()
        tree = orjson.loads(row[0])
    except duckdb.Error:
        return _Parsed(frozenset(), None)
    if tree.get("error"):
        try:
            return _Parsed(frozenset(duckdb.get_table_names(query)), None)
        except duckdb.Error:
            return _Parsed(frozenset(), None)
    names: set[str] = set()
    writes: list[str] = []
    effects: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "BASE_TABLE" and isinstance(node.get("table_name"), str):
                names.add(node["table_name"])
            elif kind == "TABLE_FUNCTION":
                # query_table('t'), query('...') and friends name tables in strings: the
                # statement may read any table.
                names.add("*")
                function = node.get("function")
                name = function.get("function_name") if isinstance(function, dict) else None
                if isinstance(name, str):
                    name = name.lower()
                    if name in _SIDE_EFFECT_FUNCTIONS and name not in effects:
                        effects.append(name)
            elif isinstance(kind, str) and kind.endswith("_NODE") and kind not in _READING_NODES:
                write = kind.removesuffix("_NODE").removesuffix("_QUERY")
                if write not in writes:
                    writes.append(write)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return _Parsed(frozenset(names), tuple(writes), tuple(sorted(effects)))
