"""The `pledgewatch` command line. Each module registers the commands of one area on ``app``."""

from __future__ import annotations

import sys

# Each module registers the commands of its area on ``app`` when imported.
from pledgewatch.crawler.cli import crawl, daemon, db, extract, pledges, search  # noqa: F401
from pledgewatch.crawler.cli.app import app
from pledgewatch.errors import PledgewatchError

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; user errors become one line on stderr and an exit code, never a traceback.

    Typer's standalone mode already turns usage errors into a message and exit code 2; errors
    raised by pledgewatch itself are caught here.
    """
    try:
        app(prog_name="pledgewatch")
    except PledgewatchError as exc:
        # Plain print: a console would wrap long paths across lines.
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
