"""Response schemas derived from the msgspec structs the domain already defines, so a field added
to a struct (GEXSnapshot, ...) appears in the API and its OpenAPI document without a copy to edit.

Types map to what the struct encodes to: a tuple of any length to a list, an `array_like` struct
(a row sent as a list) to a tuple of its fields' types, and
`Annotated[..., msgspec.Meta(description=...)]` to a field description. A field's default is
the struct's, as encoded.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec
from pydantic import BaseModel, Field, create_model


def api_type(annotation: Any) -> Any:
    """The type pydantic validates and documents for a struct field's annotation."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return api_type(args[0])
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if not annotation.__struct_config__.array_like:
            raise TypeError(f"{annotation.__name__}: only array-like structs can be nested in a response schema")
        row = get_type_hints(annotation)
        return tuple[tuple(api_type(row[field.name]) for field in msgspec.structs.fields(annotation))]  # type: ignore[misc]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[api_type(args[0])]  # type: ignore[misc]
        return tuple[tuple(api_type(arg) for arg in args)]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        return Union[tuple(api_type(arg) for arg in args)]  # noqa: UP007 - built from a tuple of types
    return annotation


def _description(annotation: Any) -> str | None:
    if get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return str(meta.description)
    return None


def _as_json(value: Any) -> Any:
    """`value` as the struct's JSON carries it (a tuple becomes a list)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _default(field: msgspec.structs.FieldInfo) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return _as_json(field.default_factory())
    if field.default is not msgspec.NODEFAULT:
        return _as_json(field.default)
    return ...


def struct_schema(
    struct: type[msgspec.Struct], *, name: str, base: type[BaseModel] = BaseModel, **extra: Any
) -> type[BaseModel]:
    """A response model (subclass of `base`) named `name` with the fields of `struct`, in its order, then the `extra`
    fields (`field=(type, default)`, as pydantic's create_model takes them); an extra field named
    as a struct field replaces it (the door serves that field in another shape)."""
    hints = get_type_hints(struct, include_extras=True)
    fields: dict[str, Any] = {
        field.name: (
            api_type(hints[field.name]),
            Field(_default(field), description=_description(hints[field.name])),
        )
        for field in msgspec.structs.fields(struct)
    }
    model: type[BaseModel] = create_model(name, __base__=base, **{**fields, **extra})
    return model
