"""Configuration: one TOML file, validated up front, with environment overrides for secrets.

The file is found by ``--config PATH``, then ``$PLEDGEWATCH_CONFIG``, then ``./pledgewatch.toml``;
without any of them the defaults below apply. Validation happens once at start-up so that a daemon
never discovers a typo hours later: unknown keys and bad values raise :class:`ConfigError` with
the dotted key and the file name, which the CLI prints as one line.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pledgewatch.errors import ConfigError

CONFIG_ENV = "PLEDGEWATCH_CONFIG"
DB_ENV = "PLEDGEWATCH_DB"
DEFAULT_CONFIG_NAME = "pledgewatch.toml"


# A century: more than any archive spans, and far from datetime's limits (year 1 to 9999).
MAX_DAYS = 36500


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseConfig(_Section):
    # Empty means the default SQLite file (see pledgewatch.store.db.default_db_url).
    url: str = ""


class WatchEntity(_Section):
    """A company whose news and pledges matter. Aliases are matched on word boundaries."""

    name: str
    aliases: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


def default_watchlist() -> list[WatchEntity]:
    return [
        WatchEntity(
            name="JD.com",
            aliases=[
                "JD",
                "JD.com",
                "JD.com Inc",
                "JD Group",
                "Jingdong",
                "JD Logistics",
                "JD Health",
                "JD Foundation",
                "JD Retail",
                "JD Digits",
                "JD Technology",
                "Jingxi",
                "京东",
            ],
        )
    ]


class WatchlistOptions(_Section):
    """How the file's ``[[watchlist]]`` entries combine with the built-in list."""

    # False: the file's entries are added to the defaults (an entry named like a default replaces
    # it); True: the file's entries are the whole list. Adding Tencent must not drop JD.com silently.
    replace_defaults: bool = False


class SourceConfig(_Section):
    """Per-publisher switches; empty ``start_urls`` keeps the spider's own defaults."""

    enabled: bool = True
    start_urls: list[str] = Field(default_factory=list)


class CrawlConfig(_Section):
    user_agent: str = "pledgewatch/0.1 (+https://github.com/pledgewatch/pledgewatch; news monitoring)"
    obey_robots: bool = True
    concurrency_per_domain: Annotated[int, Field(ge=1, le=16)] = 2
    download_delay: Annotated[float, Field(ge=0)] = 1.0
    autothrottle_target: Annotated[float, Field(gt=0)] = 1.0
    timeout: Annotated[float, Field(gt=0)] = 30.0
    retry_times: Annotated[int, Field(ge=0, le=20)] = 3
    # A Retry-After longer than this (seconds) is capped: a site asking for an hour's pause
    # should not stall a crawl that has a time limit.
    max_retry_after: Annotated[float, Field(ge=0)] = 300.0
    max_response_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    # Publication window: articles older than this many days are not wanted, and listing
    # pages stop paginating once they reach them. 0 means no limit. The upper bounds on this and
    # the other day and second counts keep dates computed from them inside what datetime holds.
    window_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] = 30
    max_pages_per_listing: Annotated[int, Field(ge=1)] = 20
    # Seconds of pledge detection per article before it is stored without pledges, for a rescan.
    analysis_budget: Annotated[float, Field(gt=0, le=3600)] = 20.0
    replay: str = ""
    record: str = ""


class ScheduleConfig(_Section):
    crawl: str = "0 */2 * * *"
    digest: str = "0 8 * * *"
    timezone: str = "Asia/Shanghai"
    per_source: bool = False
    crawl_time_limit: Annotated[int, Field(ge=10, le=MAX_DAYS * 86400)] = 3600

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


def _header_safe(value: str) -> str:
    """Refuse what would end a mail header or an SMTP command line: CR, LF, NUL, other controls.

    ``"x\r\nBcc: someone"`` in ``sender_name`` passed ``config check`` and then broke every
    ``alerts --send`` with a traceback (header injection, refused by the email package too late).
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one line (no CR, LF or other control characters)")
    return value


def _mail_address(value: str, bare: bool) -> str:
    """One e-mail address, parsed as mail will use it (``bare``: no "Name <...>" form)."""
    from email.headerregistry import Address
    from email.utils import getaddresses

    _header_safe(value)
    pairs = getaddresses([value])
    if len(pairs) != 1:
        raise ValueError(f"one address per entry: {value!r}")
    name, address = pairs[0]
    if not address or "@" not in address or (bare and name) or (bare and address != value.strip()):
        raise ValueError(f"not an e-mail address: {value!r}")
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"not an e-mail address: {value!r} ({exc})") from None
    return value


class EmailConfig(_Section):
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str = ""
    password_env: str = "PLEDGEWATCH_SMTP_PASSWORD"
    sender: str = "pledgewatch@example.org"
    # The From display name ("pledgewatch <pledgewatch@example.org>"); empty: the address alone.
    sender_name: str = "pledgewatch"
    recipients: list[str] = Field(default_factory=list)
    alerts: bool = True
    # Alert only pledges reported within this many days (0: no limit), so that a first crawl or a
    # backfill does not mail one alert per historical pledge; older ones are recorded as skipped.
    alert_max_age_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] = 30
    send_empty_digest: bool = False
    timeout: Annotated[float, Field(gt=0)] = 30.0
    apprise_urls: list[str] = Field(default_factory=list)

    @field_validator("host", "username", "sender_name")
    @classmethod
    def _one_header_line(cls, value: str) -> str:
        return _header_safe(value)

    @field_validator("sender")
    @classmethod
    def _sender_address(cls, value: str) -> str:
        return _mail_address(value, bare=True)

    @field_validator("recipients")
    @classmethod
    def _recipient_addresses(cls, value: list[str]) -> list[str]:
        return [_mail_address(item, bare=False) for item in value]

    def password(self) -> str:
        """The SMTP password comes from the environment only, never from the file."""
        return os.environ.get(self.password_env, "") if self.password_env else ""


class Config(_Section):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    watchlist: list[WatchEntity] = Field(default_factory=default_watchlist)
    watchlist_options: WatchlistOptions = Field(default_factory=WatchlistOptions)
    # Only the sections the user wrote; a publisher without one has the defaults (the names are
    # the publisher registry's, pledgewatch.spiders, which this layer does not know).
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)

    # Where the configuration came from, for messages; not a TOML key.
    path: Path | None = Field(default=None, exclude=True)
    # Where each watch-list entry came from ("default" or "file"), for `config show`; not a TOML key.
    watchlist_origin: dict[str, str] = Field(default_factory=dict, exclude=True)

    def source(self, name: str) -> SourceConfig:
        return self.sources.get(name) or SourceConfig()


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _explain(exc: ValidationError, where: str) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    key = _format_location(first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = f"{where}: unknown key '{key}'"
    else:
        message = f"{where}: bad value for '{key}': {first['msg']}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ConfigError(message)


def _not_a_file(path: Path) -> str:
    """A folder given as the config file was reported as "not found", which sends people looking."""
    return "config file is a folder, not a file" if path.is_dir() else "config file not found"


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """Which file to read, or None for the built-in defaults."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{_not_a_file(path)}: {path}")
        return path
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{_not_a_file(path)}: {path} (from ${CONFIG_ENV})")
        return path
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def parse_config(data: dict[str, Any], where: str = "config") -> Config:
    """Validate a configuration file's contents; the file's watch list adds to the defaults unless
    ``[watchlist_options] replace_defaults = true``."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, where) from None
    defaults = default_watchlist()
    if "watchlist" not in data:
        config.watchlist_origin = {entity.name: "default" for entity in defaults}
        return config
    mine = {entity.name.casefold() for entity in config.watchlist}
    kept = [] if config.watchlist_options.replace_defaults else [
        entity for entity in defaults if entity.name.casefold() not in mine
    ]
    config.watchlist_origin = {entity.name: "default" for entity in kept} | {
        entity.name: "file" for entity in config.watchlist
    }
    config.watchlist = [*kept, *config.watchlist]
    return config


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the configuration; environment overrides are applied last."""
    path = find_config_path(explicit)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
    config = parse_config(data, where=str(path) if path else "config")
    config.path = path
    env_db = os.environ.get(DB_ENV)
    if env_db:
        config.database.url = env_db
    return config
