"""Request schemas at work: query strings and JSON bodies read through pydantic models.

Theory of operation: a view declares what it takes with :func:`validated`
(``@validated(query=AttemptsQuery, body=StatusBody)``) and receives the parsed,
typed models as ``query=`` and ``body=`` keyword arguments. A view that declares
nothing takes nothing: any query parameter or JSON body field is refused by name.
A :class:`pydantic.ValidationError` becomes :class:`~web.errors.Invalid` (400),
each problem naming its field (``members[1].user_id``) and JSON pointer, so the
panel's error shape holds for every input error. A posted form is read the same
way with :func:`parse_form`: a page's, or an upload's (``@validated(form=...)``;
a multipart form's file parts are fields like the others). The models live in
:mod:`web.schemas` and each domain's ``controlplane.<domain>.http.schemas``, and are
kept on the view (``centrala_schemas``) so the API description can be generated from them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from web.auth import CSRF_FIELD
from web.errors import FieldProblem, Invalid

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

BODY = "body"

# pydantic error types → what we tell the user (their own messages name the Python type).
_MESSAGES = {
    "missing": "required",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "none_required": "must be null",
}
_JSON_TYPES = ((bool, "true/false"), (int, "a number"), (float, "a number"), (str, "a string"),
               (list, "a list"), (dict, "an object"), (type(None), "null"))


def _json_type(value: Any) -> str:
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "a value")


def field_name(loc: tuple[int | str, ...]) -> str:
    """``("members", 1, "user_id")`` → ``members[1].user_id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or BODY


def json_pointer(loc: tuple[int | str, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def problems(
    err: ValidationError, model: type[BaseModel], *, parameters: bool = False
) -> list[FieldProblem]:
    """Every error of ``err`` as a :class:`FieldProblem` in the user's words."""
    out = []
    for e in err.errors(include_url=False, include_context=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        if kind == "extra_forbidden":
            noun = "parameter" if parameters else "field"
            message = f"unknown {noun} (allowed: {_allowed(model, loc[:-1])})"
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
            if kind.endswith("_type") and not parameters:  # parameters are always text
                message += f", got {_json_type(e.get('input'))}"
        else:
            message = str(e["msg"])
            message = message[:1].lower() + message[1:]
            message = message.removeprefix("value error, ").replace("input should be", "must be")
        out.append(FieldProblem(field_name(loc), message, "" if parameters else json_pointer(loc)))
    return out


def _allowed(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The field names of the (possibly nested) model at ``loc``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        annotation = getattr(field, "annotation", None)
        current = _model_in(annotation)
        if current is None:
            return "none"
    names = [f.alias or name for name, f in current.model_fields.items()]
    return ", ".join(names) or "none"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``Item``, ``list[Item]`` or ``Item | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def parse(model: type[M], data: Any, *, parameters: bool = False) -> M:
    """``data`` as ``model``, or :class:`Invalid` naming every wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise Invalid(problems(err, model, parameters=parameters), parameters=parameters) from None


def parse_query(model: type[M] | None) -> M | None:
    """The query string as ``model``; with no model, any parameter is refused."""
    raw = request.args.to_dict(flat=False)
    repeated = [FieldProblem(k, "given more than once") for k, v in raw.items() if len(v) > 1]
    if repeated:
        raise Invalid(repeated, parameters=True)
    if model is None:
        if raw:
            raise Invalid(
                [FieldProblem(k, "unknown parameter (this request takes none)") for k in raw],
                parameters=True,
            )
        return None
    return parse(model, {k: v[0] for k, v in raw.items()}, parameters=True)


def parse_form(model: type[M]) -> M:
    """A posted form as ``model``; the CSRF token (checked already) is set aside.

    Form values are text, so problems are named like parameters (``parameter 'x'``).
    A multipart form's file parts are fields like the others (their value a Werkzeug
    ``FileStorage``): a model names the files it takes, and any other is refused.
    """
    raw: dict[str, list[Any]] = request.form.to_dict(flat=False)
    raw.pop(CSRF_FIELD, None)
    for name, parts in request.files.to_dict(flat=False).items():
        raw.setdefault(name, []).extend(parts)
    repeated = [FieldProblem(k, "given more than once") for k, v in raw.items() if len(v) > 1]
    if repeated:
        raise Invalid(repeated, parameters=True)
    return parse(model, {k: v[0] for k, v in raw.items()}, parameters=True)


def parse_body(model: type[M] | None) -> M | None:
    """The JSON body as ``model``; with no model, a body with any field is refused.

    The request guard (:mod:`web.request_limits`) has already refused JSON that does
    not parse, is too big or too deep.
    """
    doc = request.get_json(silent=True) if request.is_json else None
    if model is None:
        if isinstance(doc, dict) and doc:
            raise Invalid(
                [FieldProblem(str(k), "unknown field (this request takes no body)",
                              json_pointer((k,))) for k in doc]
            )
        if doc not in (None, {}):
            raise Invalid([FieldProblem(BODY, "this request takes no body")])
        return None
    if doc is None:
        raise Invalid([FieldProblem(BODY, "send a JSON object (Content-Type: application/json)")])
    return parse(model, doc)


def validated(*, query: type[BaseModel] | None = None,
              body: type[BaseModel] | None = None,
              form: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Parse the query string, and the JSON body or the posted form (an upload), into
    the view's ``query``/``body``/``form`` arguments.

    Put it under ``login_required`` so a logged-out client learns nothing about the
    schema. Only the arguments that have a model are passed.
    """
    assert body is None or form is None, "a request has a JSON body or a form, not both"

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            parsed_query = parse_query(query)
            if query is not None:
                kwargs["query"] = parsed_query
            if form is not None:
                kwargs["form"] = parse_form(form)
            else:
                parsed_body = parse_body(body)
                if body is not None:
                    kwargs["body"] = parsed_body
            return view(*args, **kwargs)

        wrapper.centrala_schemas = {  # type: ignore[attr-defined]
            "query": query, "body": body, "form": form}
        return wrapper  # type: ignore[return-value]

    return decorate
