"""Frozen: the base of small immutable settings objects (RetryPolicy, Backoff): equality, hashing, repr and
copying come from ``__slots__``; no attribute can be set or deleted after ``__init__``."""

from typing import Any, Dict, Tuple


class Frozen:
    """Subclasses declare ``__slots__`` and set each slot once in ``__init__`` with :meth:`_freeze`."""

    __slots__: Tuple[str, ...] = ()

    def _freeze(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; make a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; make a new one")

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __copy__(self) -> "Frozen":
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Frozen":
        return self

    def __reduce__(self) -> Any:
        return (type(self), self._values())
