"""Session fixtures of the scenario suite: the live environment and the backfilled one, each set up once and
judged by every scenario test; the figures are written to ``<pytest basetemp>/scenarios/figures.json`` (and to
$PERFADVISOR_SCENARIO_FIGURES when set) and printed at the end of the run."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.backfill import backfill, prometheus_on

from . import histories
from .harness import Scenario, advisor_report, summary_line
from .live import LiveResult, live_environment

FIGURES: dict = {}   # filled by test_figures, printed by pytest_terminal_summary


@dataclass
class BackfillResult:
    report: dict
    scenarios: dict[str, Scenario]
    samples: int
    seconds: float


@contextlib.contextmanager
def backfill_environment(base: Path) -> Iterator[BackfillResult]:
    started = time.monotonic()
    # The history ends at the last whole minute; the advisor evaluates as of that instant (--time) where it can,
    # otherwise now, a few seconds later.
    end = float(int(time.time()) // 60 * 60)
    history, cases = histories.build(end)
    om = base / "history.om"
    samples = history.write(om)
    backfill(om, base / "data")
    om.unlink()
    with prometheus_on(base / "data", base / "prometheus") as prom:
        prom.wait_for_series('node_memory_MemTotal_bytes{instance="new-host:9100"}', timeout=120)
        report = advisor_report(prom.url, at=end)
        yield BackfillResult(report, {s.id: s for s in cases}, samples, time.monotonic() - started)


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[LiveResult]:
    with live_environment(tmp_path_factory.mktemp("live")) as result:
        yield result


@pytest.fixture(scope="session")
def backfilled(tmp_path_factory) -> Iterator[BackfillResult]:
    with backfill_environment(tmp_path_factory.mktemp("backfill")) as result:
        yield result


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep("-", "scenario figures")
        terminalreporter.write_line(summary_line(FIGURES))
        for s in FIGURES["scenarios"]:
            state = "skipped" if s["skipped"] else "passed" if not (s["missed"] or s["false_positives"]) else "FAILED"
            terminalreporter.write_line(f"  {state:8} {s['scenario']}")
        if FIGURES.get("path"):
            terminalreporter.write_line(f"written to {FIGURES['path']}")
