"""`advisor run --textfile DIR`: the run's results as metrics the exporter's textfile collector publishes."""
from __future__ import annotations

import json

from perfadvisor.exporter.registry import CollectorContext, all_collectors

from .conftest import advisor


def _textfile_samples(directory) -> dict[tuple, float]:
    collector = all_collectors()["textfile"].factory(CollectorContext(settings={"directory": str(directory)}))
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for fam in collector.collect() for s in fam.samples}


def test_textfile_metrics_match_the_report(tmp_path):
    out = tmp_path / "report.json"
    r = advisor("run", "--duration", "3s", "--interval", "1s", "--set", "host.fs_available_low=0.999",
                "--set", "host.for_short=1s", "--textfile", str(tmp_path / "tf"), "-o", str(out))
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    got = _textfile_samples(tmp_path / "tf")
    assert got[("node_textfile_scrape_error", ())] == 0
    assert got[("perfadvisor_advisor_score", (("dimension", "overall"),))] == report["summary"]["score"]
    for dim, s in report["scores"]["dimensions"].items():
        if s["score"] is not None:
            assert got[("perfadvisor_advisor_score", (("dimension", dim),))] == s["score"]
    assert got[("perfadvisor_advisor_rules", (("state", "evaluated"),))] == report["summary"]["rules_evaluated"]
    assert got[("perfadvisor_advisor_rules", (("state", "not_evaluated"),))] == len(report["not_evaluated"])
    # The lowered threshold makes the root filesystem "almost full": its finding is a series of its own.
    full = [k for k in got if k[0] == "perfadvisor_advisor_finding_info" and ("rule", "host-filesystem-almost-full") in k[1]]
    assert full, sorted(got)
    assert dict(full[0][1])["severity"] == "critical" and "mountpoint=/" in dict(full[0][1])["target"]
    n = sum(v for (name, labels), v in got.items() if name == "perfadvisor_advisor_findings")
    assert n == len(report["findings"])


def test_pending_findings_are_counted_apart(tmp_path):
    """On a 3 s run the almost-full filesystem (for 5m) is pending: counted as pending, not as a finding."""
    out = tmp_path / "report.json"
    r = advisor("run", "--duration", "3s", "--interval", "1s", "--set", "host.fs_available_low=0.999",
                "--textfile", str(tmp_path / "tf"), "-o", str(out))
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    got = _textfile_samples(tmp_path / "tf")
    assert any(f["rule_id"] == "host-filesystem-almost-full" for f in report["pending"]), report["pending"]
    pending = sum(v for (name, _), v in got.items() if name == "perfadvisor_advisor_pending_findings")
    assert pending == len(report["pending"]) >= 1
    assert not [k for k in got if k[0] == "perfadvisor_advisor_finding_info"
                and ("rule", "host-filesystem-almost-full") in k[1]]


def test_textfile_directory_that_cannot_be_written_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = advisor("run", "--duration", "1s", "--textfile", str(blocker / "sub"), "--format", "json")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1].startswith("advisor: error: cannot write metrics to ")
