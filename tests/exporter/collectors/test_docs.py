"""The collector reference in README.md is generated from the registry and must not drift."""
from __future__ import annotations

import subprocess
import sys


def test_readme_collector_reference_is_current(repo_root):
    r = subprocess.run([sys.executable, str(repo_root / "scripts" / "gen-docs"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + "\n(run scripts/gen-docs and commit README.md)"


def test_every_host_collector_documents_its_families():
    from perfadvisor.exporter.registry import all_collectors

    host = ("cpu", "diskstats", "filefd", "filesystem", "loadavg", "meminfo", "netdev", "netstat", "os", "pressure",
            "processes", "sockstat", "stat", "tcpstat", "textfile", "time", "uname", "vmstat")
    specs = all_collectors()
    assert [n for n in host if not getattr(specs[n].factory, "families", ())] == []
