"""Load and validate rule packs: YAML with line numbers, JSON Schema, then semantic checks.

Every error is a ``PackError`` naming ``file:line: field: reason`` (``rules/host.yaml:42: rules[3].condition: …``).
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import PackError, ParamError, TemplateError
from . import model as M
from ..promql.parse import ParseError, check
from . import params as P
from . import yamlsafe
from .yamlsafe import field_name

_SCHEMA = json.loads(resources.files(__package__).joinpath("pack.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def parse_yaml(text: str | bytes, path: str) -> tuple[Any, dict[tuple, int]]:
    """Data plus {path tuple: line}, read under the limits of ``yamlsafe``; every refusal is a PackError."""
    data, lines = yamlsafe.load(text, path)
    if data is None:
        raise PackError(path, 1, "", "empty file")
    return data, lines


def load_text(text: str | bytes, path: str) -> M.Pack:
    """Parse, validate and build one pack from YAML text (or bytes); `path` is used in messages."""
    data, lines = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise PackError(path, 1, "", "a pack is a mapping with apiVersion, metadata, parameters and rules")
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        e = min(errors, key=lambda e: -len(e.absolute_path))  # the most specific error
        if e.validator == "oneOf" and e.context:
            e = e.context[0]
        where = tuple(e.absolute_path)
        raise PackError(path, _line(lines, where), field_name(where) or "(top)", _message(e))
    return _build(data, lines, path)


def _message(e: jsonschema.ValidationError) -> str:
    if e.validator == "additionalProperties":
        return e.message.replace("Additional properties are not allowed", "unknown field(s)")
    if e.validator == "enum":
        return f"{e.instance!r} is not one of {', '.join(map(str, e.validator_value))}"
    if e.validator == "pattern" and isinstance(e.instance, str):
        return f"{e.instance!r} has the wrong format"
    return e.message


def _build(data: dict, lines: dict[tuple, int], path: str) -> M.Pack:
    name = data["metadata"]["name"]
    parameters = []
    for pname, spec in (data.get("parameters") or {}).items():
        p = P.Parameter(pname, spec["type"], spec["default"], spec.get("description", ""))
        try:
            parameters.append(P.Parameter(pname, p.type, P.coerce(p, p.default), p.description))
        except ParamError as e:
            raise PackError(path, _line(lines, ("parameters", pname, "default")),
                            f"parameters.{pname}.default", str(e)) from None
    params = {p.name: p for p in parameters}
    rules, seen = [], {}
    for i, r in enumerate(data.get("rules") or []):
        base = ("rules", i)
        if r["id"] in seen:
            raise PackError(path, _line(lines, base + ("id",)), f"rules[{i}].id",
                            f"duplicate rule id {r['id']!r} (first at line {seen[r['id']]})")
        seen[r["id"]] = _line(lines, base)
        rule = _rule(r, name, f"{path}:{_line(lines, base)}")
        _check_rule(rule, r, params, base, lines, path)
        rules.append(rule)
    return M.Pack(name, data["metadata"].get("description", ""), data["apiVersion"], str(path),
                  tuple(parameters), tuple(rules))


def _rule(r: dict, pack: str, source: str) -> M.Rule:
    ev = r.get("evaluate") or {}
    c = r.get("condition")
    hist = r.get("history") or {}
    sz, rp = r.get("sizing"), r.get("replicas")
    return M.Rule(
        id=r["id"], title=r["title"], category=r["category"], dimension=r["dimension"], severity=r["severity"],
        query=r["query"], pack=pack, source=source, enabled=r.get("enabled", True),
        condition=M.Condition(c["op"], c["threshold"], c.get("for"), c.get("of", "value")) if c else None,
        evaluate=M.Evaluation(ev.get("mode", "instant"), ev.get("lookback"), ev.get("step"),
                              ev.get("reduce", "last"), ev.get("horizon"), ev.get("limit_query"),
                              ev.get("min_fit", 0.0), tuple(ev.get("windows") or ())),
        target=tuple(r.get("target") or ()), metrics=tuple(r.get("metrics") or ()), unit=r.get("unit", ""),
        summary=r.get("summary", ""), description=r.get("description", ""), recommendation=r["recommendation"],
        evidence=tuple(M.Evidence(e["title"], e["query"]) for e in r.get("evidence") or ()),
        references=tuple(r.get("references") or ()), runbook=r.get("runbook", ""),
        min_history=hist.get("min"), preferred_history=hist.get("preferred"),
        score=M.ScoreCurve(float(r["score"]["good"]), float(r["score"]["median"])) if r.get("score") else None,
        weight=r.get("weight"),
        sizing=M.Sizing(**{k: v for k, v in sz.items()}) if sz else None,
        replicas=M.Replicas(**rp) if rp else None,
        explained_by=tuple((e, "") if isinstance(e, str) else (e["rule"], e.get("cause", ""))
                           for e in r.get("explained_by") or ()),
    )


def _check_rule(rule: M.Rule, raw: dict, params: dict, base: tuple, lines: dict, path: str) -> None:
    """Semantic checks the schema cannot express: placeholders known, PromQL parses, mode fields present."""
    def fail(sub: tuple, reason: str) -> None:
        raise PackError(path, _line(lines, base + sub), field_name(base + sub), reason)

    ev = raw.get("evaluate") or {}
    if rule.evaluate.mode in ("range", "trend") and not ev.get("lookback"):
        fail(("evaluate",), f"mode {rule.evaluate.mode} needs a lookback")
    if rule.evaluate.mode == "trend" and not ev.get("horizon") and rule.condition and rule.condition.of == "value":
        fail(("evaluate",), "mode trend with a condition on the projected value needs a horizon")
    if rule.sizing and rule.sizing.usage == "ratio" and not rule.sizing.capacity_query:
        fail(("sizing",), "usage: ratio needs a capacity_query")
    if rule.score and rule.score.good == rule.score.median:
        fail(("score",), "good and median must differ")
    if rule.score and (rule.score.good <= 0 or rule.score.median <= 0):
        fail(("score",), "good and median must be greater than zero")
    promql_fields = [(("query",), rule.query), (("evaluate", "limit_query"), rule.evaluate.limit_query)]
    promql_fields += [(("evidence", j, "query"), e.query) for j, e in enumerate(rule.evidence)]
    if rule.sizing:
        promql_fields += [(("sizing", "capacity_query"), rule.sizing.capacity_query),
                          (("sizing", "extra_cost_query"), rule.sizing.extra_cost_query)]
    if rule.replicas:
        promql_fields.append((("replicas", "current_query"), rule.replicas.current_query))
    for sub, text in promql_fields:
        if not text:
            continue
        try:
            q = P.substitute(text, params, {})
        except ParamError as e:
            fail(sub, str(e))
        try:
            check(q)
        except ParseError as e:
            msg = str(e)
            # Function sets differ between server versions (holt_winters, double_exponential_smoothing, …):
            # the server is the judge of those; syntax errors are caught here.
            if not msg.startswith("unknown function"):
                fail(sub, f"invalid PromQL: {msg}")
    try:
        resolved = rule.resolve(params, {})
    except (ParamError, ValueError) as e:
        fail((), str(e))
    if rule.evaluate.mode != "instant" and rule.evaluate.step is None:
        pass  # the evaluator derives a step from the lookback
    from ..render import check_templates  # local import: render pulls in jinja2
    try:
        check_templates(rule, resolved)
    except TemplateError as e:
        fail((e.field,), f"rule {rule.id}: {e.reason}")


def load_pack(path: str | Path) -> M.Pack:
    """Load one pack file."""
    return load_text(yamlsafe.read(path), str(path))


def load_path(path: str | Path) -> list[M.Pack]:
    """A pack file, or every ``*.yaml``/``*.yml`` in a directory (sorted)."""
    p = Path(path)
    if p.is_dir():
        return [load_pack(f) for f in sorted([*p.glob("*.yaml"), *p.glob("*.yml")])]
    return [load_pack(p)]


BUILTIN = ("host", "process", "scaling", "cache", "database", "network", "loadbalancer", "runtime")


def load_builtin() -> list[M.Pack]:
    """The packs shipped in perfadvisor.rules, in a fixed order."""
    root = resources.files("perfadvisor.rules")
    return [load_text(root.joinpath(f"{name}.yaml").read_bytes(), f"rules/{name}.yaml") for name in BUILTIN]
