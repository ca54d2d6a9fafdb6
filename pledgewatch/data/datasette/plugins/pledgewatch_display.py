"""Datasette plugin of `pledgewatch serve`: amounts and times as people read them, notes folded.

Loaded with ``--plugins-dir`` (pledgewatch/cli/search.py), so it needs no installation. The cells
keep their raw values (sorting, filters, CSV and JSON exports are unchanged); only the HTML shows
``RMB 10 bn`` for ``10000000000.0`` (the raw number on hover) and ``2020-04-08 10:00 UTC`` for
``2020-04-08 10:00:00.000000``. Amounts use the digest's and alerts' wording
(pledgewatch.notify.rendering.format_amount), with the row's currency or unit; a number whose row
says neither is shown with thousands separators only, since its unit is unknown.
"""

from __future__ import annotations

import importlib.util
import re

from datasette import hookimpl
from markupsafe import Markup, escape

from pledgewatch.notify.rendering import format_amount, format_number

AMOUNT_COLUMNS = {"amount_value", "total_amount", "mention_amount"}
TIME = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(?:\+00:00|Z)?$")


def _field(row: object, name: str) -> object:
    try:
        keys = row.keys()  # type: ignore[attr-defined]
    except AttributeError:
        return None
    return row[name] if name in keys else None  # type: ignore[index]


@hookimpl
def render_cell(row, value, column, table, database, datasette):  # type: ignore[no-untyped-def]
    if column in AMOUNT_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool):
        currency = _field(row, "currency") or _field(row, "mention_currency")
        unit = _field(row, "amount_unit")
        grouped = _field(row, "unit")
        if not currency and not unit and isinstance(grouped, str) and grouped != "(no unit)":
            currency, unit = (grouped, None) if grouped.isupper() else (None, grouped)
        text = format_amount(float(value), str(currency) if currency else None, str(unit) if unit else None)
        if not currency and not unit:
            text = format_number(float(value))
        return Markup(f'<span class="pw-amount" title="{escape(repr(value))}">{escape(text)}</span>')
    if isinstance(value, str) and (column.endswith("_at") or column in {"published", "first_published"}):
        match = TIME.match(value)
        if match:
            return Markup(
                f'<span class="pw-time" title="{escape(value)}">{match.group(1)} {match.group(2)} UTC</span>'
            )
    return None


# Column notes (metadata "columns") come first on a table page and fill a screen: fold them.
FOLD_NOTES = """
document.querySelectorAll("dl.column-descriptions").forEach(function (notes) {
  var details = document.createElement("details");
  details.className = "pw-column-notes";
  var summary = document.createElement("summary");
  summary.textContent = "Column notes (" + notes.querySelectorAll("dt").length + ")";
  details.appendChild(summary);
  notes.parentNode.insertBefore(details, notes);
  details.appendChild(notes);
});
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):  # type: ignore[no-untyped-def]
    return FOLD_NOTES if template == "table.html" else ""


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):  # type: ignore[no-untyped-def]
    return {"pledgewatch_dashboards": importlib.util.find_spec("datasette_dashboards") is not None}
