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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pledgewatch.errors import ConfigError

CONFIG_ENV = "PLEDGEWATCH_CONFIG"
DB_ENV = "PLEDGEWATCH_DB"
DEFAULT_CONFIG_NAME = "pledgewatch.toml"


# A century: more than any archive spans, and far from datetime's limits (year 1 to 9999).
MAX_DAYS = 36500


def _check_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {value!r}") from exc
    return value


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


class ListingSelectors(_Section):
    """CSS selectors of a generic source's listing pages (see docs/crawling.md)."""

    # One element per article entry; the <a> inside it; its date (text or <time datetime>).
    item: str
    link: str = "a"
    date: str = ""
    # The pager links; the one reading "Next" (or rel/class next) is followed.
    next_page: str = ""

    @field_validator("item", "link", "date", "next_page")
    @classmethod
    def _valid_css(cls, value: str, info: Any) -> str:
        if not value.strip():
            if info.field_name in ("item", "link"):
                raise ValueError("must not be empty")
            return ""
        from cssselect import SelectorError, parse

        try:
            parse(value)
        except SelectorError as exc:
            raise ValueError(f"not a CSS selector: {value!r} ({exc})") from None
        return value




class WatchlistOptions(_Section):
    """How the file's ``[[watchlist]]`` entries combine with the built-in list."""

    # False: the file's entries are added to the defaults (an entry named like a default replaces
    # it); True: the file's entries are the whole list. Adding Tencent must not drop JD.com silently.
    replace_defaults: bool = False


class SourceConfig(_Section):
    """One source: a built-in publisher's switches, or (``kind = "generic"``) a whole site by data.

    Empty ``start_urls`` keeps the spider's own defaults (a generic source's feeds, sitemaps and
    listings). A generic source needs ``article_url`` and at least one URL to start from.
    """

    enabled: bool = True
    start_urls: list[str] = Field(default_factory=list)
    # "publisher": one of the built-in publishers; "generic": built from the keys below.
    kind: Literal["publisher", "generic"] = "publisher"
    title: str = ""
    # The hosts its articles live on; empty: the hosts of its start URLs.
    hosts: list[str] = Field(default_factory=list)
    # A regular expression an article URL matches (search); its group `id`, if any, is the article id.
    article_url: str = Field(default="", validate_default=True)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    listings: list[str] = Field(default_factory=list)
    listing: ListingSelectors | None = None
    # The time zone of times printed without an offset (listing dates, page metadata).
    timezone: str = "UTC"
    language: str = "en"
    outlet: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value)

    @model_validator(mode="after")
    def _something_to_start_from(self) -> SourceConfig:
        if self.kind == "generic" and not (self.start_urls or self.generic_start_urls):
            raise ValueError('kind = "generic" needs feeds, sitemaps, listings or start_urls')
        return self

    @field_validator("article_url")
    @classmethod
    def _valid_pattern(cls, value: str, info: Any) -> str:
        import re

        kind = info.data.get("kind", "publisher")
        if kind == "generic" and not value.strip():
            raise ValueError('required when kind = "generic" (a regular expression for article URLs)')
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("hosts", "feeds", "sitemaps", "listings", "title", "outlet", "listing")
    @classmethod
    def _generic_only(cls, value: Any, info: Any) -> Any:
        if value and info.data.get("kind", "publisher") != "generic":
            raise ValueError('only a source with kind = "generic" sets this')
        return value

    @field_validator("feeds", "sitemaps", "listings")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
        return value

    @property
    def generic_start_urls(self) -> list[str]:
        return [*self.feeds, *self.sitemaps, *self.listings]


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
    # Store and detect in a worker process per source (off the crawl's GIL); false keeps it all in
    # the crawl process, detection alone in a worker (what an in-memory archive always does).
    store_process: bool = True
    # Sitemaps: entries read per sitemap (the protocol's own maximum), how many sitemap indexes
    # deep a chain is followed, and how many sitemaps one crawl of a source reads in all.
    sitemap_max_urls: Annotated[int, Field(ge=1, le=10_000_000)] = 50_000
    sitemap_max_depth: Annotated[int, Field(ge=0, le=100)] = 3
    sitemap_max_files: Annotated[int, Field(ge=1, le=1_000_000)] = 500
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
        return _check_zone(value)


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
    # Whose new pledges are alerted: "watchlist" (companies of [[watchlist]]) or "all" (every
    # company the archive finds a pledge of). Listings and the digest show every company either way.
    alert_on: Literal["watchlist", "all"] = "watchlist"
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


class HealthConfig(_Section):
    """Source health (pledgewatch.crawler.health): thresholds, and who hears of a change."""

    # Mail the operator when a source turns degraded or broken, and when it recovers.
    notify: bool = True
    # Who gets those notices; empty: the alert recipients ([email] recipients). They go by e-mail,
    # and to [email] apprise_urls too when those are set (channel "email" limits them to e-mail).
    recipients: list[str] = Field(default_factory=list)
    channel: Literal["all", "email"] = "all"
    # Consecutive runs a start URL must answer 404/410 before it is reported as dead.
    dead_after_runs: Annotated[int, Field(ge=1, le=1000)] = 2
    # Share of parsed articles with fallback fields, and of failed pages, that degrade a source.
    fallback_share: Annotated[float, Field(gt=0, le=1)] = 0.2
    failed_share: Annotated[float, Field(gt=0, le=1)] = 0.2


class ClusterConfig(_Section):
    """Several hosts on one archive (docs/deployment.md): a shared Redis request queue.

    Empty ``redis_url`` (the default) is the single-host setup: the daemon crawls itself. Set, the
    daemon enqueues the start requests of due sources in Redis and `pledgewatch worker` processes,
    on any number of hosts, crawl them into the shared (PostgreSQL) archive.
    """

    redis_url: str = ""
    # Every Redis key starts with it: two clusters (or two test runs) can share one Redis server.
    key_prefix: str = "pledgewatch"
    # Seconds between a worker's heartbeats; a worker silent for three of them is dead, and the
    # requests it was working on go back to the queue.
    heartbeat_seconds: Annotated[float, Field(ge=0.5, le=300)] = 5.0
    # Seconds a run's request fingerprints are kept at most (they are dropped when the next run
    # of the source starts anyway): a cluster abandoned mid-run leaves nothing behind for ever.
    fingerprint_ttl: Annotated[int, Field(ge=60, le=MAX_DAYS * 86400)] = 7 * 86400
    # Seconds between the daemon's delivery rounds: the workers store articles after the daemon's
    # crawl job has enqueued them, so their new pledges are alerted by this job (daemon only).
    deliver_seconds: Annotated[int, Field(ge=1, le=86400)] = 60

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        value = value.strip()
        if not value:
            return ""
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a Redis URL: {value!r} ({exc})") from None
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL: {value!r} (write redis://HOST:6379/0, rediss://... or unix://PATH)")
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"not a Redis URL: {value!r} (no host)")
        if parts.scheme == "unix" and not parts.path:
            raise ValueError(f"not a Redis URL: {value!r} (no socket path)")
        database = parts.path.strip("/") if parts.scheme != "unix" else ""
        if database and not database.isdigit():
            raise ValueError(f"not a Redis URL: {value!r} (the database is a number: redis://HOST:6379/0)")
        del port
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.strip() or any(ch.isspace() for ch in value):
            raise ValueError("must be one word (no spaces)")
        return value


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
    health: HealthConfig = Field(default_factory=HealthConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

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
    elif first["type"] == "missing":
        message = f"{where}: missing key '{key}'"
    else:
        message = f"{where}: bad value for '{key}': {first['msg'].removeprefix('Value error, ')}"
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
