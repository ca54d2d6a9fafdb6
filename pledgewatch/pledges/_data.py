"""The package's word lists and tables (``pledgewatch/pledges/data/*.json``), read once.

They are data, not code, so that a new unit, company alias, province spelling or pledge kind is
one line in a JSON file and a reviewer sees the vocabulary apart from the rules that use it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>.json`` of this package (cached: every caller shares one copy)."""
    text = files("pledgewatch.pledges").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
