"""People's Daily English (en.people.cn): RSS, channel index pages, /n3/YYYY/MMDD/cNNNNN-NNNNNNN.html."""

from __future__ import annotations

import re

from pledgewatch.spiders.publisher import Publisher, register

PUBLISHER = register(
    Publisher(
        name="people",
        title="People's Daily Online",
        domain="en.people.cn",
        hosts=("en.people.cn", "en.people.com.cn"),
        article_url=re.compile(
            r"people\.(?:com\.)?cn/n3/\d{4}/\d{4}/(?P<id>c\d+-\d{7,8})(?:-\d+)?\.html", re.I
        ),
        feeds=("https://en.people.cn/rss/90000.xml", "https://en.people.cn/rss/90777.xml"),
        listings=("https://en.people.cn/90777/index.html", "https://en.people.cn/business/index.html"),
        # c90000-9685505-2.html is page 2 of c90000-9685505.html.
        url_rewrites=((r"(/c\d+-\d{7,8})-\d+\.html$", r"\1.html"),),
        outlet="People's Daily Online",
    )
)
