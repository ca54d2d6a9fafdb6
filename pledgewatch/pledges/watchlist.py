"""Which watch-list entities an article mentions, on word boundaries ("JD" is not "JDK")."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from pledgewatch.config import WatchEntity
from pledgewatch.pledges.actors import ActorResolver, AliasMatcher


class Watchlist:
    """Compiled matchers for the configured entities; built once per crawl, used per article.

    Matching is the pledge actors' :class:`AliasMatcher` in exact case, so relevance and pledge
    actors share one alias rule.
    """

    def __init__(self, entities: Iterable[WatchEntity]) -> None:
        self._entities = list(entities)
        self._names = [entity.name for entity in self._entities]
        table: dict[str, str] = {}
        # Earlier entities win an alias two entities share, as the per-entity search did.
        for entity in reversed(self._entities):
            for alias in (entity.name, *entity.aliases):
                if alias.strip():
                    table[alias] = entity.name
        self._matcher = AliasMatcher(table, ignore_case=False)

    def match(self, *texts: str | None) -> list[str]:
        """Names of the entities mentioned in any of ``texts``, in watch-list order."""
        joined = "\n".join(t for t in texts if t)
        found = {name for _, _, name in self._matcher.find(joined)}
        return [name for name in self._names if name in found]

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @cached_property
    def actor_resolver(self) -> ActorResolver:
        """Pledge actors normalised to the same watch list (built once, it compiles a large regex)."""
        return ActorResolver.from_entities(self._entities)
