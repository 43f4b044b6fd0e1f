"""Typed pack parameters and the ONE helper that puts their values into PromQL.

Placeholders in a rule's PromQL are ``$name`` or ``${name}`` (``$$`` is a literal ``$``). Values are
validated against the parameter's type and rendered as PromQL tokens, never pasted raw:

- ``number``   → a float literal (finite numbers only)
- ``duration`` → a Prometheus duration (``90s``, ``1h30m``); anything else is rejected
- ``string``   → a double-quoted PromQL string literal with ``\\``, ``"`` and control characters escaped
- ``regex``    → like string, after checking the pattern compiles
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..durations import format_duration, parse_duration
from ..errors import ParamError

TYPES = ("number", "duration", "string", "regex")
PLACEHOLDER = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


@dataclass(frozen=True)
class Parameter:
    """A pack parameter: name, type, default and what it means."""

    name: str
    type: str
    default: Any
    description: str = ""


def coerce(param: Parameter, value: Any) -> Any:
    """The validated, canonical value of `value` for `param` (float, duration string or str)."""
    kind = param.type
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParamError(f"parameter {param.name}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ParamError(f"parameter {param.name}: expected a finite number, got {value!r}")
        return number
    if kind == "duration":
        try:
            return format_duration(parse_duration(str(value)))
        except ValueError as e:
            raise ParamError(f"parameter {param.name}: {e}") from None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ParamError(f"parameter {param.name}: expected a string, got {value!r}")
    value = str(value)
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as e:
            raise ParamError(f"parameter {param.name}: invalid regex {value!r}: {e}") from None
    return value


def promql_string(value: str) -> str:
    """A double-quoted PromQL string literal holding exactly `value`."""
    out = []
    for ch in value:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def promql_token(param: Parameter, value: Any) -> str:
    """The PromQL token for a validated parameter value."""
    value = coerce(param, value)
    if param.type == "number":
        return repr(value) if not float(value).is_integer() or abs(value) >= 1e15 else str(int(value))
    if param.type == "duration":
        return value
    return promql_string(value)


def placeholders(text: str) -> list[str]:
    """Names referenced by ``$name``/``${name}`` placeholders in text."""
    return [m.group(1) or m.group(2) for m in PLACEHOLDER.finditer(text) if not m.group(3)]


def substitute(text: str, params: dict[str, Parameter], values: dict[str, Any]) -> str:
    """Replace placeholders in PromQL text with safely rendered parameter values."""
    def repl(m: re.Match) -> str:
        if m.group(3):
            return "$"
        name = m.group(1) or m.group(2)
        if name not in params:
            raise ParamError(f"unknown parameter ${name}")
        return promql_token(params[name], values.get(name, params[name].default))
    return PLACEHOLDER.sub(repl, text)


def resolve_scalar(raw: Any, params: dict[str, Parameter], values: dict[str, Any]) -> Any:
    """A rule field that is either a literal or exactly one ``$param`` reference, resolved to its value."""
    if isinstance(raw, str):
        m = PLACEHOLDER.fullmatch(raw.strip())
        if m and not m.group(3):
            name = m.group(1) or m.group(2)
            if name not in params:
                raise ParamError(f"unknown parameter ${name}")
            return coerce(params[name], values.get(name, params[name].default))
    return raw
