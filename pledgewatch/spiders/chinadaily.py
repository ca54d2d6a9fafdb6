"""China Daily English (www.chinadaily.com.cn): RSS, channel listings with page_N.html, WS-id articles."""

from __future__ import annotations

import re

from pledgewatch.spiders.publisher import Publisher, register

PUBLISHER = register(
    Publisher(
        name="chinadaily",
        title="China Daily",
        domain="www.chinadaily.com.cn",
        hosts=("chinadaily.com.cn",),
        # //www.chinadaily.com.cn/a/YYYYMM/DD/WS<24 hex>.html, the WS id is the article on any host.
        article_url=re.compile(
            r"chinadaily\.com\.cn/a/\d{6}/\d{2}/(?P<id>WS[0-9a-f]{24})(?:_\d+)?\.html", re.I
        ),
        feeds=(
            "https://www.chinadaily.com.cn/rss/china_rss.xml",
            "https://www.chinadaily.com.cn/rss/business_rss.xml",
        ),
        listings=(
            "https://www.chinadaily.com.cn/business/",
            "https://www.chinadaily.com.cn/world/china-us",
        ),
        # WS..._2.html is page 2 of the article WS....html.
        url_rewrites=((r"(/WS[0-9a-f]{24})_\d+\.html$", r"\1.html"),),
        outlet="China Daily",
    )
)
