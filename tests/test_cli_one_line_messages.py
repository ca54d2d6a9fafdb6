"""Messages the CLI prints stay on one line when piped, whatever their length or brackets.

Scripts grep stderr for "wrote ..." lines; a console that wraps at 80 columns (what rich assumes
when stderr is not a terminal) would split a long path over two lines, and rich markup would eat
a "[draft]" in a path. Real subprocesses with stderr piped, long paths under tmp_path.
"""

from __future__ import annotations

import pytest
from conftest import run_cli

# rich's width without a terminal; set so a COLUMNS in the test's own environment changes nothing.
NARROW = {"COLUMNS": "80"}


def long_dir(tmp_path):
    return tmp_path / ("a-rather-long-directory-name-for-digests-" * 3) / "[draft] output"


@pytest.mark.slow
def test_digest_dry_run_says_where_it_wrote_in_one_line(tmp_path):
    out = long_dir(tmp_path)
    assert run_cli("--db", str(tmp_path / "a.db"), "db", "upgrade").returncode == 0
    result = run_cli("--db", str(tmp_path / "a.db"), "digest", "--dry-run", "--out", str(out), env=NARROW)
    assert result.returncode == 0, result.stderr
    assert (out / "digest.txt").exists()
    wrote = [line for line in result.stderr.splitlines() if "wrote digest.html and digest.txt" in line]
    assert len(wrote) == 1 and wrote[0].endswith(f"in {out} (not sent)"), result.stderr


@pytest.mark.slow
def test_pledges_feed_says_where_it_wrote_in_one_line(tmp_path):
    feed = long_dir(tmp_path) / "pledges.xml"
    feed.parent.mkdir(parents=True)  # issue 16: --out does not create folders
    assert run_cli("--db", str(tmp_path / "a.db"), "db", "upgrade").returncode == 0
    result = run_cli("--db", str(tmp_path / "a.db"), "pledges", "feed", "--out", str(feed), env=NARROW)
    assert result.returncode == 0, result.stderr
    assert feed.exists()
    assert f"wrote {feed}" in result.stderr.splitlines(), result.stderr
