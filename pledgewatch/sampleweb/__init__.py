"""The offline sample web: a replica of the three watched publishers at their real URLs.

Articles are data (``content/<site>/*.toml``), pages are Jinja2 templates (``templates/``), and
``build.py`` renders both into two WARC snapshots plus a ground-truth manifest shipped in
``pledgewatch/data/``. Nothing here crawls or parses: it only produces what crawlers, parsers and
tests read. See docs/sampleweb.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FIRST_WARC = DATA_DIR / "sampleweb.warc.gz"
LATER_WARC = DATA_DIR / "sampleweb-later.warc.gz"
MANIFEST = DATA_DIR / "sampleweb-manifest.json"


def load_manifest() -> dict[str, Any]:
    """The sample web's ground truth (see docs/sampleweb.md for its shape)."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


__all__ = ["DATA_DIR", "FIRST_WARC", "LATER_WARC", "MANIFEST", "load_manifest"]
