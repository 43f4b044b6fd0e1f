"""Every dashboard query, as Grafana sends it with All selected, parses and returns data from a real Prometheus
scraping our exporter, and every series carries the labels its legend names."""
from __future__ import annotations

import re
import time

import pytest
import requests

from .dashboards import Query, load_all, queries

pytestmark = pytest.mark.slow

DASHBOARDS = load_all()
# Panels whose data cannot exist on this machine, with why. Keep this tiny.
NO_DATA_HERE: dict[tuple[str, str], str] = {}
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _run(url: str, q: Query) -> tuple[str | None, list[dict]]:
    """(error, series) of one instant query."""
    r = requests.get(f"{url}/api/v1/query", params={"query": q.expr}, timeout=10)
    body = r.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", []
    return None, body["data"]["result"]


def _problems(url: str, qs: list[Query]) -> list[str]:
    out = []
    for q in qs:
        err, series = _run(url, q)
        if err:
            out.append(f"{q.where} does not parse: {err}\n    {q.expr}")
        elif not series:
            out.append(f"{q.where} returns no data\n    {q.expr}")
        else:
            for label in set(LEGEND_LABEL.findall(q.legend)):
                missing = [s["metric"] for s in series if label not in s["metric"]]
                if missing:
                    out.append(f"{q.where}: legend uses {{{{{label}}}}} but series lack it: {missing[0]}\n    {q.expr}")
    return out


def check_dashboard(url: str, name: str, timeout: float = 60.0) -> list[str]:
    """Problems left once every query had the time to see a few scrapes (rates need two samples)."""
    qs = [q for q in queries(name, DASHBOARDS[name]) if (name, q.panel) not in NO_DATA_HERE]
    deadline = time.monotonic() + timeout
    while True:
        problems = _problems(url, qs)
        if not problems or time.monotonic() > deadline or any("does not parse" in p for p in problems):
            return problems
        time.sleep(2)


@pytest.mark.parametrize("name", ["host", "processes", "exporter", "advisor"])
def test_every_query_returns_data(scraped, name):
    problems = check_dashboard(scraped.prometheus.url, name)
    assert not problems, "\n".join(problems)


def test_services_dashboard_with_real_services(services_scraped):
    problems = check_dashboard(services_scraped.prometheus.url, "services")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["host", "advisor"])
def test_dashboards_work_on_node_exporter_too(node_exporter_scraped, name):
    problems = check_dashboard(node_exporter_scraped.prometheus.url, name)
    assert not problems, "\n".join(problems)


def test_allow_list_names_real_panels():
    titles = {(n, p["title"]) for n, d in DASHBOARDS.items() for p in d["panels"]}
    assert set(NO_DATA_HERE) <= titles


def test_the_check_reports_what_a_broken_panel_shows(scraped):
    broken = [Query("x", "typo", "node_lod1", ""), Query("x", "syntax", "rate(node_load1[", ""),
              Query("x", "legend", "sum(node_load1)", "{{instance}}")]
    problems = _problems(scraped.prometheus.url, broken)
    assert len(problems) == 3
    assert "'typo' returns no data" in problems[0]
    assert "'syntax' does not parse" in problems[1]
    assert "legend uses {{instance}} but series lack it" in problems[2]
