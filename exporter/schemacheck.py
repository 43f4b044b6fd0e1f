"""A yes/no JSON Schema check for the keywords the exporter's config schemas use, without importing jsonschema.

jsonschema (with referencing, rpds and the bundled metaschemas) adds ~5 MB to the exporter's resident memory
for its whole life, although a valid config needs none of it. ``is_valid`` answers exactly for the subset of
draft 2020-12 below; a schema using any other keyword raises ``Unsupported``. Callers use jsonschema only
when the answer is not a plain yes: to word the error, or for a schema this module does not understand.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

_ANNOTATIONS = frozenset({"default", "description", "title", "examples", "$comment", "deprecated"})
_NUMERIC = (int, float)


class Unsupported(Exception):
    """The schema uses a keyword this checker does not implement."""


def is_valid(schema: Mapping[str, Any] | bool, instance: Any) -> bool:
    """True if instance is valid against schema (draft 2020-12 semantics, as jsonschema decides)."""
    if schema is True:
        return True
    if schema is False:
        return False
    for key, value in schema.items():
        check = _CHECKS.get(key)
        if check is None:
            if key in _ANNOTATIONS:
                continue
            raise Unsupported(key)
        if not check(value, instance, schema):
            return False
    return True


def check_or_none(schema: Mapping[str, Any] | bool, instance: Any) -> bool | None:
    """is_valid, or None when the schema is beyond this checker."""
    try:
        return is_valid(schema, instance)
    except (Unsupported, re.error):
        return None


def _is_number(x: Any) -> bool:
    return isinstance(x, _NUMERIC) and not isinstance(x, bool)


def _is_type(x: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())
    if name == "number":
        return _is_number(x)
    if name == "string":
        return isinstance(x, str)
    if name == "boolean":
        return isinstance(x, bool)
    if name == "object":
        return isinstance(x, dict)
    if name == "array":
        return isinstance(x, list)
    if name == "null":
        return x is None
    raise Unsupported(f"type {name}")


def _equal(a: Any, b: Any) -> bool:
    # JSON Schema equality: true is not 1, false is not 0 (Python's == says they are)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _type(v: Any, x: Any, s: Mapping) -> bool:
    return any(_is_type(x, t) for t in ([v] if isinstance(v, str) else v))


def _properties(v: Mapping[str, Any], x: Any, s: Mapping) -> bool:
    return not isinstance(x, dict) or all(is_valid(sub, x[k]) for k, sub in v.items() if k in x)


def _additional(v: Any, x: Any, s: Mapping) -> bool:
    if not isinstance(x, dict):
        return True
    if "patternProperties" in s:
        raise Unsupported("patternProperties")
    known = s.get("properties") or {}
    return all(is_valid(v, x[k]) for k in x if k not in known)


def _items(v: Any, x: Any, s: Mapping) -> bool:
    if "prefixItems" in s or isinstance(v, list):
        raise Unsupported("prefixItems")
    return not isinstance(x, list) or all(is_valid(v, item) for item in x)


_CHECKS = {
    "type": _type,
    "enum": lambda v, x, s: any(_equal(x, e) for e in v),
    "const": lambda v, x, s: _equal(x, v),
    "minimum": lambda v, x, s: not _is_number(x) or x >= v,
    "maximum": lambda v, x, s: not _is_number(x) or x <= v,
    "exclusiveMinimum": lambda v, x, s: not _is_number(x) or x > v,
    "exclusiveMaximum": lambda v, x, s: not _is_number(x) or x < v,
    "minLength": lambda v, x, s: not isinstance(x, str) or len(x) >= v,
    "maxLength": lambda v, x, s: not isinstance(x, str) or len(x) <= v,
    "pattern": lambda v, x, s: not isinstance(x, str) or re.search(v, x) is not None,
    "minItems": lambda v, x, s: not isinstance(x, list) or len(x) >= v,
    "maxItems": lambda v, x, s: not isinstance(x, list) or len(x) <= v,
    "items": _items,
    "required": lambda v, x, s: not isinstance(x, dict) or all(k in x for k in v),
    "properties": _properties,
    "additionalProperties": _additional,
    "oneOf": lambda v, x, s: sum(1 for sub in v if is_valid(sub, x)) == 1,
    "anyOf": lambda v, x, s: any(is_valid(sub, x) for sub in v),
    "allOf": lambda v, x, s: all(is_valid(sub, x) for sub in v),
}
