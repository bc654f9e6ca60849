"""The one base every model is declared on: fields are the class annotations, nothing else to maintain."""

import copy
from datetime import date, datetime, timezone
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Type, TypeVar, Union, get_args, get_origin

from dateutil.parser import isoparse

from ubiops.exceptions import ApiTypeError

__all__ = ["Model", "parse_datetime", "sanitize", "decode", "MODELS"]

M = TypeVar("M", bound="Model")
_DATETIME_TYPES = (datetime, Optional[datetime])
#: Defaults that each instance gets a copy of.
_MUTABLE = (list, dict, set)


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 text as a timezone-aware datetime (UTC when the text carries no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # before 3.11 fromisoformat rejects "Z" and other valid ISO 8601 forms
        parsed = isoparse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


#: Every public model by class name, for answers decoded by a type name (``ApiClient.deserialize``).
MODELS: Dict[str, Type["Model"]] = {}


def _nested(annotation: Any) -> Optional[Tuple[Type["Model"], bool]]:
    """The model a field holds and whether it is a list of them: ``Optional[Widget]``, ``Optional[List[Field]]``."""
    for arg in get_args(annotation) if get_origin(annotation) is Union else (annotation,):
        is_list = get_origin(arg) in (list, List)
        inner = get_args(arg)[0] if is_list and get_args(arg) else arg
        if isinstance(inner, type) and issubclass(inner, Model):
            return inner, is_list
    return None


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
    _nested_fields: ClassVar[Dict[str, Tuple[Type["Model"], bool]]] = {}
    _defaults: ClassVar[Dict[str, Any]] = {}
    _mutable_defaults: ClassVar[Tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        own = tuple(name for name in annotations if not name.startswith("_"))
        cls._fields = tuple(dict.fromkeys(cls._fields + own))
        cls._datetime_fields = cls._datetime_fields + tuple(n for n in own if annotations[n] in _DATETIME_TYPES)
        nested = {name: _nested(annotations[name]) for name in own}
        cls._nested_fields = {**cls._nested_fields, **{name: kind for name, kind in nested.items() if kind}}
        cls._defaults = {name: getattr(cls, name, None) for name in cls._fields}
        cls._mutable_defaults = tuple(name for name, value in cls._defaults.items() if isinstance(value, _MUTABLE))
        if not cls.__name__.startswith("_"):
            MODELS[cls.__name__] = cls

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
        self.__dict__.update(self._parse(self._with_defaults(kwargs)))
        self._validate(local_vars_configuration)

    def _validate(self, configuration: Any) -> None:
        """Hook for models with rules on their values."""

    @classmethod
    def _with_defaults(cls, given: Dict[str, Any]) -> Dict[str, Any]:
        """The given values, and each missing field's class default (a mutable one copied, never shared)."""
        values = {**cls._defaults, **given}
        for name in cls._mutable_defaults:
            if name not in given:
                values[name] = copy.deepcopy(values[name])
        return values

    @classmethod
    def _parse(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        """Datetime text becomes a datetime, and a dict (or a list of them) in a field of models becomes models."""
        for name in cls._datetime_fields:
            value = values.get(name)
            if value.__class__ is str:
                values[name] = parse_datetime(value)
        for name, (model, is_list) in cls._nested_fields.items():
            value = values.get(name)
            if is_list and isinstance(value, list):
                values[name] = [model.from_json(item) if isinstance(item, dict) else item for item in value]
            elif not is_list and isinstance(value, dict):
                values[name] = model.from_json(value)
        return values

    @classmethod
    def from_json(cls: Type[M], data: Dict[str, Any]) -> M:
        """Build from a decoded JSON object; a field it lacks gets its default, as in the constructor. Keys this
        model does not know (a newer server) stay readable as attributes but are left out of ``to_dict()``."""
        model = cls.__new__(cls)
        model.__dict__ = cls._parse(cls._with_defaults(data))
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


def sanitize(value: Any) -> Any:
    """A JSON-ready copy, as generated clients send it: a model becomes a dict of its fields that are not None,
    a datetime or date ISO 8601 text, a tuple a list; lists and dicts are copied with their items sanitized."""
    if isinstance(value, Model):
        return {name: sanitize(item) for name in value._fields if (item := value.__dict__[name]) is not None}
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [sanitize(item) for item in value]
    if isinstance(value, dict):
        return {key: sanitize(item) for key, item in value.items()}
    return value


_PRIMITIVES: Dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


def decode(data: Any, type_name: str) -> Any:
    """Decoded JSON as the type a generated client names: ``list[X]``, ``dict(str, X)``, a model name, ``str``,
    ``int``, ``float``, ``bool``, ``date``, ``datetime`` or ``object`` (as it is). None stays None."""
    if data is None or type_name == "object":
        return data
    if type_name.startswith("list[") and type_name.endswith("]"):
        return [decode(item, type_name[5:-1]) for item in data]
    if type_name.startswith("dict(") and type_name.endswith(")"):
        value_type = type_name[5:-1].split(",", 1)[1].strip()
        return {key: decode(item, value_type) for key, item in data.items()}
    if type_name == "datetime":
        return parse_datetime(data)
    if type_name == "date":
        return date.fromisoformat(data)
    if type_name in _PRIMITIVES:
        return data if isinstance(data, (dict, list)) else _PRIMITIVES[type_name](data)
    model = MODELS.get(type_name)
    if model is None:
        raise ApiTypeError(f"cannot decode into {type_name!r}: not a model, list[...], dict(str, ...) or a primitive")
    return model.from_json(data)
