"""The GEX snapshot schema of the API is derived from GEXSnapshot: every field, in its order, with
its default and description, so a field added to the struct is served without editing the API."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from apps.api.schemas import GEXHistoryItemOut, GEXSnapshotOut
from apps.api.struct_schemas import struct_schema
from apps.gex.snapshots import GEXSnapshot, StrikeRow


class Row(msgspec.Struct, frozen=True, array_like=True):
    level: float
    size: int | None
    history: tuple[float, ...] = ()


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    rows: tuple[Row, ...] = ()
    pair: tuple[float, float] | None = None
    added_later: Annotated[int | None, msgspec.Meta(description="a field added to the struct")] = None


def test_every_field_of_a_struct_appears_with_its_encoded_type_default_and_description() -> None:
    schema = struct_schema(Reading, name="ReadingOut", id=(str, ...)).model_json_schema()
    assert list(schema["properties"]) == ["name", "rows", "pair", "added_later", "id"]
    assert schema["required"] == ["name", "id"]
    assert schema["properties"]["added_later"]["description"] == "a field added to the struct"
    rows = schema["properties"]["rows"]
    assert rows["default"] == []
    assert rows["items"]["prefixItems"] == [
        {"type": "number"},
        {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        {"items": {"type": "number"}, "type": "array"},
    ]
    assert schema["properties"]["pair"]["anyOf"][0]["prefixItems"] == [{"type": "number"}, {"type": "number"}]


def test_a_struct_as_encoded_passes_through_its_schema_unchanged() -> None:
    reading = Reading(name="x", rows=(Row(1.5, None, (2.0,)), Row(2.5, 3)), pair=(1.0, 2.0), added_later=7)
    encoded = msgspec.json.decode(msgspec.json.encode(reading))
    out = struct_schema(Reading, name="ReadingOut").model_validate(encoded).model_dump(mode="json")
    assert out == encoded


class Inner(msgspec.Struct):
    value: int


class Outer(msgspec.Struct):
    inner: Inner


def test_a_nested_struct_that_is_not_a_row_is_refused_with_its_name() -> None:
    with pytest.raises(TypeError, match="Inner: only array-like structs"):
        struct_schema(Outer, name="OuterOut")


def test_the_gex_schemas_have_every_snapshot_field_in_order() -> None:
    fields = [field.name for field in msgspec.structs.fields(GEXSnapshot)]
    assert list(GEXSnapshotOut.model_fields) == fields
    assert list(GEXHistoryItemOut.model_fields) == [*fields, "id"]
    walls = GEXSnapshotOut.model_json_schema()["properties"]["call_wall"]
    assert walls["description"] == "strike of the largest call-side GEX by OI (computed sources only)"


def test_a_snapshot_is_served_exactly_as_it_is_encoded() -> None:
    snapshot = GEXSnapshot(
        ticker="ES_SPX",
        package="classic",
        category="gex_zero",
        timestamp=1_790_000_000,
        spot=6000.25,
        zero_gamma=5990.0,
        strikes=(StrikeRow(6000.0, 1.5, None, (0.5, None)), StrikeRow(6005.0, None, 2.0)),
        max_priors=((6000.0, 1.0), (6005.0, -2.0)),
        call_wall=6010.0,
    )
    encoded = msgspec.json.decode(msgspec.json.encode(snapshot))
    # Strike rows, positional in the stream, are served as named objects.
    served = {
        **encoded,
        "strikes": [
            {"strike": 6000.0, "gex_vol": 1.5, "gex_oi": None, "priors": [0.5, None]},
            {"strike": 6005.0, "gex_vol": None, "gex_oi": 2.0, "priors": []},
        ],
    }
    assert GEXSnapshotOut.model_validate(served).model_dump(mode="json") == served
    schema = GEXSnapshotOut.model_json_schema()
    strike = schema["$defs"][schema["properties"]["strikes"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert list(strike["properties"]) == ["strike", "gex_vol", "gex_oi", "priors"]
