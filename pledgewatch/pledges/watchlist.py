"""Which watch-list entities an article mentions, on word boundaries ("JD" is not "JDK")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from pledgewatch.config import WatchEntity

if TYPE_CHECKING:
    from pledgewatch.pledges.extract import ActorResolver


def _is_cjk(name: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in name)


class Watchlist:
    """Compiled matchers for the configured entities; built once per crawl, used per article."""

    def __init__(self, entities: Iterable[WatchEntity]) -> None:
        self._entities = list(entities)
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for entity in self._entities:
            names = sorted({entity.name, *entity.aliases}, key=len, reverse=True)
            # Latin names need word boundaries that also work next to punctuation ("JD.com",
            # "JD's"): no letter, digit or underscore directly before or after. Chinese text has
            # no spaces between words, so CJK names match anywhere.
            alternatives = "|".join(
                re.escape(name) if _is_cjk(name) else rf"(?<![\w]){re.escape(name)}(?![\w])"
                for name in names
                if name.strip()
            )
            pattern = re.compile(alternatives)
            self._patterns.append((entity.name, pattern))

    def match(self, *texts: str | None) -> list[str]:
        """Names of the entities mentioned in any of ``texts``, in watch-list order."""
        joined = "\n".join(t for t in texts if t)
        return [name for name, pattern in self._patterns if pattern.search(joined)]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._patterns]

    @cached_property
    def actor_resolver(self) -> ActorResolver:
        """Pledge actors normalised to the same watch list (built once, it compiles a large regex)."""
        from pledgewatch.pledges.extract import ActorResolver

        return ActorResolver.from_entities(self._entities)
