"""The `pledgewatch` command line. Each module registers the commands of one area on ``app``."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.exc import DatabaseError

# Each module registers the commands of its area on ``app`` when imported.
from pledgewatch.cli import cluster, crawl, daemon, db, extract, pledges, report, rescan, search  # noqa: F401
from pledgewatch.cli.app import CREATED_ARCHIVES, app
from pledgewatch.errors import PledgewatchError

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; user errors become one line on stderr and an exit code, never a traceback.

    Typer's standalone mode already turns usage errors into a message and exit code 2; errors
    raised by pledgewatch itself are caught here.
    """
    try:
        app(prog_name="pledgewatch")
    except SystemExit as exc:
        # The creation itself was announced when it happened (cli/app.py).
        if exc.code not in (0, None):
            _remove_created_archives()
        raise
    except PledgewatchError as exc:
        _remove_created_archives()
        # Plain print: a console would wrap long paths across lines.
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except DatabaseError as exc:
        from pledgewatch.store.db import database_failure

        failure = database_failure(exc)
        if failure is None:
            raise
        _remove_created_archives()
        print(f"error: {failure}", file=sys.stderr)
        sys.exit(failure.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def _remove_created_archives() -> None:
    """A command that failed leaves no empty archive behind (e.g. at a mistyped --db path).

    Only an archive that is still empty goes: whatever a failing command did store is kept.
    """
    from pledgewatch.store.db import archive_is_empty

    for path in CREATED_ARCHIVES:
        if archive_is_empty(path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            # Its creation was announced: say that it is gone again.
            print(f"note: removed the new archive at {path} again (still empty)", file=sys.stderr)
