"""Engines, sessions and schema migrations.

SQLite is the default (one file, WAL mode and a busy timeout so the daemon and a user's queries can
run at the same time); PostgreSQL is for larger installs. Alembic owns the schema: a brand-new
database is migrated to head automatically, an existing one at an older revision is refused with
a message that says to run ``pledgewatch db upgrade``, so nobody loses data to a silent migration.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pledgewatch.errors import ConfigError, PledgewatchError, SchemaError, UsageError

# Imported before any engine exists: it registers search's ranking function on every SQLite
# connection opened from then on (pledgewatch/store/fts5rank.py).
from pledgewatch.store import fts5rank  # noqa: F401

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def migration_module(revision: str) -> ModuleType:
    """An earlier migration's module, for a later one that restores what it defined (its views,
    its generated column) on downgrade: one copy of that SQL, not two that can drift apart."""
    (path,) = (ALEMBIC_DIR / "versions").glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"pledgewatch_migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/pledgewatch/pledgewatch.db`` (``~/.local/share/...`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pledgewatch" / "pledgewatch.db"


def default_db_url() -> str:
    return f"sqlite:///{default_db_path()}"


# Linux's limits (PATH_MAX, NAME_MAX): past them every file call fails with ENAMETOOLONG.
_MAX_PATH_BYTES = 4096
_MAX_NAME_BYTES = 255


def normalise_db_url(url: str) -> str:
    """Accept a bare file path as SQLite and the plain ``postgresql://`` scheme as psycopg 3.

    Refuses, as one :class:`ConfigError` line instead of a traceback later, what can never open:
    control characters (a NUL byte from a config file), a path longer than the system allows,
    a URL that does not parse (``postgresql://[::1:5432/x``), and a server URL without a
    database name (a bare ``postgresql://`` built the archive in the database named after the OS
    user, wherever that was).
    """
    if any(ord(ch) < 32 for ch in url):
        raise ConfigError(f"not a database URL: {url!r} contains a control character")
    if "://" not in url:
        _check_path_length(url)
        try:
            return f"sqlite:///{Path(url).expanduser().resolve()}"
        except (OSError, RuntimeError) as exc:
            raise ConfigError(f"not a usable database path: {url!r}: {exc}") from None
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a bad port is only found when read
    except (ArgumentError, ValueError) as exc:
        # Whatever sits between "user:" and "@" is a password: never in a message.
        shown = re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
        raise ConfigError(f"not a database URL: {shown!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and not parsed.database.startswith("file:"):
            _check_path_length(parsed.database)
    elif not parsed.database:
        raise ConfigError(
            f"the database URL {parsed.render_as_string()!r} names no database: "
            "give it, as in postgresql+psycopg://user@host:5432/DBNAME"
        )
    return url


def _check_path_length(path: str) -> None:
    encoded = os.fsencode(path)
    if len(encoded) > _MAX_PATH_BYTES or any(len(part) > _MAX_NAME_BYTES for part in encoded.split(b"/")):
        raise ConfigError(f"database path too long ({len(encoded)} bytes): {path[:60]!r}...")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if _wants_wal(cursor):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _wants_wal(cursor: Any) -> bool:
    """Whether to switch this connection's database to WAL: only a new (empty) database or a
    pledgewatch archive, never another program's file.

    Switching the journal mode rewrites the file's header and changes how that program's own
    readers and writers must open it: pointing --db at the wrong file must leave it as it was
    (ensure_schema then refuses it). An archive already in WAL mode is left alone too.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() in ("wal", "memory"):
        return False
    tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not (tables - {"alembic_version"}) or {"alembic_version", "articles"} <= tables


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL (or bare path) names; None for other backends, in-memory databases
    and ``file:`` URIs (SQLite itself decides what those open and create)."""
    try:
        parsed = make_url(normalise_db_url(url))
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def missing_archive_error(path: Path) -> UsageError:
    """What a command that only reads says about a path with no archive: it creates nothing.

    Creating an empty archive there (and its folder) hid a mistyped --db path behind "0 articles"
    and left junk behind; only the commands that store something create a new archive.
    """
    return UsageError(
        f"no archive at {path} (nothing created): check the path, or create one with "
        "`pledgewatch crawl`, `pledgewatch demo` or `pledgewatch db upgrade`"
    )


def read_only_url(url: str) -> URL | None:
    """A URL that reads the archive at ``url`` without writing beside it, when it must.

    SQLite in WAL mode creates ``-shm`` (and ``-wal``) beside the file even to read, so an
    archive in a folder the user cannot write (a shared, read-only copy) could not be read at all.
    When that folder is not writable and no ``-wal`` file exists (no writer has the archive open,
    and nothing is waiting in a WAL to be read), the file alone is the whole archive: it is opened
    ``mode=ro&immutable=1``, which needs no lock files. With a ``-wal`` present SQLite reads it
    through the existing ``-shm`` itself (None: open as usual). None too when the folder is
    writable or ``url`` names no SQLite file.
    """
    path = sqlite_path(url)
    if path is None or not path.is_file() or os.access(path.parent, os.W_OK):
        return None
    if Path(f"{path}-wal").exists():
        return None
    from urllib.parse import quote

    parsed = make_url(normalise_db_url(url))
    # SQLAlchemy hands the database part to SQLite verbatim: the path is quoted for the URI here.
    return parsed.set(
        database=f"file:{quote(str(path.resolve()))}",
        query={**parsed.query, "mode": "ro", "immutable": "1", "uri": "true"},
    )


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the pragmas the archive relies on; creates a SQLite file's folder."""
    if isinstance(url, URL):
        parsed = url
        url = parsed.render_as_string(hide_password=False)
    else:
        url = normalise_db_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                # A read-only disk or a file where a folder should be: the user's --db, not a bug.
                raise UsageError(
                    f"cannot create folder {folder} for the database: {exc.strerror or exc}"
                ) from None
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise ConfigError(f"unsupported database URL: {url!r}") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the driver for {parsed.get_backend_name()} is not installed ({exc.name}); "
            "for PostgreSQL: pip install 'pledgewatch[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_script_config())
    head = script.get_current_head()
    assert head is not None
    return head


def _script_config() -> Any:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with _connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _connect(engine: Engine) -> Iterator[Any]:
    try:
        connection = engine.connect()
    except DatabaseError as exc:
        # OperationalError (cannot open, locked) and, on SQLite, a file that is not a database or
        # is damaged ("file is not a database", "malformed"): the first statement (the pragmas) fails.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        message = f"cannot open database {engine.url.render_as_string()}: {reason}"
        path = sqlite_file(engine)
        if path is not None and path.is_file() and not os.access(path.parent, os.W_OK):
            # The archive is in WAL mode: even a reader creates its -wal and -shm files beside it.
            message += f" (its folder {path.parent} is read-only; SQLite must create {path.name}-shm there)"
        if engine.dialect.name == "sqlite":
            raise ConfigError(message) from None  # the --db path names no usable file: bad input
        # A server that does not answer is a failure while running (README: exit 1), not bad input.
        raise PledgewatchError(message) from None
    try:
        yield connection
    finally:
        connection.close()


def _migrate(direction: str, engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    with _connect(engine):
        pass
    try:
        getattr(command, direction)(alembic_config(engine), revision)
    except CommandError as exc:
        # Unknown or ambiguous revision, or a downgrade target above the current one.
        raise UsageError(f"cannot {direction} to {revision!r}: {exc}") from None


def database_failure(exc: DatabaseError) -> PledgewatchError | None:
    """The one-line error for a database that fails while a command runs, or None for a bug.

    A read-only file or folder, a lock held past the busy timeout, a full disk or a damaged file
    are the user's situation, not pledgewatch's: they get one line and exit code 1. Integrity and
    programming errors stay tracebacks, because they are bugs to report.
    """
    if not isinstance(exc, DatabaseError) or type(exc) not in (DatabaseError, OperationalError):
        return None
    orig = exc.orig
    reason = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else "unknown error"
    return PledgewatchError(f"the database failed: {reason}")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate up; a database with someone else's tables and no revision is left untouched.

    Without this check `db upgrade --db other.db` would add the archive's tables to another
    program's database (ensure_schema refuses it for every other command already).

    A new SQLite archive is built in a temporary file beside it and renamed into place: SQLite
    runs DDL outside transactions here, so a kill -9 during the first start used to leave half
    the tables and an empty ``alembic_version``, refused by every later command. On PostgreSQL
    the migrations already run in one transaction (DDL is transactional there).
    """
    if current_revision(engine) is None:
        if not _is_empty(engine):
            raise SchemaError(_foreign_message(engine))
        path = sqlite_file(engine)
        if path is not None and revision == "head" and _is_new_file(path):
            _create_by_rename(engine, path)
            return
    _migrate("upgrade", engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _migrate("downgrade", engine, revision)


def archive_is_empty(path: Path) -> bool:
    """True when a SQLite archive holds no article, crawl run, pledge or delivery."""
    import sqlite3

    try:
        with sqlite3.connect(path) as connection:
            return not any(
                connection.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                for table in ("articles", "crawl_runs", "pledges", "deliveries")
            )
    except sqlite3.Error:
        return False


def sqlite_file(engine: Engine) -> Path | None:
    """The file behind a SQLite engine (None for other backends and in-memory databases)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _is_empty(engine: Engine) -> bool:
    """No tables, or only Alembic's bookkeeping table left behind by a downgrade to base."""
    with _connect(engine) as connection:
        return set(inspect(connection).get_table_names()) <= {"alembic_version"}


def _is_new_file(path: Path) -> bool:
    """A file with no table yet (opening it may have written its header: size tells nothing)."""
    import sqlite3

    if not path.exists():
        return True
    try:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"alembic_version"}:
                return False
            return not (tables and connection.execute("SELECT 1 FROM alembic_version").fetchone())
    except sqlite3.Error:
        return False


def _create_by_rename(engine: Engine, path: Path) -> None:
    """Migrate a temporary file to head, then rename it over ``path``: all or nothing."""
    folder = path.parent
    for stale in folder.glob(f".{path.name}.creating-*"):
        # Left by a first start that was killed; removed unless that process still runs.
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            for leftover in (stale, Path(f"{stale}-wal"), Path(f"{stale}-shm")):
                leftover.unlink(missing_ok=True)
    temporary = folder / f".{path.name}.creating-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    building = make_engine(f"sqlite:///{temporary}")
    try:
        _migrate("upgrade", building, "head")
    except BaseException:
        building.dispose()
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    # Closing the last connection checkpoints the WAL into the file; make sure it did, so the
    # renamed file is the whole archive (its -wal must never be left behind under the old name).
    building.dispose()
    if Path(f"{temporary}-wal").exists():
        import sqlite3

        with contextlib.closing(sqlite3.connect(temporary)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    # The empty file's own WAL files describe an empty database; they must not meet the new one.
    for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _foreign_message(engine: Engine) -> str:
    with _connect(engine) as connection:
        tables = set(inspect(connection).get_table_names())
    if {"alembic_version", "articles"} <= tables:
        where = sqlite_file(engine) or engine.url.render_as_string()
        return (
            f"the archive {where} was left half-created (its first start was interrupted): it has "
            "some tables but no schema revision, and holds no data. Delete it (with its -wal and "
            "-shm files; on PostgreSQL drop its tables) and run the command again"
        )
    return (
        f"database {engine.url.render_as_string()} has tables but no pledgewatch schema revision; "
        "point --db at an empty or pledgewatch database"
    )


def uninitialised_archive_error(engine: Engine) -> UsageError:
    """What a reading command says about a server database (PostgreSQL) with no archive in it."""
    where = engine.url.render_as_string(hide_password=True)
    return UsageError(
        f"the archive at {where} is not initialised: it has no tables (nothing created). Create it "
        "with `pledgewatch db upgrade` (or `pledgewatch crawl`), or check the URL and its search_path"
    )


# ``revision = "0016"`` or ``revision: str = "0001"`` at the start of a line of a migration file.
_REVISION_RE = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION_RE = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(.+)$", re.MULTILINE)


def _head_from_files() -> str | None:
    """The head revision as the migration files' ``revision`` / ``down_revision`` lines say, without
    importing Alembic (0.3 s of CPU at every command's start); None unless exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (ALEMBIC_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION_RE.search(text), _DOWN_REVISION_RE.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head_fast(engine: Engine) -> bool:
    """Whether the database is at the head revision, read with plain SQL: the common case of every
    command, answered without Alembic. False when unsure (Alembic then decides and explains)."""
    head = _head_from_files()
    if head is None:
        return False
    with _connect(engine) as connection:
        try:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        except DatabaseError:
            return False
    return list(rows) == [head]


def ensure_schema(engine: Engine, create: bool = True) -> None:
    """Create a brand-new database at head (atomically: see :func:`upgrade`); refuse one at
    another revision.

    ``create=False`` (a command that only reads): an empty PostgreSQL database or schema is
    refused with one line instead of being given the archive's tables; ``status`` or ``search``
    pointed at the wrong database must leave it as it was. (A missing SQLite file is refused
    before an engine exists; an empty one, left by a first start killed early, is created.)
    """
    if _is_empty(engine):
        if not create and engine.dialect.name != "sqlite":
            raise uninitialised_archive_error(engine)
        upgrade(engine)
        return
    if _at_head_fast(engine):
        return
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaError(_foreign_message(engine))
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_script_config())
    try:
        script.get_revision(current)
    except Exception:
        raise SchemaError(
            f"database is at revision {current}, which this version of pledgewatch does not know "
            "(it was written by a newer version): upgrade pledgewatch"
        ) from None
    raise SchemaError(
        f"database is at revision {current}, this pledgewatch expects {head}: run `pledgewatch db upgrade`"
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
