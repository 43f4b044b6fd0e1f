"""The harness's judgement on hand-written reports: what counts as detected, missed and a false positive."""
from __future__ import annotations

from .harness import Expect, Quiet, Scenario, figures, judge


def finding(rule_id, state=None, cause=None, level="high", text="", **target):
    f = {"rule_id": rule_id, "target": target, "labels": dict(target), "summary": text, "recommendation": "",
         "confidence": {"level": level, "score": 0.9}}
    if state:
        f["state"] = state
    if cause:
        f["cause"] = cause
    return f


def report(*findings, pending=()):
    return {"findings": list(findings), "pending": list(pending),
            "rules": [{"id": "host-cpu-saturation", "evaluated": False, "reason": "not enough history"}]}


LEAK = Scenario("leak", "a leak", expect=(Expect("process-memory-leak", {"groupname": "a"}, min_confidence="high"),),
                quiet=(Quiet("process-cpu-hog", {"groupname": "a"}),))


def test_a_matching_finding_is_detected_and_others_do_not_count():
    v = judge(LEAK, report(finding("process-memory-leak", groupname="a", instance="h"),
                           finding("process-cpu-hog", groupname="b")))
    assert v.passed and v.detected == ["process-memory-leak {groupname=a} firing"] and not v.false_positives


def test_a_finding_that_falls_short_is_missed_with_the_reason():
    v = judge(LEAK, report(finding("process-memory-leak", groupname="a", level="low")))
    assert v.missed == ["process-memory-leak {groupname=a} firing: reported, but confidence low (0.9), "
                        "expected ≥ high"]
    pending = Scenario("p", "", expect=(Expect("host-cpu-saturation", {"instance": "n"}, states=("pending",)),))
    v = judge(pending, report(finding("host-cpu-saturation", instance="n")))
    assert "state firing, expected pending" in v.missed[0]


def test_pending_findings_listed_apart_count_as_pending():
    pending = Scenario("p", "", expect=(Expect("host-cpu-saturation", {"instance": "n"}, states=("pending",)),))
    assert judge(pending, report(pending=[finding("host-cpu-saturation", instance="n")])).passed


def test_a_missing_finding_says_why_the_rule_did_not_report():
    s = Scenario("s", "", expect=(Expect("host-cpu-saturation", {"instance": "n"}),))
    assert judge(s, report()).missed == ["host-cpu-saturation {instance=n} firing: not reported "
                                         "(not evaluated: not enough history)"]


def test_text_must_follow_the_evidence():
    s = Scenario("s", "", expect=(Expect("cache-redis-hit-ratio-low", {}, text="negative", not_text="TTL"),))
    assert judge(s, report(finding("cache-redis-hit-ratio-low", text="negative lookups"))).passed
    assert not judge(s, report(finding("cache-redis-hit-ratio-low", text="negative lookups, or TTLs"))).passed


def test_quiet_rules_count_false_positives_unless_the_cause_is_named():
    s = Scenario("t", "", quiet=(Quiet("process-memory-leak", {"groupname": "t"}, unless_cause="thread"),
                                 Quiet("scaling-*", {"instance": "r"})))
    assert judge(s, report(finding("process-memory-leak", cause="thread growth (process-thread-leak)",
                                   groupname="t"))).passed
    v = judge(s, report(finding("process-memory-leak", groupname="t"), finding("scaling-process-cpu", instance="r"),
                        finding("scaling-process-cpu", instance="other")))
    assert len(v.false_positives) == 2 and v.healthy


def test_figures_count_problems_false_positives_and_quiet_baselines():
    verdicts = [judge(LEAK, report(finding("process-memory-leak", groupname="a"))),
                judge(LEAK, report(finding("process-cpu-hog", groupname="a"))),
                judge(Scenario("h", "", quiet=(Quiet("process-*", {}),)), report()),
                judge(Scenario("x", "", skipped="needs root"), report())]
    fig = figures(verdicts)
    assert (fig["scenarios_run"], fig["scenarios_skipped"], fig["scenarios_passed"]) == (3, 1, 2)
    assert (fig["problems_detected"], fig["problems_total"], fig["false_positives"]) == (1, 2, 1)
    assert (fig["healthy_baselines_quiet"], fig["healthy_baselines"]) == (1, 1)
