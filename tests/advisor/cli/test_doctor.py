"""``advisor doctor`` against a real Prometheus scraping our exporter, in local mode, and its usage errors."""
from __future__ import annotations

import json
import time

import pytest
import requests

from tests.advisor.conftest import advisor
from tests.support.exporter import exporter_binary, scraped_exporter

INTERVAL = 2.0   # Prometheus' scrape interval in these tests

PACK = """
apiVersion: perfadvisor.dev/v1
kind: RulePack
metadata: {{name: mine, description: short windows}}
rules:
  - id: mine-rate
    title: CPU rate
    category: optimization
    dimension: cpu
    severity: warning
    query: sum by (instance) (rate(node_cpu_seconds_total[{window}]))
    condition: {{op: ">", threshold: 1000{for_}}}
    summary: s
    recommendation: r
"""


def _pack(tmp_path, window: str, for_: str = "") -> str:
    path = tmp_path / f"mine-{window}.yaml"
    path.write_text(PACK.format(window=window, for_=f", for: {for_}" if for_ else ""))
    return str(path)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Prometheus scraping our exporter (default collectors: redis off) every 2 s, with ≥ 10 s of history."""
    with scraped_exporter(tmp_path_factory.mktemp("doctor"), exporter_binary(), "--no-collector.textfile",
                          "--log.level=warn", job="perfadvisor", metrics_path="/api/metrics",
                          interval=f"{INTERVAL:g}s") as scraped:
        scraped.prometheus.wait_for_series('up{job="perfadvisor"} == 1')
        time.sleep(10)
        yield scraped.prometheus


def _json(*args):
    r = advisor("doctor", "--format", "json", *args)
    return r, json.loads(r.stdout)


@pytest.mark.slow
def test_the_cache_pack_has_no_data_and_doctor_names_the_collector_and_flag(prometheus):
    r, d = _json("--prometheus", prometheus.url)
    cache = next(p for p in d["packs"] if p["name"] == "cache")
    assert cache["status"] == "no data"
    hits = next(m for m in cache["metrics"] if m["name"] == "redis_keyspace_hits_total")
    assert hits["present"] is False
    assert {"kind": "collector", "name": "redis", "default_enabled": False, "flag": "--collector.redis"} \
        in hits["providers"]
    assert {"kind": "exporter", "name": "redis_exporter"} in hits["providers"]
    app = next(m for m in cache["metrics"] if m["name"] == "cache_requests_total")
    assert app["providers"][0]["doc"] == "docs/packs.md#application-cache-metric-convention"
    host = next(p for p in d["packs"] if p["name"] == "host")
    assert host["status"] == "ok"
    assert d["scrape_intervals"] == {"perfadvisor": INTERVAL}
    # Packs without data are listed, not counted: the cache pack's rules are not problems.
    assert all(not x["counted"] for x in d["rules_not_evaluated"] if x["pack"] == "cache")

    text = advisor("doctor", "--prometheus", prometheus.url).stdout
    assert "no data  cache" in text
    assert "enable with --collector.redis" in text and "redis_exporter" in text


@pytest.mark.slow
def test_history_is_what_prometheus_holds(prometheus):
    r, d = _json("--prometheus", prometheus.url)
    head = requests.get(f"{prometheus.url}/api/v1/status/tsdb", timeout=10).json()["data"]["headStats"]
    oldest = head["minTime"] / 1000   # the TSDB's oldest sample: every series of the first scrape has it
    host = next(p for p in d["packs"] if p["name"] == "host")
    assert abs((d["evaluated_at"] - host["history_seconds"]) - oldest) <= INTERVAL
    idle = next(x for x in d["rules_not_evaluated"] if x["id"] == "scaling-host-idle")
    assert idle["reason"].startswith("not enough history: needs ≥ 1h")
    assert idle["min_history_seconds"] == 3600 and abs(idle["history_seconds"] - host["history_seconds"]) <= INTERVAL
    assert idle["counted"] and r.exit_code == 1


@pytest.mark.slow
def test_a_rate_window_shorter_than_twice_the_scrape_interval_is_flagged(prometheus, tmp_path):
    r, d = _json("--prometheus", prometheus.url, "--no-builtin", "--pack", _pack(tmp_path, "3s", for_="1s"))
    assert r.exit_code == 1
    assert [(w["rule"], w["level"], w["what"], w["scrape_interval_seconds"], w["jobs"]) for w in d["windows"]] == [
        ("mine-rate", "error", "rate(node_cpu_seconds_total[3s])", INTERVAL, ["perfadvisor"]),
        ("mine-rate", "error", "for 1s", INTERVAL, ["perfadvisor"])]
    assert d["problems"] == 2
    text = advisor("doctor", "--prometheus", prometheus.url, "--no-builtin", "--pack", _pack(tmp_path, "3s")).stdout
    assert "rate(node_cpu_seconds_total[3s]) (job perfadvisor): rate() needs two samples in" in text
    assert "1 problem(s): 1 window error(s)." in text


@pytest.mark.slow
def test_a_window_under_four_intervals_is_a_warning_and_not_a_problem(prometheus, tmp_path):
    r, d = _json("--prometheus", prometheus.url, "--no-builtin", "--pack", _pack(tmp_path, "6s"))
    assert [(w["level"], w["what"]) for w in d["windows"]] == [("warning", "rate(node_cpu_seconds_total[6s])")]
    assert r.exit_code == 0 and d["problems"] == 0


@pytest.mark.slow
def test_a_setup_where_every_rule_can_be_evaluated_exits_0(prometheus, tmp_path):
    r = advisor("doctor", "--prometheus", prometheus.url, "--no-builtin", "--pack", _pack(tmp_path, "10s"))
    assert r.exit_code == 0, r.output
    assert "ok       mine" in r.stdout and "No problems" in r.stdout


def test_local_mode_checks_windows_against_the_sampling_interval(tmp_path):
    r, d = _json("--duration", "1s", "--interval", "1s", "--no-builtin", "--pack", _pack(tmp_path, "1s"))
    assert d["source"]["type"] == "embedded" and d["source"]["local"]["interval"] == "1s"
    assert [(w["level"], w["what"], w["scrape_interval_seconds"]) for w in d["windows"]] == [
        ("error", "rate(node_cpu_seconds_total[1s])", 1.0)]
    assert r.exit_code == 1


def test_an_unreachable_prometheus_exits_3():
    r = advisor("doctor", "--prometheus", "http://127.0.0.1:9")
    assert r.exit_code == 3
    assert r.stderr.startswith("advisor: error: Prometheus at http://127.0.0.1:9/api/v1/")


@pytest.mark.parametrize("args, message", [
    (["--max-history", "7 days"], "--max-history: not a Prometheus duration"),
    (["--prometheus", "http://127.0.0.1:9", "--exporter", "http://127.0.0.1:9100"], "--exporter and --store are for local mode"),
    (["--prometheus", "http://127.0.0.1:9", "--set", "nope=1"], "unknown parameter 'nope'"),
])
def test_usage_errors_exit_2(args, message):
    r = advisor("doctor", *args)
    assert r.exit_code == 2 and message in r.stderr
