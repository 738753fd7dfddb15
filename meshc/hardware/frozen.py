"""An immutable, hashable, picklable mapping for the fields of frozen hardware objects.

Hardware is loaded once and shared through a cache, so no caller may mutate it; a plain
dict field would allow that, and MappingProxyType cannot be pickled or hashed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from pydantic import AfterValidator, PlainSerializer

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A read-only dict that keeps insertion order."""

    __slots__ = ("_d",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._d: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._d[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(tuple(self._d.items()))

    def __eq__(self, other: object) -> bool:
        return dict(self._d) == dict(other) if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._d,))


# Pydantic field annotations: validate as a dict, store a FrozenMap, dump a dict.
FREEZE = AfterValidator(FrozenMap)
DUMP = PlainSerializer(dict)
