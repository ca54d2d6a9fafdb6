"""The publishers' printed dates are read by strptime before dateparser (issue 15): same results,
without dateparser's start-up cost for the formats the three sites print."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, timedelta, timezone

import pytest

from pledgewatch.spiders import fields
from pledgewatch.spiders.fields import BEIJING, parse_datetime

PRINTED = [
    "Apr 8, 2020",  # JD Corporate Blog
    "Sep 1, 2019",
    "April 30, 2020",
    "09:07, April 30, 2020",  # People's Daily
    "9:07, April 3, 2020",
    "Wed, 08 Apr 2020 10:00:00 +0800",  # feeds (RFC 822)
    "Wed, 08 Apr 2020 02:00:00 +0000",
    "Wed, 08 Apr 2020 02:00:00 GMT",
    "Tue, 28 Dec 2016 09:00:00 -0500",
    "Wed, 08 Apr 2020 10:00 +0800",
    "2020/04/09 09:25",
    "2020/04/09",
    "2020-04-09 09:25:00 +0800",
]


@pytest.mark.parametrize("tz", [BEIJING, UTC, timezone(timedelta(hours=-5))])
def test_known_formats_read_as_dateparser_reads_them(tz, monkeypatch):
    fast = [parse_datetime(text, tz) for text in PRINTED]
    monkeypatch.setattr(fields, "_known_format", lambda _text, _tz: None)  # dateparser alone
    slow = [parse_datetime(text, tz) for text in PRINTED]
    assert [(d, d.utcoffset()) for d in fast] == [(d, d.utcoffset()) for d in slow]
    assert all(d is not None for d in fast)


def test_other_wordings_still_reach_dateparser():
    for text in ("April 30th, 2020", "30 April 2020", "2020年4月30日", "Thursday, April 30, 2020"):
        assert parse_datetime(text).date().isoformat() == "2020-04-30", text
    assert parse_datetime("no date here") is None


@pytest.mark.slow
def test_known_formats_do_not_load_dateparser():
    code = (
        "import sys\n"
        "from pledgewatch.spiders.fields import parse_datetime\n"
        f"for text in {PRINTED!r}:\n"
        "    assert parse_datetime(text) is not None\n"
        "print('dateparser' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
