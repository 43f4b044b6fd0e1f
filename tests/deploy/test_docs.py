"""docs/deploy.md names every file under deploy/, so none is shipped without being explained."""
from __future__ import annotations

from .conftest import DEPLOY, REPO


def test_every_deploy_file_is_named_in_docs_deploy_md():
    text = (REPO / "docs" / "deploy.md").read_text()
    files = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    missing = [str(p.relative_to(REPO)) for p in files if p.name not in text]
    assert files and missing == []
