"""The suite's figure: problems detected out of those induced, and false positives, over every scenario."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from . import conftest
from .harness import figures, judge, summary_line

pytestmark = pytest.mark.slow


def test_every_problem_detected_and_no_false_positives(live, backfilled, tmp_path_factory):
    verdicts = [judge(s, r.report) for r in (live, backfilled) for s in r.scenarios.values()]
    fig = figures(verdicts)
    fig["wall_seconds"] = {"live": round(live.seconds), "backfill": round(backfilled.seconds)}
    out = tmp_path_factory.getbasetemp() / "scenarios" / "figures.json"
    out.parent.mkdir(exist_ok=True)
    paths = [out] + ([Path(os.environ["PERFADVISOR_SCENARIO_FIGURES"])]
                     if os.environ.get("PERFADVISOR_SCENARIO_FIGURES") else [])
    for p in paths:
        p.write_text(json.dumps(fig, indent=2) + "\n")
    conftest.FIGURES.clear()
    conftest.FIGURES.update(fig, path=", ".join(map(str, paths)))
    failed = "\n".join(v.explain() for v in verdicts if not v.passed and not v.skipped)
    assert fig["problems_detected"] == fig["problems_total"] and fig["false_positives"] == 0, \
        summary_line(fig) + "\n" + failed
