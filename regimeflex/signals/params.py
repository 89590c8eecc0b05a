"""Reading a plugin's parameters into its pydantic model, with a one-line error.

Owns :func:`read_params`, which every built-in strategy and sizer uses on the
``params`` mapping it receives (already validated once by the plugin host when
configuration was loaded; re-reading makes direct calls with plain dicts safe),
and :func:`format_validation_error`, the ``where: key: message, got value`` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from regimeflex.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def format_validation_error(where: str, error: ValidationError) -> str:
    """``where: key.path: message, got value`` for the first problem pydantic found."""
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"] if p != "[key]")
    message = first["msg"].removeprefix("Value error, ")
    if not key:  # a rule across keys: its message already names them and their values
        return f"{where}: {message}"
    if first["type"] == "extra_forbidden":
        return f"{where}: {key}: unknown key; remove it or fix its spelling"
    if first["type"] == "missing":
        return f"{where}: {key}: required key is missing"
    return f"{where}: {key}: {message}, got {first.get('input')!r}"


def read_params(model: type[Model], params: Mapping[str, Any] | BaseModel | None, where: str) -> Model:
    """Validate ``params`` against ``model``; raise :class:`ConfigError` naming ``where`` and the key."""
    if isinstance(params, model):
        return params
    if isinstance(params, BaseModel):
        params = params.model_dump()
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(where, exc)) from None
