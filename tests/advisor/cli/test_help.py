"""Every command: listed, with help and an example."""
import click
import pytest

from perfadvisor.advisor.cli import cli
from tests.advisor.conftest import advisor


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


COMMANDS = list(_commands(cli))


def test_expected_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"run", "packs", "packs list", "packs show", "packs validate", "explain"} <= names


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, cmd):
    r = advisor(*path, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.stdout and (cmd.help or "").strip()
    assert f"advisor {path[0]}" in r.stdout or path[0] == "packs"
