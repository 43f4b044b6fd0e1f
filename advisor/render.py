"""Rendering rule texts (summary, description, recommendation) with jinja2 in a sandbox.

Templates see: ``labels``, ``value``, ``threshold``, ``params``, ``target``, ``stats``, ``unit``,
``projection``, ``sizing``, ``replicas``, ``rule``; filters ``bytes``, ``pct``, ``duration``, ``num``, ``unit``.
The environment is ``sandbox.BoundedSandbox`` (jinja2's immutable sandbox under ``sandbox.LIMITS``): reaching
for Python internals (``__class__``, mutating lists, …) or past a limit is a ``TemplateError`` naming the rule
and field; ``render_text`` turns that into the finding's text, so one odd series never ends a run.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import jinja2
from jinja2.sandbox import SecurityError

from .errors import TemplateError
from .sandbox import BoundedSandbox, LimitError, check_constants


def fmt_bytes(v: Any) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    sign, v = ("-" if v < 0 else ""), abs(v)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if v < 1024 or unit == "PiB":
            return f"{sign}{v:.0f} {unit}" if unit == "B" else f"{sign}{v:.1f} {unit}"
        v /= 1024
    return str(v)


def fmt_duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if not math.isfinite(s):
        return "never"
    s = abs(s)
    for size, name in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            whole, rest = divmod(s, size)
            return f"{int(whole)}{name}" + (f" {int(rest // (size / (24 if name == 'd' else 60)))}"
                                             f"{ {'y': 'd', 'd': 'h', 'h': 'm', 'm': 's'}[name]}"
                                             if rest >= size / 60 and name != "y" else "")
    if 0 < s < 1:  # sub-second thresholds and latencies read in milliseconds, never "0s"
        return f"{s * 1000:.3g}ms"
    return f"{s:.0f}s"


def fmt_pct(v: Any, digits: int = 0) -> str:
    try:
        return f"{float(v) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return str(v)


def fmt_num(v: Any, digits: int = 2) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 10 ** -digits):
        return f"{v:.{digits}g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:,.0f}"


def fmt_unit(v: Any, unit: str) -> str:
    """A value in a rule's unit, for people."""
    if unit == "ratio":
        return fmt_pct(v, 1)
    if unit == "percent":
        return f"{fmt_num(v, 1)}%"
    if unit == "bytes":
        return fmt_bytes(v)
    if unit == "bytes_per_second":
        return f"{fmt_bytes(v)}/s"
    if unit == "seconds":
        return fmt_duration(v)
    if unit == "cores":
        return f"{fmt_num(v, 2)} cores"
    if unit == "per_second":
        return f"{fmt_num(v, 2)}/s"
    return fmt_num(v, 2)


class _Missing(jinja2.ChainableUndefined):
    """A label (or other field) a series lacks: renders empty, is false, iterates as empty, and calling a
    method on it (``labels.state.startswith(…)``) gives another missing value instead of failing the text."""

    def __str__(self) -> str:
        return ""

    def __call__(self, *args: Any, **kwargs: Any) -> "_Missing":
        return self


def _env() -> BoundedSandbox:
    env = BoundedSandbox(autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=_Missing)
    env.add_filters(bytes=fmt_bytes, pct=fmt_pct, duration=fmt_duration, num=fmt_num, unit=fmt_unit)
    return env


ENV = _env()


def reflow(text: str) -> str:
    """Join the lines of each paragraph (YAML block scalars keep the pack's line breaks); keep blank lines."""
    paragraphs = [" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


@functools.lru_cache(maxsize=512)
def _compiled(template: str) -> jinja2.Template:
    return ENV.from_string(template)


def render(rule_id: str, template: str, context: dict[str, Any], field: str = "recommendation") -> str:
    """Render one rule text; any template failure is a TemplateError naming the rule and field."""
    if not template:
        return ""
    try:
        return reflow(_compiled(template).render(**context))
    except SecurityError as e:
        raise TemplateError(rule_id, f"not allowed in the sandbox: {e}", field) from None
    except LimitError as e:
        raise TemplateError(rule_id, f"over a template limit: {e}", field) from None
    except Exception as e:  # noqa: BLE001 - jinja errors, or a filter fed odd data; keep it one line
        raise TemplateError(rule_id, f"{type(e).__name__}: {e}", field) from None


def render_text(rule_id: str, template: str, context: dict[str, Any], field: str = "recommendation") -> str:
    """Render one rule text for a finding; a failure becomes the text itself, so one odd series never ends
    the run: it names the rule, the field and the reason, then shows the raw values the text would have used."""
    try:
        return render(rule_id, template, context, field)
    except TemplateError as e:
        labels = context.get("labels") or {}
        raw = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return (f"(template failed: rule {rule_id}, {field}: {e.reason}) value {context.get('value')}, "
                f"threshold {context.get('threshold')}, labels {{{raw}}}")


def check_templates(rule, resolved) -> None:
    """Compile a rule's templates and trial-render them with placeholder data, so packs fail at load time:
    syntax errors, sandbox refusals and limits (also bombs written with constants on branches not taken)."""
    context = sample_context(resolved)
    for name in ("summary", "description", "recommendation"):
        text = getattr(rule, name)
        if not text:
            continue
        try:
            check_constants(ENV, text)
            ENV.from_string(text).render(**context)
        except SecurityError as e:
            raise TemplateError(rule.id, f"not allowed in the sandbox: {e}", name) from None
        except LimitError as e:
            raise TemplateError(rule.id, f"over a template limit: {e}", name) from None
        except jinja2.TemplateSyntaxError as e:
            raise TemplateError(rule.id, f"line {e.lineno} of the template: {e.message}", name) from None
        except jinja2.UndefinedError:
            pass  # data-dependent: placeholder data lacks what real series have
        except jinja2.TemplateError as e:   # e.g. a filter that does not exist, on a branch
            raise TemplateError(rule.id, f"{type(e).__name__}: {e}", name) from None
        except Exception:  # noqa: BLE001 - data-dependent failures only show with real data
            pass


def sample_context(resolved) -> dict[str, Any]:
    return {"labels": {}, "value": 1.0, "threshold": resolved.threshold, "params": dict(resolved.params),
            "target": "target", "stats": {}, "unit": resolved.rule.unit, "projection": None, "sizing": None,
            "replicas": None, "rule": {"id": resolved.rule.id, "title": resolved.rule.title}}
