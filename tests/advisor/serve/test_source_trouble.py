"""A slow or down data source never blocks the API: the last results are served, marked stale with the
source's error; on-demand evaluations of the same area share one run."""
from __future__ import annotations

import concurrent.futures

from tests.support.procs import closed_port

from .launcher import serving


def test_a_down_source_is_reported_stale_and_the_api_still_answers(tmp_path):
    config = tmp_path / "advisor.yml"
    config.write_text("prometheus:\n  retries: 0\n")
    with closed_port() as port, serving(tmp_path, "--prometheus", f"http://user:hunter2@127.0.0.1:{port}",
                                        "--interval", "1h", "--timeout", "1s", "--config", str(config),
                                        "--storage.path", str(tmp_path / "a.db")) as s:
        run = s.wait(lambda: s.json("/api/performance/runs")["runs"], what="the failed run")[0]
        assert run["error"] and run["rules_evaluated"] == 0
        body = s.json("/api/performance/optimize")
        assert body["stale"] is True and body["findings"] == []
        assert f"127.0.0.1:{port}" in body["source_error"] and "hunter2" not in body["source_error"]
        assert "hunter2" not in s.get("/health/detailed").text and "hunter2" not in s.output()
        assert s.get("/health/ready").status_code == 503
        metrics = s.get("/metrics").text
        assert "perfadvisor_advisor_serve_source_up 0.0" in metrics
        assert "perfadvisor_advisor_serve_results_stale 1.0" in metrics
        r = s.post("/api/performance/network/optimize", json={})
        assert r.status_code == 503 and r.json()["error"] and r.json()["run_id"] > run["id"]


def test_a_slow_source_does_not_block_reads_and_concurrent_posts_share_a_run(tmp_path, fake_api):
    api = fake_api("empty", delay=0.15)
    with serving(tmp_path, "--prometheus", api.url, "--interval", "1h", "--storage.path", str(tmp_path / "a.db"),
                 "--rule", "cache-*", "--concurrency", "2") as s:
        # The first scheduled run is under way for a while (every query waits 0.3 s); reads answer meanwhile.
        s.wait(lambda: api.requests, what="the first query")
        body = s.json("/api/performance/optimize")
        assert body["running"] == "all" and body["last_run_id"] is None
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: s.post("/api/performance/cache/optimize", json={}), range(3)))
        assert [a.status_code for a in answers] == [200] * 3
        ids = {a.json()["run_id"] for a in answers}
        assert len(ids) == 1, ids   # one evaluation, shared
        assert all(a.json()["rules_evaluated"] == 0 for a in answers)   # no cache metrics at this source
