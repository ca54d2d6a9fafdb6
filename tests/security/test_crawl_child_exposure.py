"""Issue 19, item 4: the daemon's crawl child shows no database URL (password) on its command
line, and never imports modules from the daemon's working directory."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from helpers_crawl import db_rows, tiny_config, tiny_site, write_warc

from pledgewatch.config import load_config
from pledgewatch.crawler.crawl_child import crawl_command, crawl_env, run_child, supervised_crawl
from pledgewatch.store.db import ensure_schema, make_engine, session_factory

MARKER = "s3cret-Pa55word"

PLANTED = """
import pathlib
pathlib.Path({marker!r}).write_text("imported from the working directory")
raise SystemExit("planted module imported")
"""


def _plant(folder: Path) -> Path:
    """``secrets.py`` (imported by the standard library's users, Scrapy's among them) and a
    ``pledgewatch.py`` that would shadow the package itself under ``python -m``."""
    folder.mkdir()
    marker = folder / "IMPORTED"
    for name in ("secrets.py", "pledgewatch.py"):
        (folder / name).write_text(PLANTED.format(marker=str(marker)), encoding="utf-8")
    return marker


def test_command_line_has_no_database_url_and_runs_isolated(tmp_path: Path) -> None:
    config = load_config(tiny_config(tmp_path / "c.toml"))
    url = f"postgresql+psycopg://pw:{MARKER}@127.0.0.1:5432/archive"
    argv = crawl_command(config, url, ["jd"])
    assert not any(MARKER in part or "postgresql" in part for part in argv)
    assert argv[:2] == [sys.executable, "-I"]
    assert crawl_env(url) == {"PLEDGEWATCH_DB": url}


@pytest.mark.slow
def test_daemon_crawl_child_hides_the_url_and_ignores_planted_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warc = write_warc(tmp_path / "site.warc.gz", tiny_site())
    config = load_config(tiny_config(tmp_path / "c.toml", extra=f'replay = "{warc}"\n'))
    # The marker in the archive's own path stands for a password: it must reach the child, but
    # not through its argv, which `ps` shows to every local user.
    db_path = tmp_path / f"archive-{MARKER}.db"
    db_url = f"sqlite:///{db_path}"
    engine = make_engine(db_url)
    ensure_schema(engine)
    marker = _plant(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("PLEDGEWATCH_CONFIG", raising=False)
    seen: list[bytes] = []

    real_run_child = run_child

    def watching_run_child(argv, **kwargs):  # the real run_child; its on_start reads /proc
        on_start = kwargs["on_start"]

        def read_cmdline(pid: int) -> None:
            seen.append(Path(f"/proc/{pid}/cmdline").read_bytes())
            on_start(pid)

        kwargs["on_start"] = read_cmdline
        return real_run_child(argv, **kwargs)

    monkeypatch.setattr("pledgewatch.crawler.crawl_child.run_child", watching_run_child)
    outcome = supervised_crawl(
        config, db_url, session_factory(engine), ["jd"], stop=threading.Event(), stop_grace=5
    )
    engine.dispose()
    assert outcome.result is not None and outcome.result.status == "ok", outcome.describe()
    assert seen and MARKER.encode() not in seen[0], seen
    assert not marker.exists(), "a module planted in the working directory was imported"
    # The child did reach the archive the daemon named.
    assert db_rows(db_path, "SELECT COUNT(*) FROM articles")[0][0] == 3
