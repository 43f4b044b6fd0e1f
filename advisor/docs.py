"""Reference docs generated from the code, so they cannot drift: the CLI's --help and the built-in rules.

``scripts/gen-docs`` rewrites the marked blocks in README.md (``<!-- BEGIN name -->…<!-- END name -->``);
``scripts/gen-docs --check`` fails when a block is out of date (CI and tests run it).
"""
from __future__ import annotations

import re
from typing import Callable

import click
from click.testing import CliRunner

from .packs import Pack, load_builtin
from .packs.params import format_duration
from .render import fmt_unit


# The commands documented in this block; other commands document themselves in their own README blocks.
CLI_COMMANDS = ("run", "packs", "explain")


def cli_reference() -> str:
    from .cli import cli
    out = []
    runner = CliRunner()

    def walk(cmd: click.Command, path: list[str]) -> None:
        res = runner.invoke(cli, [*path, "--help"], terminal_width=110)
        out.append(f"#### `advisor {' '.join(path)}`".rstrip() + "\n\n```text\n" + res.output.rstrip() + "\n```\n")
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])
    for name in CLI_COMMANDS:
        walk(cli.commands[name], [name])
    return "\n".join(out)


def _cond(pack: Pack, rule) -> str:
    rr = rule.resolve(pack.params, {})
    if not rule.condition:
        return "replicas differ" if rule.replicas else ""
    mode = rule.evaluate.mode
    what = ("now" if mode == "instant" else
            f"{rule.evaluate.reduce} over {format_duration(rr.lookback)}" if mode == "range" else
            "growth/s" if rule.condition.of == "slope" else f"in {format_duration(rr.horizon or 0)}")
    thr = fmt_unit(rr.threshold, rule.unit) if rule.unit else f"{rr.threshold:g}"
    held = f", for {format_duration(rr.for_seconds)}" if rr.for_seconds else ""
    return f"{what} {rule.condition.op} {thr}{held}".replace("|", "\\|")


def rules_reference(packs: list[Pack] | None = None) -> str:
    out = []
    for pack in packs or load_builtin():
        out.append(f"#### Pack `{pack.name}`\n\n{pack.description}\n")
        out.append("| rule | category | severity | dimension | fires when (defaults) | what it is |")
        out.append("|---|---|---|---|---|---|")
        for r in pack.rules:
            out.append(f"| `{r.id}` | {r.category} | {r.severity} | {r.dimension} | {_cond(pack, r)} | {r.title} |")
        out.append("\n<details><summary>Parameters of <code>{}</code></summary>\n".format(pack.name))
        out.append("| parameter | type | default | meaning |")
        out.append("|---|---|---|---|")
        for p in pack.parameters:
            default = p.default
            if p.type == "number":
                default = str(int(p.default)) if float(p.default).is_integer() else repr(float(p.default))
            meaning = p.description.replace("|", "\\|")
            out.append(f"| `{p.name}` | {p.type} | `{default}` | {meaning} |")
        out.append("\n</details>\n")
    return "\n".join(out)


BLOCKS: dict[str, Callable[[], str]] = {"advisor-cli": cli_reference, "rules": rules_reference}


def update(text: str, blocks: dict[str, Callable[[], str]] | None = None) -> str:
    """`text` with every known marked block regenerated (blocks missing from the text are left out)."""
    for name, gen in (blocks or BLOCKS).items():
        pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
        if pattern.search(text):
            body = gen().rstrip() + "\n"
            text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    return text


__all__ = ["cli_reference", "rules_reference", "update", "BLOCKS"]
