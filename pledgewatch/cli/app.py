"""The Typer application, global options and the per-invocation context that commands share."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pledgewatch.config import Config, load_config
from pledgewatch.errors import UsageError
from pledgewatch.spiders.publisher import all_publishers
from pledgewatch.store import db


def _flag_type(self: typer.core.TyperOption, ctx: typer.Context) -> str | None:
    """A flag takes no value: this typer's help shows its type as ``<bool>``, which reads as
    "--dry-run <bool>" (and `--dry-run true` then fails). Flags show no type; other options do."""
    if self.is_flag:
        return None
    return _typed_option(self, ctx)


_typed_option = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

app = typer.Typer(
    name="pledgewatch",
    help="Watch the Chinese English-language press for new corporate pledges and alert analysts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Create, upgrade and inspect the archive's schema.", no_args_is_help=True)
config_app = typer.Typer(help="Check and show the configuration.", no_args_is_help=True)
pledges_app = typer.Typer(help="Detect, list and export pledges.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(pledges_app, name="pledges")

# SQLite archives this invocation created: announced when created, removed again when the command
# fails while they are still empty, so a mistyped --db path neither passes silently nor leaves junk.
CREATED_ARCHIVES: list[Path] = []

# Messages for people go to stderr; stdout is for data (JSON, CSV, tables) that users pipe.
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

# The publishers' names for help texts, from the registry: a new publisher module shows up here.
SOURCE_NAMES = ", ".join(all_publishers())


@dataclass
class AppContext:
    """What a command needs from the global options: the configuration and a database."""

    config: Config
    db_option: str | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def db_url(self) -> str:
        return db.normalise_db_url(self.db_option or self.config.database.url or db.default_db_url())

    def engine(self, ensure_schema: bool = True, create: bool = False) -> Engine:
        """The archive's engine. A command that stores something passes ``create=True``: a
        brand-new SQLite archive is then created at head on first use, and said on stderr (a
        mistyped --db path must not look like an empty archive). A command that only reads
        refuses a missing archive instead and creates nothing, not even its folder (on PostgreSQL:
        no table in an empty database or schema); it opens an archive in a folder it cannot write
        read-only (db.read_only_url).
        """
        if self._engine is None:
            path = db.sqlite_path(self.db_url)
            is_new = path is not None and not path.exists()
            if is_new and not create:
                assert path is not None
                raise db.missing_archive_error(path)
            read_only = None if create else db.read_only_url(self.db_url)
            engine = db.make_engine(read_only or self.db_url)
            self._engine = engine
            if is_new and ensure_schema:
                db.ensure_schema(engine)
                assert path is not None
                announce_new_archive(path)
        if ensure_schema:
            db.ensure_schema(self._engine, create=create)
        return self._engine

    def describe_database(self) -> str:
        """The archive as the user named it (password hidden), not the engine's internal URL: a
        shared archive in a read-only folder is opened through a ``file:...?immutable=1`` URI."""
        from sqlalchemy.engine import make_url

        described = make_url(self.db_url).render_as_string()
        return f"{described} (read-only)" if db.read_only_url(self.db_url) is not None else described

    @contextmanager
    def session(self, create: bool = False) -> Iterator[Session]:
        factory = db.session_factory(self.engine(create=create))
        with factory() as session:
            yield session

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def announce_new_archive(path: Path) -> None:
    """Say on stderr that this invocation created an archive at ``path``, and remember it so that
    main() removes it again if the command fails while it is still empty.

    Said now, not at exit: `run` may never exit, and a long crawl into a mistyped path should be
    noticed before it is done. Plain print: a console would wrap it.
    """
    CREATED_ARCHIVES.append(path)
    print(f"note: created a new, empty archive at {path}", file=sys.stderr, flush=True)


def output_dir(path: Path) -> Path:
    """Create an output folder, or say in one line why it cannot be one."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{path} exists and is not a folder") from None
    except OSError as exc:
        raise UsageError(f"cannot create folder {path}: {exc.strerror}") from None
    return path


def get_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"pledgewatch {version('pledgewatch')}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (sqlite:///PATH or postgresql+psycopg://...) or a SQLite file path. "
            "Overrides $PLEDGEWATCH_DB and the database.url setting.",
            show_default=False,
        ),
    ] = None,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML configuration file. Default: $PLEDGEWATCH_CONFIG, else ./pledgewatch.toml, "
            "else built-in defaults.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    config = load_config(config_path)
    ctx.obj = AppContext(config=config, db_option=db_url)
    ctx.call_on_close(ctx.obj.close)
