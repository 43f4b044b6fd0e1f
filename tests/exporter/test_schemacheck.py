"""schemacheck must agree with jsonschema wherever it answers (it decides whether jsonschema is needed at all)."""
from __future__ import annotations

import itertools

import jsonschema
import pytest

from perfadvisor.exporter import schemacheck, webconfig
from perfadvisor.exporter.config import BASE_SETTINGS, file_schema
from perfadvisor.exporter.registry import all_collectors

SCALARS = [None, True, False, 0, 1, -1, 2.5, 1.0, 10**6, "", "x", ":9100", "127.0.0.1:80", "debug", "/metrics", [], {},
           ["a"], [1], {"a": 1}]


def _instances(schema, depth=0):
    """Values near the edges of a schema: each scalar, and objects built from its properties' instances."""
    yield from SCALARS
    if depth > 2 or not isinstance(schema, dict):
        return
    for v in schema.get("enum", []):
        yield v
    for k in ("minimum", "maximum", "exclusiveMinimum"):
        if k in schema:
            yield from (schema[k] - 1, schema[k], schema[k] + 1)
    props = schema.get("properties") or {}
    for name, sub in itertools.islice(props.items(), 12):
        for v in itertools.islice(_instances(sub, depth + 1), 25):
            yield {name: v}
            yield {name: v, "unknown_key": 1}
    if "items" in schema:
        for v in itertools.islice(_instances(schema["items"], depth + 1), 25):
            yield [v]
    for sub in schema.get("oneOf", []):
        yield from itertools.islice(_instances(sub, depth + 1), 25)


def _schemas():
    specs = all_collectors()
    yield "file", file_schema(specs)
    yield "web", webconfig.SCHEMA
    for s in BASE_SETTINGS:
        if s.schema:
            yield s.flag, dict(s.schema)
    for name, spec in specs.items():
        if spec.config_schema:
            yield name, {"type": "object", **spec.config_schema}


@pytest.mark.parametrize("name,schema", list(_schemas()), ids=lambda x: x if isinstance(x, str) else "")
def test_agrees_with_jsonschema(name, schema):
    validator = jsonschema.Draft202012Validator(schema)
    answered = 0
    for instance in _instances(schema):
        verdict = schemacheck.check_or_none(schema, instance)
        if verdict is not None:
            answered += 1
            assert verdict == validator.is_valid(instance), (name, instance)
    assert answered  # the exporter's own schemas are within what the checker understands


def test_unknown_keyword_is_not_answered():
    assert schemacheck.check_or_none({"type": "string", "format": "email"}, "x") is None
    assert schemacheck.check_or_none({"$ref": "#/$defs/a"}, 1) is None


def test_json_equality_rules():
    assert schemacheck.is_valid({"enum": [1]}, 1.0)
    assert not schemacheck.is_valid({"enum": [1]}, True)
    assert not schemacheck.is_valid({"type": "integer"}, False)
    assert schemacheck.is_valid({"type": "integer"}, 3.0)
