"""The exporter keeps heavy libraries out of its process until a feature needs them (its resident memory)."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from perfadvisor.exporter.config import build_config
from perfadvisor.exporter.registry import all_collectors
from perfadvisor.exporter.scrape import build_collectors
from perfadvisor.exporter.server import ExporterServer
specs = all_collectors()
config = build_config(specs, {"web_listen_address": ("127.0.0.1:0",)}, None)
with ExporterServer(config, build_collectors(specs, config)) as server:
    server.app.scraper.collect(None)
print(" ".join(sorted(sys.modules)))
"""
HEAVY = {"redis", "psycopg", "requests", "urllib3", "jsonschema", "referencing", "numpy", "jinja2"}


def test_default_exporter_imports_no_client_library_or_validator():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(out.stdout.split())
    assert "perfadvisor.exporter.collectors.processes" in loaded  # the script did run the exporter
    assert {m.split(".")[0] for m in loaded} & HEAVY == set()
    assert not [m for m in loaded if m.startswith("perfadvisor.advisor")]
