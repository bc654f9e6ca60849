"""The one base every model is declared on: fields are the class annotations, nothing else to maintain."""

from datetime import datetime, timezone
from typing import Any, ClassVar, Dict, Optional, Tuple, Type, TypeVar

from dateutil.parser import isoparse

from ubiops.exceptions import ApiTypeError

__all__ = ["Model", "parse_datetime"]

M = TypeVar("M", bound="Model")
_DATETIME_TYPES = (datetime, Optional[datetime])


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 text as a timezone-aware datetime (UTC when the text carries no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # before 3.11 fromisoformat rejects "Z" and other valid ISO 8601 forms
        parsed = isoparse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


class Model:
    """A record of the API. Subclasses only annotate their fields; a field defaults to its class value, else None.

    Example::

        class Example(Model):
            id: Optional[str] = None
            time_created: Optional[datetime] = None   # text from the server becomes a datetime

        Example(id="x").to_dict() == {"id": "x", "time_created": None}
    """

    _fields: ClassVar[Tuple[str, ...]] = ()
    _datetime_fields: ClassVar[Tuple[str, ...]] = ()
    _defaults: ClassVar[Dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        own = tuple(name for name in annotations if not name.startswith("_"))
        cls._fields = tuple(dict.fromkeys(cls._fields + own))
        cls._datetime_fields = cls._datetime_fields + tuple(n for n in own if annotations[n] in _DATETIME_TYPES)
        cls._defaults = {name: getattr(cls, name, None) for name in cls._fields}

    def __init__(self, *args: Any, local_vars_configuration: Any = None, **kwargs: Any) -> None:
        cls_name = type(self).__name__
        if len(args) > len(self._fields):
            raise ApiTypeError(f"{cls_name}() takes at most {len(self._fields)} positional arguments, got {len(args)}")
        for name, value in zip(self._fields, args):
            if name in kwargs:
                raise ApiTypeError(f"{cls_name}() got multiple values for argument '{name}'")
            kwargs[name] = value
        unknown = [name for name in kwargs if name not in self._fields]
        if unknown:
            raise ApiTypeError(
                f"{cls_name}() got an unexpected keyword argument '{unknown[0]}'; fields are {', '.join(self._fields)}"
            )
        values = {**self._defaults, **kwargs}
        self.__dict__.update(self._parse_datetimes(values))
        self._validate(local_vars_configuration)

    def _validate(self, configuration: Any) -> None:
        """Hook for models with rules on their values."""

    @classmethod
    def _parse_datetimes(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        for name in cls._datetime_fields:
            value = values.get(name)
            if value.__class__ is str:
                values[name] = parse_datetime(value)
        return values

    @classmethod
    def from_json(cls: Type[M], data: Dict[str, Any]) -> M:
        """Build from a decoded JSON object. Keys this model does not know (a newer server) stay readable as
        attributes but are left out of ``to_dict()``."""
        values: Dict[str, Any] = dict.fromkeys(cls._fields)
        values.update(data)
        model = cls.__new__(cls)
        model.__dict__ = cls._parse_datetimes(values)
        return model

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict; nested models become dicts, datetimes stay datetimes."""
        return {name: _plain(self.__dict__[name]) for name in self._fields}

    def to_str(self) -> str:
        import pprint

        return pprint.pformat(self.to_dict())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
