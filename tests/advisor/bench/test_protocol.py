"""What the client must get right beyond a plain keep-alive answer: chunked bodies split across reads, TLS with
and without the right CA, ramping stages, and 4xx answers counted as errors."""
from __future__ import annotations

import json

from tests.support.services import self_signed_cert, start_nginx

from .conftest import advisor, stall_server


def test_chunked_answers_split_across_reads_are_framed():
    with stall_server(chunked=True) as url:
        r = advisor("bench", "--connections", "2", "--processes", "1", "--duration", "1s", "--format", "json", url)
    assert r.exit_code == 0, r.stderr
    s = json.loads(r.stdout)["summary"]
    assert s["responses"] > 20 and s["errors"] == 0 and s["status"] == {"2xx": s["responses"]}


def test_tls_verified_with_the_ca_and_refused_without(tmp_path):
    cert, key = self_signed_cert(tmp_path)
    with start_nginx(tmp_path / "tls", "", files={"index.html": b"tls\n"}, tls=(cert, key)) as server:
        url = f"https://{server.address}/index.html"
        ok = advisor("bench", "--rate", "100", "--duration", "1s", "--ca-file", str(cert), "--format", "json", url)
        bad = advisor("bench", "--rate", "20", "--duration", "1s", "--format", "json", url)
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["summary"]["responses"] == 100
    assert bad.exit_code == 3
    assert set(json.loads(bad.stdout)["summary"]["errors_by_kind"]) == {"tls"}


def test_stages_ramp_the_rate(nginx):
    # From 0 to 200/s over 2 s: 200 requests in all, 50 in the first second and 150 in the second.
    r = advisor("bench", "--stages", "2s:200", "--format", "json", f"http://{nginx.address}/index.html?run=stages")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["requests"] == 200
    first, second = (iv["sent"] for iv in doc["intervals"])
    assert abs(first - 50) <= 2 and first + second == 200      # a request due at 0.999 s may go out at 1.000 s


def test_client_errors_count_as_errors_by_status_class(nginx):
    r = advisor("bench", "--rate", "50", "--duration", "1s", "--threshold", "error_rate<0.5", "--format", "json",
                f"http://{nginx.address}/missing")
    assert r.exit_code == 4
    s = json.loads(r.stdout)["summary"]
    assert s["errors_by_kind"] == {"4xx": 50} and s["status"] == {"4xx": 50} and s["error_rate"] == 1.0


def test_a_slow_origin_does_not_starve_a_fast_one(nginx, tmp_path):
    # Two origins share 4 connections; the slow one answers after 0.3 s. The fast one's requests still go out
    # (on connections handed over) and none is dropped.
    with stall_server(delay=0.3) as slow:
        path = tmp_path / "two.yaml"
        path.write_text(f"targets:\n  - {{name: slow, url: '{slow}'}}\n"
                        f"  - {{name: fast, url: 'http://{nginx.address}/index.html?run=two'}}\n")
        r = advisor("bench", "--scenario", str(path), "--rate", "40", "--duration", "2s", "--connections", "4",
                    "--processes", "1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    counts = {t["label"]: t for t in doc["targets"]}
    assert counts["fast"]["requests"] > 20 and counts["fast"]["errors"] == 0
    assert doc["summary"]["dropped"] == 0 and doc["summary"]["requests"] == 80
