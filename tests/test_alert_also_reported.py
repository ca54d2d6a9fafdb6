"""A new-pledge alert says who else reported the pledge: "Also reported by", in text and HTML.

The sample web's Greater Bay Area pledge was printed by China Daily on 2020-10-20 (the first
report, which the alert names) and by People's Daily Online on 2020-10-21. The alert, sent through
a real SMTP server, lists the People's Daily report with its outlet, date and link; a synthetic
pledge reported by eight outlets lists five and counts the rest; a withdrawn report is not listed.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers_daemon import SmtpSink, add_article, add_mention, add_pledge, html_part, subjects, text_part
from test_pledge_first_report import COPY, ORIGINAL, SUBJECT, dispatcher, ingest_url

from pledgewatch.store.models import utcnow


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def test_alert_lists_the_other_outlet_with_date_and_link(sessions, smtp):
    ingest_url(sessions, COPY)
    ingest_url(sessions, ORIGINAL)
    dispatcher(sessions, smtp.port).send_alerts()

    assert subjects(smtp.messages) == [SUBJECT]
    (message,) = smtp.messages
    lines = text_part(message).splitlines()
    assert f"Link:        {ORIGINAL}" in lines, lines
    # The copy prints China Daily's name: the outlet says so, as everywhere else.
    outlet = "People's Daily Online (China Daily)"
    assert f"Also reported by: {outlet} (2020-10-21)" in lines, lines
    assert f"  - {outlet}, 2020-10-21: {COPY}" in lines, lines
    html = html_part(message)
    assert (
        f'<a href="{COPY}" style="color: #0b57d0;">People&#39;s Daily Online (China Daily)</a> (2020-10-21)'
        in html
    ), html


def test_alert_caps_the_list_and_leaves_out_withdrawn_reports(sessions, smtp):
    base = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    sentence = "JD.com will invest RMB 2 billion in Hainan over the next two years."
    with sessions() as session:
        first = add_article(
            session, "jd", "https://jdcorporateblog.com/hainan/", "JD in Hainan", base, sentence
        )
        pledge = add_pledge(
            session,
            actor="JD.com",
            kind="invest",
            amount_value=2e9,
            currency="CNY",
            region="Hainan",
            horizon="over the next two years",
            first_published_at=base,
        )
        add_mention(session, pledge, first, sentence, is_new=True)
        for day in range(1, 9):
            source = "people" if day % 2 else "chinadaily"
            other = add_article(
                session,
                source,
                f"https://example.org/hainan/{day}",
                f"Hainan {day}",
                base + timedelta(days=day),
                sentence,
            )
            mention = add_mention(session, pledge, other, sentence, is_new=False)
            if day == 2:
                mention.withdrawn_at = utcnow()  # an edit took this report back
        session.commit()

    dispatcher(sessions, smtp.port).send_alerts()
    (message,) = smtp.messages
    text = text_part(message).replace("\r\n", "\n")
    listed = [f"https://example.org/hainan/{day}" for day in (1, 3, 4, 5, 6)]
    line = [row for row in text.splitlines() if row.startswith("Also reported by:")]
    assert line == [
        "Also reported by: People's Daily Online (2024-03-02), People's Daily Online (2024-03-04), "
        "China Daily (2024-03-05), People's Daily Online (2024-03-06), China Daily (2024-03-07), "
        "and 2 more"
    ], text
    for url in listed:
        assert f": {url}\n" in text, text
    for url in (
        "https://example.org/hainan/2",
        "https://example.org/hainan/7",
        "https://example.org/hainan/8",
    ):
        assert url not in text, text
    html = html_part(message)
    assert "and 2 more" in html and 'https://example.org/hainan/2"' not in html, html
    assert all(f'href="{url}"' in html for url in listed), html
