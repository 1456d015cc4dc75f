"""The simulator's Gateway schema against Tanium's real one, and every provider document against it.

The real schema is read from the shared reference captures when they are on this machine (they are not
part of the project); the comparison is skipped elsewhere. The document check always runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    parse,
    validate,
)
from graphql.pyutils import Undefined

from rmmbridge.providers.tanium import gateway as provider_gateway
from rmmbridge.simulators.tanium.schema import gateway_schema

REAL_SDL = Path("/work/shared/reference/captures/tanium-gateway-schema/vault-tec-io-tanium-mcp")


def provider_documents() -> dict[str, str]:
    docs = {name: value for name, value in vars(provider_gateway).items() if name.endswith("_DOC")}
    docs["filter_counts_doc(3)"] = provider_gateway.filter_counts_doc(3)
    return docs


def test_the_provider_sends_documents() -> None:
    names = set(provider_documents())
    assert {"ENDPOINTS_DOC", "LIVENESS_DOC", "LAST_SEEN_DOC", "MY_TOKENS_DOC", "ROTATE_DOC"} <= names


@pytest.mark.parametrize("name", sorted(provider_documents()))
def test_every_provider_document_is_valid_against_the_simulator_schema(name: str) -> None:
    errors = validate(gateway_schema(), parse(provider_documents()[name]))
    assert not errors, [e.message for e in errors]


def _real_schema() -> GraphQLSchema:
    files = sorted(REAL_SDL.glob("tanium_gateway_schema.graphql@*")) if REAL_SDL.is_dir() else []
    if not files:
        pytest.skip("the real Gateway schema capture is not on this machine")
    return build_schema(files[0].read_text(), assume_valid=True)


def _default(value: object) -> object:
    return None if value is Undefined else value


def _shape_differences(sim: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Every simulator type against the real type of the same name: object fields (a subset is allowed)
    with identical types and arguments; input objects and enums identical."""
    problems: list[str] = []
    for name, sim_type in sim.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        real_type = real.type_map.get(name)
        if real_type is None:
            problems.append(f"{name}: not in the real schema")
            continue
        if isinstance(sim_type, GraphQLEnumType):
            if set(sim_type.values) != set(real_type.values):  # type: ignore[attr-defined]
                problems.append(f"{name}: values {sorted(sim_type.values)} != {sorted(real_type.values)}")  # type: ignore[attr-defined]
        elif isinstance(sim_type, GraphQLInputObjectType):
            assert isinstance(real_type, GraphQLInputObjectType), name
            sim_fields = {f: (str(v.type), _default(v.default_value)) for f, v in sim_type.fields.items()}
            real_fields = {f: (str(v.type), _default(v.default_value)) for f, v in real_type.fields.items()}
            if sim_fields != real_fields:
                problems.append(f"input {name}: {sim_fields} != {real_fields}")
        elif isinstance(sim_type, GraphQLObjectType):
            assert isinstance(real_type, GraphQLObjectType), name
            for field_name, field in sim_type.fields.items():
                real_field = real_type.fields.get(field_name)
                if real_field is None:
                    problems.append(f"{name}.{field_name}: not in the real schema")
                    continue
                if str(field.type) != str(real_field.type):
                    problems.append(f"{name}.{field_name}: {field.type} != real {real_field.type}")
                sim_args = {a: (str(v.type), _default(v.default_value)) for a, v in field.args.items()}
                real_args = {a: (str(v.type), _default(v.default_value)) for a, v in real_field.args.items()}
                if sim_args != real_args:
                    problems.append(f"{name}.{field_name} arguments: {sim_args} != real {real_args}")
    return problems


def test_the_simulator_schema_agrees_with_the_real_gateway_schema() -> None:
    assert _shape_differences(gateway_schema(), _real_schema()) == []


def test_the_comparison_would_catch_a_nullability_difference() -> None:
    real = _real_schema()
    drifted = build_schema("type Query { now: Time }\nscalar Time")
    assert _shape_differences(drifted, real) == ["Query.now: Time != real Time!"]
