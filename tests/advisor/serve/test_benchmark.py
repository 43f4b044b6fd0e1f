"""POST /api/performance/benchmark on a real `advisor serve` against a real nginx: the allow-list, the caps, one
bench at a time, the result with rate and percentiles in the history, and the verdict against the previous run."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.procs import free_port
from tests.support.services import start_nginx

from .launcher import SSEReader, advisor_binary, of_type, serving

ARGS = ["--interval", "1h", "--sample-interval", "1s", "--rule", "host-memory-*", "--web.post-rate", "600",
        "--web.post-burst", "100"]
VERDICTS = {"pass", "marginal", "fail", "insufficient data"}


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("benchapi-nginx")
    with start_nginx(tmp, "", files={"allowed/index.html": b"hello bench\n", "secret.html": b"no\n"}) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory, nginx):
    tmp = tmp_path_factory.mktemp("serve-bench")
    with serving(tmp, "--storage.path", str(tmp / "a.db"), *ARGS, "--bench.allow", f"{nginx}/allowed/") as s:
        yield s


def _bench(served, url: str, **load) -> dict:
    return {"targets": [{"url": url}], **load}


def _done(served, bench_id: int, timeout: float = 120) -> dict:
    return served.wait(lambda: (lambda b: b if b["status"] != "running" else None)(
        served.json(f"/api/performance/benchmark/{bench_id}")), timeout=timeout, what=f"benchmark {bench_id}")


def _count(served) -> int:
    return len(served.json("/api/performance/benchmark")["benchmarks"])


def test_allowed_target_runs_then_the_next_run_is_compared(served, nginx):
    sse = SSEReader(served.url)
    try:
        url = f"{nginx}/allowed/index.html"
        r = served.post("/api/performance/benchmark", json=_bench(served, url, rate=200, duration="9s"))
        assert r.status_code == 202, r.text
        first = r.json()["id"]
        assert r.headers["location"] == f"/api/performance/benchmark/{first}"
        assert "200 req/s for 9s" in r.json()["describe"]

        # One at a time: a second POST while it runs is 409 naming the running one; nothing is stored for it.
        busy = served.post("/api/performance/benchmark", json=_bench(served, url, rate=100, duration="2s"))
        assert busy.status_code == 409 and busy.json()["running"] == first, busy.text
        # The API answers while the bench runs (it runs in its own process).
        assert served.get("/api/performance/runs").status_code == 200
        assert served.json(f"/api/performance/benchmark/{first}")["status"] == "running"

        b1 = _done(served, first)
        assert b1["status"] == "done", b1
        s = b1["summary"]
        assert abs(s["rate"] - 200) / 200 < 0.02, s["rate"]
        assert s["errors"] == 0 and s["status"] == {"2xx": s["responses"]} and s["responses"] >= 1700
        lat = s["latency"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"] < 5
        assert b1["previous_id"] is None and b1["verdict"] is None and b1["comparison"] is None

        r = served.post("/api/performance/benchmark", json=_bench(served, url, rate=200, duration="9s"))
        assert r.status_code == 202, r.text
        second = r.json()["id"]
        b2 = _done(served, second)
        assert b2["status"] == "done" and b2["previous_id"] == first, b2
        c = b2["comparison"]
        assert b2["verdict"] == c["verdict"] and c["verdict"] in VERDICTS and c["previous_id"] == first
        by_name = {m["name"]: m for m in c["metrics"]}
        assert {"latency_p50", "latency_p99", "throughput", "error_ratio"} <= set(by_name)
        p99 = by_name["latency_p99"]
        assert p99["baseline"]["n"] == 9 and p99["current"]["n"] == 9 and p99["verdict"] in VERDICTS
        assert p99["summary"].startswith("latency_p99 (higher is worse): median ")
        assert "note" not in c          # the same load both times

        full = served.json(f"/api/performance/benchmark/{second}?detail=full")
        assert full["result"]["schema"] == "perfadvisor.bench.result/v1" and len(full["result"]["intervals"]) == 9

        listed = served.json("/api/performance/benchmark")["benchmarks"]
        assert [b["id"] for b in listed][:2] == [second, first] and listed[0]["verdict"] == c["verdict"]

        served.wait(lambda: len(of_type(sse.events, "benchmark_finished")) >= 2, timeout=10, what="the events")
        ev = of_type(sse.events, "benchmark_finished")[-1]["data"]
        assert ev["id"] == second and ev["status"] == "done" and ev["verdict"] == c["verdict"]
        assert ev["previous_id"] == first and abs(ev["rate"] - 200) < 4
    finally:
        sse.close()
    served.wait(lambda: re.search(rf"method=POST path=/api/performance/benchmark status=202 bench_id={second}\b",
                                  served.output()), timeout=5, what="the audit line")
    assert "method=POST path=/api/performance/benchmark status=409" in served.output()


@pytest.mark.parametrize("url", [
    "{nginx}/secret.html",                       # outside the prefix's path
    "{nginx}/allowedx/index.html",               # a prefix of the text, not of the path
    "{nginx}/allowed/../secret.html",            # climbs out of it
    "{nginx}/allowed/%2e%2e/secret.html",
    "http://127.0.0.1:1/allowed/index.html",     # another port
    "http://localhost:{port}/allowed/index.html",  # another host name
    "http://127.0.0.1:{port}@example.com/allowed/index.html",
])
def test_a_target_off_the_allow_list_is_403_and_nothing_is_stored(served, nginx, url):
    before = _count(served)
    url = url.format(nginx=nginx, port=nginx.rsplit(":", 1)[1])
    body = {"targets": [{"url": f"{nginx}/allowed/index.html"}, {"url": url}], "rate": 10, "duration": "1s"}
    r = served.post("/api/performance/benchmark", json=body)
    assert r.status_code == 403, r.text
    assert "is not on the allow-list" in r.json()["error"]
    assert _count(served) == before


@pytest.mark.parametrize("load,status,named", [
    ({"rate": 200000, "duration": "1s"}, 422, "100000/s (the tool's cap)"),
    ({"rate": 10, "duration": "2h"}, 422, "duration <= 3600s (the tool's cap)"),
    ({"rate": 10, "duration": "1s", "warmup": "11m"}, 422, "0..600s (the tool's cap)"),
    ({"connections": 20000, "duration": "1s"}, 422, "1..10000 (the tool's cap)"),
    ({"rate": 10, "duration": "soon"}, 400, "duration:"),
    ({"rate": 10, "thresholds": ["p99 < lots"]}, 400, "thresholds:"),
    ({"rate": 10, "processes": 64}, 400, "'processes' was unexpected"),
])
def test_over_a_cap_or_malformed_is_refused_naming_it(served, nginx, load, status, named):
    before = _count(served)
    r = served.post("/api/performance/benchmark", json=_bench(served, f"{nginx}/allowed/index.html", **load))
    assert r.status_code == status and named in r.json()["error"], r.text
    assert _count(served) == before


def test_unknown_benchmark_is_404_and_openapi_documents_the_endpoint(served):
    assert served.get("/api/performance/benchmark/999999").status_code == 404
    doc = served.json("/api/openapi.json")
    post = doc["paths"]["/api/performance/benchmark"]["post"]
    assert {"202", "403", "409", "422"} <= set(post["responses"])
    assert doc["components"]["schemas"]["BenchmarkRequest"]["required"] == ["targets"]


def test_without_an_allow_list_the_endpoint_is_off(tmp_path, nginx):
    with serving(tmp_path, "--storage.path", str(tmp_path / "b.db"), *ARGS) as s:
        r = s.post("/api/performance/benchmark", json={"targets": [{"url": f"{nginx}/allowed/index.html"}]})
        assert r.status_code == 403 and "--bench.allow" in r.json()["error"]
        assert s.json("/api/performance/benchmark")["benchmarks"] == []


def test_a_bad_allow_prefix_is_a_config_error(tmp_path):
    p = subprocess.run([advisor_binary(), "serve", "--storage.path", str(tmp_path / "c.db"),
                        "--web.listen-address", f"127.0.0.1:{free_port()}", "--bench.allow", "ftp://x/"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--bench.allow 'ftp://x/': expected an http:// or https:// URL prefix" in p.stderr
    assert "Traceback" not in p.stderr
