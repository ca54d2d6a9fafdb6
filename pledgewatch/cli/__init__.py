"""The `pledgewatch` command line. Each module registers the commands of one area on ``app``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from sqlalchemy.exc import DatabaseError

# The click that this typer vendors (its exceptions are not click's own).
from typer._click import exceptions as click_exceptions

# Each module registers the commands of its area on ``app`` when imported.
from pledgewatch.cli import (  # noqa: F401
    cluster,
    crawl,
    daemon,
    db,
    extract,
    overrides,
    pledges,
    report,
    rescan,
    search,
)
from pledgewatch.cli.app import CREATED_ARCHIVES, app
from pledgewatch.errors import PledgewatchError
from pledgewatch.importing import spare_the_collector

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; user errors become one line on stderr and an exit code, never a traceback.

    Typer's standalone mode already turns usage errors into a message and exit code 2; errors
    raised by pledgewatch itself are caught here.
    """
    spare_the_collector()
    try:
        # Not standalone: click would print its usage errors as a box over several lines, and the
        # README promises one line (``_usage_line``).
        code = app(prog_name="pledgewatch", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()  # the help, as a bare `pledgewatch` or `pledgewatch db` has always printed
        sys.exit(exc.exit_code)
    except click_exceptions.UsageError as exc:
        _remove_created_archives()
        print(f"error: {_usage_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except typer.Abort as exc:
        _remove_created_archives()
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        print("interrupted" if interrupted else "aborted", file=sys.stderr)
        sys.exit(130 if interrupted else 1)
    except click_exceptions.ClickException as exc:
        _remove_created_archives()
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(exc.exit_code)
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
    if isinstance(code, int) and code != 0:
        _remove_created_archives()
        sys.exit(code)


def _usage_line(exc: click_exceptions.UsageError) -> str:
    """A usage error in one line, with the command's help hint; an "option" that is really a
    value starting with "-" (a search query "-Pinduoduo Hubei") says to put it after ``--``."""
    message = " ".join(exc.format_message().split())
    command = exc.ctx.command_path if exc.ctx is not None else "pledgewatch"
    if isinstance(exc, click_exceptions.NoSuchOption) and not exc.option_name.startswith("--"):
        given = next((a for a in sys.argv[1:] if a.startswith(exc.option_name)), exc.option_name)
        return f"{message}; a value that starts with '-' goes after '--': {command} -- {shlex.quote(given)}"
    return f"{message} (see {command} -h)"


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
