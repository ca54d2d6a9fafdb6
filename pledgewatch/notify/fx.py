"""US-dollar estimates of pledge amounts, from a shipped table of yearly average exchange rates.

Analysts compare RMB 6 bn with HK$ 2 bn and € 50 million at a glance only on one scale, so the
digest summary and `pledgewatch report` print an estimate in US dollars next to every monetary
amount. It is an estimate, and says so: the yearly average rate of the pledge's first publication
year (else the nearest year in the table), from ``pledgewatch/data/fx_usd.toml``, whose header
names its source (the Federal Reserve's G.5A annual averages). Totals are never summed across
currencies or units; only their USD estimates are, and only where every part has a rate.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pledgewatch.notify.rendering import format_number

FX_TABLE = "fx_usd.toml"


@dataclass(frozen=True)
class UsdEstimate:
    """An amount in US dollars at one year's average rate: ``year`` is the rate's year, which is the
    pledge's publication year unless that year is outside the table (``nearest`` then)."""

    usd: float
    currency: str
    year: int
    rate_per_usd: float
    nearest: bool = False
    provisional: bool = False

    @property
    def note(self) -> str:
        """ "2020 average rate", "2024 average rate (nearest year in the table)"."""
        text = f"{self.year} average rate"
        if self.provisional:
            text += ", provisional"
        if self.nearest:
            text += ", nearest year in the table"
        return text


@dataclass(frozen=True)
class RateTable:
    """Units of each currency per US dollar, by year, with each currency's source."""

    per_usd: dict[str, dict[int, float]]
    sources: dict[str, str]
    provisional: dict[str, frozenset[int]]
    source_name: str
    source_url: str

    @property
    def currencies(self) -> list[str]:
        return sorted(self.per_usd)

    @property
    def years(self) -> tuple[int, int]:
        every = [year for rates in self.per_usd.values() for year in rates]
        return min(every), max(every)

    def rate(self, currency: str | None, year: int | None) -> tuple[int, float, bool] | None:
        """(year used, units per USD, whether it is the nearest year) or None without a rate.

        A pledge with no known publication year takes the latest year: the most likely one for a
        pledge pledgewatch only just found.
        """
        if not currency:
            return None
        rates = self.per_usd.get(currency.upper())
        if not rates:
            return None
        if year in rates:
            return year, rates[year], False
        target = max(rates) if year is None else year
        used = min(rates, key=lambda known: (abs(known - target), -known))
        return used, rates[used], year is not None

    def estimate(self, value: float | None, currency: str | None, year: int | None) -> UsdEstimate | None:
        """``value`` of ``currency`` in US dollars at the average rate of ``year``; None when the
        amount is a count (jobs, people) or the table has no rate for the currency."""
        if value is None or not currency:
            return None
        found = self.rate(currency, year)
        if found is None:
            return None
        used, per_usd, nearest = found
        code = currency.upper()
        return UsdEstimate(
            usd=value / per_usd,
            currency=code,
            year=used,
            rate_per_usd=per_usd,
            nearest=nearest,
            provisional=used in self.provisional.get(code, frozenset()),
        )


def parse_rate_table(text: str) -> RateTable:
    """The table from TOML text (``per_usd`` or ``usd_per`` per currency, years as keys)."""
    data = tomllib.loads(text)
    per_usd: dict[str, dict[int, float]] = {}
    sources: dict[str, str] = {}
    provisional: dict[str, frozenset[int]] = {}
    for code, entry in data.get("currencies", {}).items():
        if "per_usd" in entry:
            rates = {int(year): float(rate) for year, rate in entry["per_usd"].items()}
        else:
            rates = {int(year): 1.0 / float(rate) for year, rate in entry["usd_per"].items()}
        if any(rate <= 0 for rate in rates.values()):
            raise ValueError(f"{FX_TABLE}: {code} has a rate that is not positive")
        per_usd[code.upper()] = rates
        sources[code.upper()] = str(entry.get("source", ""))
        provisional[code.upper()] = frozenset(int(year) for year in entry.get("provisional", []))
    source = data.get("source", {})
    return RateTable(
        per_usd=per_usd,
        sources=sources,
        provisional=provisional,
        source_name=str(source.get("name", "")),
        source_url=str(source.get("url", "")),
    )


@cache
def rate_table() -> RateTable:
    """The shipped table (package data), read once."""
    text = resources.files("pledgewatch").joinpath("data", FX_TABLE).read_text(encoding="utf-8")
    return parse_rate_table(text)


def format_usd(value: float | None) -> str:
    """ "≈ US$ 869 million": the estimate as printed, with its sign of approximation."""
    if value is None:
        return ""
    # Three significant digits: more would claim a precision a yearly average does not have.
    return f"≈ US${format_number(float(f'{value:.3g}'))}"


@dataclass(frozen=True)
class TotalEstimate:
    """The USD estimate of a sum of pledges in one currency: each year at its own rate.

    ``years`` are the rate years used; ``partial`` says part of the sum had no rate (so the
    estimate leaves it out and must say so).
    """

    usd: float
    years: tuple[int, ...]
    partial: bool = False

    @property
    def note(self) -> str:
        if not self.years:
            return ""
        span = f"{self.years[0]}" if len(self.years) == 1 else f"{self.years[0]}-{self.years[-1]}"
        return f"{span} average rate{'s' if len(self.years) > 1 else ''}"


def estimate_by_year(
    by_year: dict[int | None, float], currency: str | None, table: RateTable | None = None
) -> TotalEstimate | None:
    """USD estimate of amounts in ``currency`` split by publication year (a Total's ``by_year``)."""
    if not currency or not by_year:
        return None
    table = table or rate_table()
    usd, years, partial = 0.0, set(), False
    for year, amount in by_year.items():
        found = table.estimate(amount, currency, year)
        if found is None:
            partial = True
            continue
        usd += found.usd
        years.add(found.year)
    if not years:
        return None
    return TotalEstimate(usd=usd, years=tuple(sorted(years)), partial=partial)
