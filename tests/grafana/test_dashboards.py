"""The dashboards as a Grafana user gets them: valid JSON, wired to the datasource picker, no drift from sources."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .dashboards import DASHBOARD_DIR, VAR_RE, all_panels, load_all, substitute, variables

REPO = Path(__file__).resolve().parents[2]
GEN = REPO / "scripts" / "generate"
DS = {"type": "prometheus", "uid": "${datasource}"}
DASHBOARDS = load_all()
EXPECTED = {"host", "processes", "services", "exporter", "advisor", "runtime"}


def test_every_dashboard_is_there():
    assert set(DASHBOARDS) == EXPECTED


def test_uids_and_titles_are_unique_and_valid():
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert all(len(u) <= 40 and u.replace("-", "").isalnum() for u in uids), uids
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_structure(name):
    d = DASHBOARDS[name]
    assert d["schemaVersion"] >= 36
    panels = list(all_panels(d))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    assert panels[0]["type"] == "row", "dashboards open with a row"
    assert sum(p["type"] == "row" for p in panels) >= 2
    for p in panels:
        pos = p["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["w"] > 0 and pos["h"] > 0, p["title"]
        if p["type"] == "row":
            continue
        assert p["title"] and p["targets"], f"{name}: panel {p['id']} has no title or query"
        assert p["fieldConfig"]["defaults"]["unit"], p["title"]
        if p["type"] == "timeseries":
            assert p["options"]["legend"]["showLegend"], p["title"]
        for t in p["targets"]:
            assert t["legendFormat"], f"{name}: {p['title']!r} has a query without legend"


def _overlaps(a, b) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_panels_do_not_overlap(name):
    pos = [(p["title"], p["gridPos"]) for p in all_panels(DASHBOARDS[name])]
    clashes = [(a, b) for i, (a, pa) in enumerate(pos) for b, pb in pos[i + 1:] if _overlaps(pa, pb)]
    assert not clashes


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_panel_and_query_uses_the_datasource_variable(name):
    d = DASHBOARDS[name]
    wrong = []
    for p in all_panels(d):
        if p["type"] == "row":
            assert "targets" not in p
            continue
        if p.get("datasource") != DS:
            wrong.append(f"panel {p['title']!r}: {p.get('datasource')}")
        wrong += [f"panel {p['title']!r} query {t['refId']}: {t.get('datasource')}" for t in p["targets"]
                  if t.get("datasource") != DS]
    wrong += [f"variable {v['name']}: {v['datasource']}" for v in variables(d).values()
              if v["type"] == "query" and v["datasource"] != DS]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_variables(name):
    vs = variables(DASHBOARDS[name])
    assert vs["datasource"]["type"] == "datasource" and vs["datasource"]["query"] == "prometheus"
    for v in ("job", "instance"):
        assert vs[v]["type"] == "query" and vs[v]["definition"].startswith("label_values("), v
        assert vs[v]["includeAll"] and vs[v]["allValue"] == ".*"
    assert '$job' in vs["instance"]["definition"], "the instance picker follows the job picker"
    used = {m[0] or m[1] for p in all_panels(DASHBOARDS[name]) for t in p.get("targets", [])
            for m in VAR_RE.findall(t["expr"])}
    assert {"job", "instance"} <= used
    assert not {u for u in used if not u.startswith("__")} - set(vs), "a query uses an undefined variable"


def test_substitution_leaves_no_variable():
    for d in DASHBOARDS.values():
        for p in all_panels(d):
            for t in p.get("targets", []):
                assert "$" not in substitute(t["expr"], d)


def generate(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GEN), "--only", "dashboards", *args], capture_output=True, text=True,
                          **kw)


def test_generator_check_passes_on_committed_dashboards():
    r = generate("--check")
    assert r.returncode == 0, r.stderr


def test_generator_check_names_a_drifted_dashboard(tmp_path):
    generate("--root", str(tmp_path), check=True)
    out = tmp_path / "grafana" / "dashboards"
    host = out / "host.json"
    d = json.loads(host.read_text())
    d["panels"][1]["title"] = "edited by hand"
    host.write_text(json.dumps(d))
    (out / "old.json").write_text("{}")
    r = generate("--check", "--root", str(tmp_path))
    assert r.returncode == 1
    assert "host.json: differs" in r.stderr and "old.json: no source" in r.stderr
    assert "processes.json" not in r.stderr
    # Without --check it repairs the drift.
    generate("--root", str(tmp_path), check=True)
    assert generate("--check", "--root", str(tmp_path)).returncode == 0


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards():
    prov = REPO / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] and source["url"].startswith("http")
    providers = yaml.safe_load((prov / "dashboards" / "perfadvisor.yaml").read_text())["providers"]
    (provider,) = providers
    assert provider["type"] == "file"
    # Grafana expands $VARS in provisioning files; started with GF_PATHS_PROVISIONING=grafana/provisioning:
    path = Path(os.path.expandvars(provider["options"]["path"].replace("${GF_PATHS_PROVISIONING}", str(prov))))
    assert path.resolve() == DASHBOARD_DIR
    assert {p.stem for p in path.glob("*.json")} == EXPECTED
