"""Sources of the generated references in docs/: one module per page, each with a ``render() -> str``.

This folder is not installed with the package; ``scripts/generate`` writes docs/<name>.md from it and
``scripts/generate --check`` fails when a committed page differs from what these modules produce.
"""
from __future__ import annotations

from typing import Callable

from . import cli, collectors, configuration, rules

# docs/<file> -> renderer; one line per generated page.
PAGES: dict[str, Callable[[], str]] = {
    "collectors.md": collectors.render,
    "rules.md": rules.render,
    "cli.md": cli.render,
    "configuration.md": configuration.render,
}
