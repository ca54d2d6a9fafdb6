"""The `pledgewatch` command line. Each module registers the commands of one area on ``app``."""

from __future__ import annotations

import sys

import click
import typer

from pledgewatch.crawler.cli import db  # noqa: F401  (registers commands)
from pledgewatch.crawler.cli.app import app
from pledgewatch.errors import PledgewatchError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line on stderr and an exit code, never a traceback."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="pledgewatch", standalone_mode=False)
    except PledgewatchError as exc:
        # Plain print: a console would wrap long paths across lines.
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    if isinstance(result, int) and result:
        sys.exit(result)
