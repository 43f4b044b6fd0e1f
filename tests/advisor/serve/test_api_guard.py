"""The API's guard on a real `advisor serve` (embedded default, in-process collectors): TLS and basic auth from
an exporter-toolkit web config, bad input refused with 4xx and nothing stored, the POST rate limit, headers."""
from __future__ import annotations

import json

import bcrypt
import jsonschema
import pytest
import requests

from .launcher import self_signed, serving

USER, PASSWORD = "alice", "s3cret-pw"
BURSTY = "bob"   # the rate limit is per user: only the 429 test uses this one
ARGS = ["--interval", "1h", "--sample-interval", "1s", "--web.post-rate", "60", "--web.post-burst", "20",
        "--web.max-body", "2048", "--rule", "host-memory-*"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-guard")
    web = tmp / "web.yml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    cert, key = self_signed(tmp)
    web.write_text(f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n"
                   f"basic_auth_users:\n  {USER}: {hashed}\n  {BURSTY}: {hashed}\n")
    with serving(tmp, "--web.config.file", str(web), "--storage.path", str(tmp / "a.db"), *ARGS,
                 auth=(USER, PASSWORD), ca=str(cert)) as s:
        s.wait(lambda: s.json("/api/performance/runs")["runs"], what="the first run")
        yield s


def _runs(s) -> list[int]:
    return [r["id"] for r in s.json("/api/performance/runs")["runs"]]


def test_wrong_or_missing_password_is_401_and_probes_need_none(served):
    for auth in (None, (USER, "wrong"), ("mallory", PASSWORD)):
        r = served.get("/api/performance/optimize", auth=auth)
        assert r.status_code == 401 and r.json() == {"error": "unauthorized"}
        assert r.headers["www-authenticate"].startswith("Basic")
        assert PASSWORD not in r.text
    assert served.get("/metrics", auth=None).status_code == 401
    assert served.post("/api/performance/cache/optimize", json={}, auth=("mallory", "x")).status_code == 401
    served.wait(lambda: "user=mallory method=POST path=/api/performance/cache/optimize status=401" in served.output(),
                timeout=5, what="the audit line of a refused POST")
    assert served.get("/health/live", auth=None).status_code == 200
    assert served.get("/health/ready", auth=None).status_code == 200
    assert served.get("/api/performance/optimize").status_code == 200
    plain = served.url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):   # TLS only
        requests.get(plain + "/health/live", timeout=10)


def test_security_headers_and_no_cors_unless_allow_listed(served):
    r = served.get("/", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in r.text
    assert "access-control-allow-origin" not in r.headers
    assert served.get("/api/performance/analytics").headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("body,headers,status,error", [
    (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
    (b'{"parameters": {}, "extra": 1}', {"Content-Type": "application/json"}, 400, "'extra' was unexpected"),
    (b'{"targets": ["instance"]}', {"Content-Type": "application/json"}, 400, "bad matcher"),
    (b'{"targets": ["instance=~\\"(\\""]}', {"Content-Type": "application/json"}, 400, "invalid regex"),
    (b'{"parameters": {"no_such_param": 1}}', {"Content-Type": "application/json"}, 400, "unknown parameter"),
    (b'{"parameters": {"mem_available_low": "lots"}}', {"Content-Type": "application/json"}, 400, "mem_available_low"),
    (b'{"targets": "instance=\\"x\\""}', {"Content-Type": "application/json"}, 400, "is not of type 'array'"),
    (b'{"a": 1}', {"Content-Type": "text/plain"}, 415, "must be JSON"),
    (b"x" * 5000, {"Content-Type": "application/json"}, 413, "larger than 2048 bytes"),
])
def test_bad_input_is_a_4xx_with_an_error_and_nothing_is_stored(served, body, headers, status, error):
    before = _runs(served)
    r = served.post("/api/performance/resources/optimize", data=body, headers=headers)
    assert r.status_code == status, r.text
    assert error in r.json()["error"]
    assert _runs(served) == before


def test_a_chunked_body_beyond_the_cap_is_refused(served):
    before = _runs(served)
    r = served.post("/api/performance/resources/optimize", data=iter([b"{" + b" " * 1500, b" " * 1500 + b"}"]),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    assert _runs(served) == before


def test_bad_query_parameters_and_unknown_runs(served):
    r = served.get("/api/performance/optimize?severity=urgent")
    assert r.status_code == 400 and "unknown value 'urgent'" in r.json()["error"]
    r = served.get("/api/performance/optimize?target=instance%7E%22x")
    assert r.status_code == 400 and "bad matcher" in r.json()["error"]
    assert served.get("/api/performance/runs?limit=0").status_code == 400
    r = served.get("/api/performance/runs/999999")
    assert r.status_code == 404 and r.json() == {"error": "no run 999999"}
    assert served.get("/api/performance/runs/1/diff/999999").status_code == 404
    assert served.get("/api/performance/runs/abc").status_code == 404


def test_over_the_post_rate_is_429_with_retry_after(served):
    codes = []
    for _ in range(24):   # a burst of 20, then one token a second: bad bodies, so nothing runs or is stored
        r = served.post("/api/performance/network/optimize", data=b"{", headers={"Content-Type": "application/json"},
                        auth=(BURSTY, PASSWORD))
        codes.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["error"]
    assert codes[:20] == [400] * 20 and 429 in codes[20:]
    assert served.post("/api/performance/network/optimize", data=b"{",
                       headers={"Content-Type": "application/json"}).status_code == 400   # alice: not limited
    log = served.output()
    assert "audit client=127.0.0.1 user=bob method=POST path=/api/performance/network/optimize status=429" in log
    assert PASSWORD not in log


def test_openapi_document_describes_every_endpoint_and_the_body_schema(served):
    doc = served.json("/api/openapi.json")
    assert doc["openapi"].startswith("3.")
    for path in ("/api/performance/optimize", "/api/performance/metrics/live", "/api/performance/analytics",
                 "/api/performance/scaling/recommendations", "/api/performance/memory/leaks",
                 "/api/performance/runs/{id}/diff/{other}", "/api/performance/stream", "/metrics",
                 *(f"/api/performance/{a}/optimize" for a in ("cache", "resources", "database", "network",
                                                             "loadbalancer"))):
        assert path in doc["paths"], path
    schema = doc["components"]["schemas"]["OptimizeRequest"]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"parameters": {"host.lookback": "2h"}, "targets": ['instance=~"web.*"']}, schema)


def test_a_post_evaluates_the_area_and_returns_the_run(served):
    r = served.post("/api/performance/resources/optimize",
                    json={"parameters": {"mem_available_low": 0.999}, "targets": ['instance=~".+"']})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["area"] == "resources" and body["rules_total"] >= 1
    assert {f["rule_id"] for f in body["findings"] + body["pending"]} >= {"host-memory-pressure"}
    served.wait(lambda: f"user=alice method=POST path=/api/performance/resources/optimize status=200 "
                        f"run_id={body['run_id']}" in served.output(), timeout=5, what="the audit line")
    run = served.json(f"/api/performance/runs/{body['run_id']}")
    assert run["trigger"] == "api:resources" and run["scope"] == "resources"
    live = served.json("/api/performance/metrics/live")
    (figures,) = live["targets"].values()
    assert 0 < figures["memory_available_ratio"] <= 1 and figures["memory_available_bytes"] > 0
    health = served.json("/health/detailed")
    assert health["local"]["samples_taken"] >= 1 and health["store"]["runs"] >= 2
    assert json.loads(served.get("/health").text)["ready"] is True


def test_wrong_credentials_on_the_websocket_are_refused(served):
    import base64
    import ssl

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect
    url = served.url.replace("https://", "wss://") + "/api/performance/ws"
    tls = ssl.create_default_context(cafile=served.verify)
    with pytest.raises(InvalidStatus) as e:
        with connect(url, open_timeout=5, ssl=tls) as ws:
            ws.recv(timeout=5)
    assert e.value.response.status_code == 403
    good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with connect(url, open_timeout=5, ssl=tls, additional_headers={"Authorization": good}) as ws:
        ws.ping().wait(5)
