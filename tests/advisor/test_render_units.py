"""Durations under a second read in milliseconds wherever a rule's threshold is shown, never as "0s"."""
from pathlib import Path

from perfadvisor.advisor.render import fmt_duration

ROOT = Path(__file__).resolve().parents[2]


def test_sub_second_durations_read_in_milliseconds():
    assert [fmt_duration(v) for v in (0.1, 0.0005, 0.25, 1, 61)] == ["100ms", "0.5ms", "250ms", "1s", "1m 1s"]


def test_rules_reference_shows_sub_second_thresholds():
    rows = {line.split("`")[1]: line for line in (ROOT / "docs/rules.md").read_text().splitlines()
            if line.startswith("| [`")}
    assert "> 100ms" in rows["runtime-eventloop-lag"]
    assert not [rule for rule, row in rows.items() if "> 0s" in row]
