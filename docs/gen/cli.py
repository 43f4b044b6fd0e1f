"""docs/cli.md: the --help of every `advisor` command (found by walking the click group) and of the exporter."""
from __future__ import annotations

import os
import subprocess
import sys

import click
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli as advisor_cli

from .markdown import fence, header

SOURCE = "`advisor … --help` (perfadvisor.advisor.cli) and `perfadvisor-exporter --help`"
WIDTH = 110


def commands(group: click.Command = advisor_cli, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command under `group`, depth first, sorted by name; the group itself first."""
    out = [(path, group)]
    if isinstance(group, click.Group):
        for name in sorted(group.commands):
            sub = group.commands[name]
            if not sub.hidden:
                out += commands(sub, (*path, name))
    return out


def advisor_help(path: tuple[str, ...]) -> str:
    res = CliRunner().invoke(advisor_cli, [*path, "--help"], prog_name="advisor", terminal_width=WIDTH)
    if res.exit_code != 0:
        raise RuntimeError(f"advisor {' '.join(path)} --help exited {res.exit_code}: {res.output}")
    return res.output


def exporter_help() -> str:
    """`perfadvisor-exporter --help`, from the program itself (its flags come from the collector registry)."""
    env = {**os.environ, "COLUMNS": "120", "LC_ALL": "C.UTF-8"}
    env = {k: v for k, v in env.items() if not k.startswith("PERFADVISOR_")}  # shown values must be the defaults
    res = subprocess.run([sys.executable, "-m", "perfadvisor.exporter", "--help"], capture_output=True, text=True,
                         env=env, check=True)
    return res.stdout.replace("Usage: python -m perfadvisor.exporter", "Usage: perfadvisor-exporter")


def _title(path: tuple[str, ...]) -> str:
    return " ".join(("advisor", *path))


def render() -> str:
    cmds = commands()
    out = [header(SOURCE), "", "# Command line", "",
           "The `--help` of every command. Both programs take `-h`/`--help` and `--version`. Exit codes, settings "
           "and files: [advisor.md](advisor.md#exit-codes), [exporter.md](exporter.md#exit-codes), "
           "[configuration.md](configuration.md).", "",
           "- [`perfadvisor-exporter`](#perfadvisor-exporter)"]
    out += [f"- [`{_title(p)}`](#{'-'.join(('advisor', *p))})" for p, _ in cmds]
    out += ["", "## `perfadvisor-exporter`", "", fence(exporter_help())]
    for path, _ in cmds:
        out += ["", f"## `{_title(path)}`", "", fence(advisor_help(path))]
    return "\n".join(out) + "\n"
