"""The generated references in docs/ are current (scripts/generate --check), and the check names what drifted."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from perfadvisor.advisor.packs import load_builtin

REPO = Path(__file__).resolve().parents[2]
GENERATE = REPO / "scripts" / "generate"
DOCS = REPO / "docs"


def generate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATE), *args], capture_output=True, text=True)


def test_committed_artifacts_match_their_sources():
    r = generate("--check")
    assert r.returncode == 0, r.stderr + "\n(run scripts/generate and commit the result)"


def test_check_names_an_edited_doc_and_generate_repairs_it(tmp_path):
    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("gen"))
    rules = tmp_path / "docs" / "rules.md"
    rules.write_text(rules.read_text().replace("### host-memory-pressure", "### host-memory-pressure (edited)"))
    r = generate("--check", "--only", "docs", "--root", str(tmp_path))
    assert r.returncode == 1
    assert "docs/rules.md: differs from its source" in r.stderr
    assert "docs/cli.md" not in r.stderr and "docs/collectors.md" not in r.stderr
    assert rules.read_text() != (DOCS / "rules.md").read_text(), "--check must not write"
    assert generate("--only", "docs", "--root", str(tmp_path)).returncode == 0
    assert rules.read_text() == (DOCS / "rules.md").read_text()


def test_unknown_part_is_a_usage_error():
    r = generate("--check", "--only", "docs,manpages")
    assert r.returncode == 2 and "unknown part(s) manpages" in r.stderr


def test_every_builtin_rule_has_a_section_named_by_its_id():
    headings = set(re.findall(r"^### (\S+)$", (DOCS / "rules.md").read_text(), flags=re.M))
    missing = [r.id for p in load_builtin() for r in p.rules if r.id not in headings]
    assert not missing


def test_every_host_collector_documents_its_metric_families():
    text = (DOCS / "collectors.md").read_text()
    sections = dict(re.findall(r"^## `(\w+)`\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    host = ("cpu", "diskstats", "filefd", "filesystem", "loadavg", "meminfo", "netdev", "netstat", "os", "pressure",
            "processes", "sockstat", "stat", "tcpstat", "textfile", "time", "uname", "vmstat")
    assert [n for n in host if "Metric families:" not in sections.get(n, "")] == []
    assert "`node_load1` gauge" in sections["loadavg"]
    assert "`namedprocess_namegroup_cpu_seconds_total` counter `{groupname,mode}`" in sections["processes"]


def test_cli_reference_covers_every_advisor_command():
    import click

    from perfadvisor.advisor.cli import cli

    def names(cmd: click.Command, path: tuple[str, ...]) -> list[str]:
        out = [" ".join(("advisor", *path))]
        if isinstance(cmd, click.Group):
            for n, sub in cmd.commands.items():
                out += names(sub, (*path, n))
        return out

    headings = set(re.findall(r"^## `(.+)`$", (DOCS / "cli.md").read_text(), flags=re.M))
    assert set(names(cli, ())) | {"perfadvisor-exporter"} == headings


def test_collector_reference_renders_family_objects():
    """Collectors declare their families as Family objects; the reference shows name, type, labels and note."""
    from docs.gen import collectors
    from perfadvisor.exporter.registry import CollectorSpec, Family

    class Demo:
        families = (Family("demo_requests_total", "counter", ("code", "method"), "per request"),
                    Family("demo_up", "gauge"))

    text = collectors.render({"demo": CollectorSpec("demo", Demo, False, "A demo collector.")})
    assert "| [`demo`](#demo) | off | A demo collector. |" in text
    assert "- `demo_requests_total` counter `{code,method}` — per request" in text
    assert "- `demo_up` gauge\n" in text
