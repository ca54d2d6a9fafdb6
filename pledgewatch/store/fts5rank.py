"""Whether SQLite connections in this process have ``pw_bm25``, the ranking function of ``_fts5rank.c``.

Importing ``pledgewatch.store._fts5rank`` registers the function on every SQLite connection opened
afterwards (``sqlite3_auto_extension``), so :mod:`pledgewatch.store.db` imports this module before it
creates any engine. The registration only reaches Python's own connections when the compiled module
and Python's ``sqlite3`` share one SQLite library (a system SQLite on Linux; not a Python that
bundles its own copy). A self-test on an in-memory table says whether it did; where it did not, or
where the module was not built (no C compiler at install time), search ranks with FTS5's ``bm25()``
and stays correct, only slower for very common words in a large archive.

``PLEDGEWATCH_SEARCH_RANKING=bm25`` turns ``pw_bm25`` off (to compare, or to rule it out).
"""

from __future__ import annotations

import os
import sqlite3

RANKING_ENV = "PLEDGEWATCH_SEARCH_RANKING"


def _self_test() -> str | None:
    """None when pw_bm25 works on a new connection and agrees with bm25(); else why not."""
    try:
        from pledgewatch.store import _fts5rank
    except ImportError as exc:
        return f"the compiled ranking module is not installed ({exc})"
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE t USING fts5(title, body)")
        connection.executemany(
            "INSERT INTO t VALUES (?, ?)",
            [("pledge in Hubei", "JD will invest in Hubei"), ("other news", "nothing here"), ("a", "Hubei")],
        )
        rows = connection.execute(
            "SELECT bm25(t, 10.0, 1.0), pw_bm25(t, 10.0, 1.0, -1.0) FROM t WHERE t MATCH 'hubei'"
        ).fetchall()
    except sqlite3.Error as exc:
        return (
            f"pw_bm25 is not registered on Python's SQLite {sqlite3.sqlite_version} "
            f"(the module is linked to SQLite {_fts5rank.sqlite_version()}): {exc}"
        )
    finally:
        connection.close()
    if not rows or any(abs(builtin - ours) > 1e-9 * max(1.0, abs(builtin)) for builtin, ours in rows):
        return f"pw_bm25 disagrees with bm25() on a test table: {rows}"
    return None


UNAVAILABLE_REASON = _self_test()


def enabled() -> bool:
    """Rank SQLite searches with pw_bm25 (estimated document frequencies) instead of bm25()?"""
    return UNAVAILABLE_REASON is None and os.environ.get(RANKING_ENV, "").strip().lower() != "bm25"


def describe() -> str:
    """One line for benchmarks and ``db info``-style diagnostics."""
    if UNAVAILABLE_REASON is not None:
        return f"bm25() (pw_bm25 unavailable: {UNAVAILABLE_REASON})"
    if not enabled():
        return f"bm25() ({RANKING_ENV}=bm25)"
    return "pw_bm25 (bm25 with document frequencies estimated from the newest articles)"
