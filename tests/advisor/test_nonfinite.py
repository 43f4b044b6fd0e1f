"""Non-finite and huge values are data: ±Inf transitions, NaN, ±1e308 are reduced without crashing, in every
mode and report format, and a finding says what was left out; the JSON report stays valid JSON."""
import json

import pytest

from perfadvisor.advisor import stats

from .conftest import advisor

DATA = """load 1m
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"} 0+0x60
  node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"} 0+60x60
  node_memory_MemTotal_bytes{job="node",instance="a"} 1e308x30 Inf Inf -Inf -Inf NaN 1e308x25
  node_memory_MemAvailable_bytes{job="node",instance="a"} -1e308x30 -Inf Inf NaN -1e308x27
  node_filesystem_avail_bytes{job="node",instance="a",mountpoint="/",device="sda",fstype="ext4"} 1e308-1e306x60
  node_filesystem_size_bytes{job="node",instance="a",mountpoint="/",device="sda",fstype="ext4"} Inf -Inf Inf+0x58
  namedprocess_namegroup_memory_bytes{job="node",instance="a",groupname="g",memtype="resident"} Inf -Inf 1e308 -1e308 NaN 0+1e306x55
"""


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "html", "prometheus"])
def test_every_format_reports_non_finite_and_huge_values(tmp_path, fmt):
    f = tmp_path / "data.txt"
    f.write_text(DATA)
    r = advisor("run", "--load", str(f), "--time", "3600", "--format", fmt)
    assert r.exit_code == 0, r.output
    if fmt == "json":
        assert "Infinity" not in r.stdout
        rep = json.loads(r.stdout)
        noted = [x for x in rep["findings"] + rep["pending"] if x["notes"]]
        assert noted and all("non-finite sample" in n for x in noted for n in x["notes"])


@pytest.mark.parametrize("mode", ["instant", "range", "trend"])
def test_each_mode_leaves_non_finite_samples_out_and_says_so(tmp_path, mode):
    pack = tmp_path / "p.yaml"
    pack.write_text(f"""apiVersion: perfadvisor.dev/v1
kind: RulePack
metadata:
  name: nf
  description: non-finite data
rules:
  - id: nf-{mode}
    title: Non-finite
    category: alert
    severity: warning
    dimension: reliability
    target: [instance]
    query: x
    evaluate: {{mode: {mode}, lookback: 1h, step: 1m{', reduce: p95' if mode == 'range' else ''}{', horizon: 1h' if mode == 'trend' else ''}}}
    condition: {{op: ">", threshold: -1.7e+308}}
    history: {{min: 1m}}
    summary: "{{{{ value }}}}"
    description: "{{{{ value }}}}"
    recommendation: r
""")
    data = tmp_path / "d.txt"
    data.write_text('load 1m\n  x{instance="a"} Inf -Inf NaN 1e308 -1e308 1e308x55\n  x{instance="b"} Inf -Inf NaNx58\n')
    r = advisor("run", "--no-builtin", "--pack", str(pack), "--load", str(data), "--time", "3600", "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    (rule,) = rep["rules"]
    assert rule["evaluated"], rule
    found = rep["findings"] + rep["pending"]
    assert len(found) == (0 if mode == "trend" else 1)   # ±1e308 swings are no steady growth
    assert all(f["target"] == {"instance": "a"} and f["value"] is not None for f in found)
    if mode != "instant":   # b has no finite sample in the window; a's last sample is finite
        assert rule["notes"] == ["1 series without a finite sample (all NaN or ±Inf) left out"]


def test_reductions_never_raise_on_infinities_and_the_float_limit():
    inf = float("inf")
    assert stats.summary([inf, -inf])["max"] == inf
    assert stats.summary([1e308, 1e308, 1e308])["mean"] == 1e308
    assert stats.r_squared([(0, 1e308), (1, -1e308), (2, 1e308)], 1.0, 0.0) == 0.0
    stats.linear_fit([(0, 1e308), (1, -1e308), (2, 1e308)])
