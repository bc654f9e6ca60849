"""The one place a CoreApi method's signature is made from its endpoint declaration.

:func:`declare` turns an :class:`~ubiops.api.endpoints.Endpoint` into a :class:`Declaration`: parameter names, kinds,
defaults and annotations written as text. Two things read it:

- at run time, :func:`signature` evaluates the text into an :class:`inspect.Signature`, which ``Operation`` puts on
  each method (``help()``, ``inspect.signature`` and Jupyter's completion show it);
- ``python -m ubiops.api._stubgen`` writes it out as ``ubiops/api/core_api.pyi``, the declarations mypy and pyright
  check calls against.

Annotations come from the declaration's ``doc_type`` fields (``"list[str or dict()]"`` reads as
``List[Union[str, Dict[str, Any]]]``; a model name as that model), widened where a check accepts more than the
doc type says (:data:`ACCEPTS`). Required parameters are positional-or-keyword in the declared order; optional
parameters (query parameters) and the call options every method takes are keyword-only, as in the public client.
"""

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Tuple

from ubiops.api import checks
from ubiops.api.endpoints import CONTENT, Endpoint, Param

if TYPE_CHECKING:
    import inspect

__all__ = [
    "Argument",
    "Declaration",
    "CALL_OPTIONS",
    "ACCEPTS",
    "NAMES",
    "type_text",
    "returns_text",
    "declare",
    "evaluate",
    "signature",
]

#: Doc types that are not model names, and what they read as.
_DOC_TYPES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "object": "Any",
    "None": "None",
    "dict()": "Dict[str, Any]",
    "dict": "Dict[str, Any]",
    "datetime": "datetime",
}

#: Where a check accepts more than its parameter's doc type says (the doc types are the reference's).
ACCEPTS: Dict[Any, str] = {
    checks.direct_data: "Union[str, Dict[str, Any], List[Any]]",
    checks.batch_data: "Union[List[Any], str, Dict[str, Any]]",
    checks.request_ids: "Union[List[str], Tuple[str, ...]]",
    checks.update_body: "Union[DeploymentRequestUpdate, Dict[str, Any]]",
    checks.date: "Union[str, datetime]",
    checks.moment: "Union[str, datetime, int]",
    checks.logs_filter: "Union[LogsCreate, Dict[str, Any]]",
}
#: Where an answer is more than its doc type says: stored input or output can also be a JSON list.
_RETURNS: Dict[Any, str] = {CONTENT: "Union[str, Dict[str, Any], List[Any]]"}

#: The keyword arguments every method takes besides its own (``ubiops.api_client.CALL_OPTIONS``): name, annotation,
#: default. ``_return_http_data_only`` defaults to False for the ``_with_http_info`` twins (``None`` here).
CALL_OPTIONS: Tuple[Tuple[str, str, Any], ...] = (
    ("async_req", "bool", False),
    ("_request_timeout", "Optional[Union[float, Tuple[float, float]]]", None),
    ("_preload_content", "bool", True),
    ("_return_http_data_only", "bool", None),
    ("_retries", "Optional[Union[int, RetryPolicy]]", None),
    ("_headers", "Optional[Dict[str, str]]", None),
)

#: Where each name an annotation may use comes from (the stub imports them from there; :func:`signature` too).
NAMES: Dict[str, str] = {
    **{name: "typing" for name in ("Any", "Dict", "List", "Optional", "Tuple", "Union")},
    "datetime": "datetime",
    "HTTPHeaderDict": "ubiops.rest",  # urllib3.HTTPHeaderDict from urllib3 2.0, wrapped there for 1.26
    "RetryPolicy": "ubiops.retry",
}
_MODELS = "ubiops.models"


class Argument(NamedTuple):
    """One parameter: ``kind`` is ``"positional"`` (positional or keyword) or ``"keyword"`` (keyword-only)."""

    name: str
    kind: str
    annotation: str
    default: Any = None
    required: bool = False


class Declaration(NamedTuple):
    name: str
    arguments: Tuple[Argument, ...]
    returns: str  # what the method returns when called without call options


def _split(text: str, separator: str) -> List[str]:
    """``text`` split at ``separator`` outside brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        depth += char in "[("
        depth -= char in "])"
        if depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            start = i = i + len(separator)
            continue
        i += 1
    return parts + [text[start:]]


def type_text(doc_type: str) -> str:
    """A reference doc type as ``typing`` text: ``"list[str or dict()]"`` -> ``List[Union[str, Dict[str, Any]]]``.
    A name that is neither a known doc type nor a model in ``ubiops.models`` is a ValueError."""
    options = [_one_type(part.strip()) for part in _split(doc_type, " or ")]
    return options[0] if len(options) == 1 else f"Union[{', '.join(options)}]"


def _one_type(doc_type: str) -> str:
    if doc_type.startswith("list[") and doc_type.endswith("]"):
        return f"List[{type_text(doc_type[5:-1])}]"
    if doc_type.startswith("dict(") and doc_type.endswith(")") and doc_type != "dict()":
        key, value = _split(doc_type[5:-1], ",")
        return f"Dict[{type_text(key.strip())}, {type_text(value.strip())}]"
    if doc_type in _DOC_TYPES:
        return _DOC_TYPES[doc_type]
    import ubiops.models

    if isinstance(getattr(ubiops.models, doc_type, None), type):
        return doc_type
    raise ValueError(f"no annotation for the doc type {doc_type!r}: add it to _DOC_TYPES or a model to ubiops.models")


def _param_type(endpoint: Endpoint, param: Param) -> str:
    try:
        text = ACCEPTS.get(param.check) or type_text(param.doc_type)
    except ValueError as err:
        raise ValueError(f"{endpoint.name}: `{param.name}`: {err}") from err
    return text if param.required else f"Optional[{text}]"


def returns_text(endpoint: Endpoint, with_http_info: bool) -> str:
    """What the method returns by default: the model, or ``Tuple[model, int, HTTPHeaderDict]`` for the twin."""
    text = _RETURNS.get(endpoint.returns) or type_text(endpoint.returns.doc_type)
    return f"Tuple[{text}, int, HTTPHeaderDict]" if with_http_info else text


def declare(endpoint: Endpoint, with_http_info: bool) -> Declaration:
    """The method for ``endpoint``: its required parameters in order, then keyword-only options and call options."""
    arguments = [
        Argument(p.name, "positional", _param_type(endpoint, p), required=True) for p in endpoint.params if p.required
    ]
    arguments += [Argument(p.name, "keyword", _param_type(endpoint, p)) for p in endpoint.params if not p.required]
    for name, annotation, default in CALL_OPTIONS:
        if name == "_return_http_data_only":
            default = not with_http_info
        arguments.append(Argument(name, "keyword", annotation, default))
    name = endpoint.name + ("_with_http_info" if with_http_info else "")
    return Declaration(name, tuple(arguments), returns_text(endpoint, with_http_info))


_EVALUATED: Dict[str, Any] = {}


def evaluate(text: str) -> Any:
    """An annotation's text as the object it names (cached)."""
    if text not in _EVALUATED:
        import importlib

        namespace = dict(vars(importlib.import_module(_MODELS)))
        namespace.update({name: getattr(importlib.import_module(module), name) for name, module in NAMES.items()})
        _EVALUATED[text] = eval(text, namespace)  # text made by this module from the names in NAMES and the models
    return _EVALUATED[text]


def signature(declaration: Declaration, self_parameter: bool = True) -> "inspect.Signature":
    """The run-time form of ``declaration``, with a leading ``self`` for the function stored on the class."""
    import inspect

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] if self_parameter else []
    kinds = {"positional": inspect.Parameter.POSITIONAL_OR_KEYWORD, "keyword": inspect.Parameter.KEYWORD_ONLY}
    for argument in declaration.arguments:
        kind = kinds[argument.kind]
        default = inspect.Parameter.empty if argument.required else argument.default
        parameters.append(
            inspect.Parameter(argument.name, kind, default=default, annotation=evaluate(argument.annotation))
        )
    return inspect.Signature(parameters, return_annotation=evaluate(declaration.returns))
