"""The network pack against real nginx locations probed by our exporter's http_probe: one served without gzip,
one with gzip, one without keep-alive, one oversized image, one TLS listener whose certificate expires in five
days, one URL where nothing listens and one backend that takes 0.25 s to answer."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess

import pytest

from tests.support.procs import closed_port, free_port, need_binary
from tests.support.services import start_nginx
from tests.support.services_extra import start_slow_http

from .conftest import exporter_and_prometheus, findings, poll_report

SETS = ("window=20s", "rate_window=10s", "ttfb_high=0.1", "latency_high=0.1")
DOC = json.dumps([{"id": i, "name": f"item {i}", "tags": ["alpha", "beta"]} for i in range(400)]).encode()
BODY = """
        types { application/json json; image/png png; }
        gzip off;
        location /gz/ { gzip on; gzip_min_length 256; gzip_types application/json; }
        location /close/ { keepalive_timeout 0; }
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
"""


def _certificate(directory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 that expires in 5 days."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([need_binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture(scope="module")
def net_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("network")
    cert, key = _certificate(base)
    tls_port = free_port()
    files = {"plain/data.json": DOC, "gz/data.json": DOC, "close/small.json": b'{"ok": true}',
             "big/photo.png": bytes(range(256)) * 8192}
    body = BODY.replace("{tls_port}", str(tls_port)).replace("{cert}", cert).replace("{key}", key)
    with contextlib.ExitStack() as stack:
        web = stack.enter_context(start_nginx(base / "nginx", body, files))
        slow = stack.enter_context(start_slow_http(0.25))
        dead = stack.enter_context(closed_port())
        root = f"http://127.0.0.1:{web.port}"
        urls = {"plain": f"{root}/plain/data.json", "gz": f"{root}/gz/data.json", "close": f"{root}/close/small.json",
                "big": f"{root}/big/photo.png", "tls": f"https://127.0.0.1:{tls_port}/gz/data.json",
                "dead": f"http://127.0.0.1:{dead}/", "slow": f"http://127.0.0.1:{slow}/report"}
        # Prometheus scrapes every second with a 1 s timeout: the slow target is probed once, not twice
        extra = {"tls": {"ca_file": cert}, "slow": {"check_keepalive": False}}
        targets = [{"url": u, "timeout": "2s", **extra.get(k, {})} for k, u in urls.items()]
        prom = stack.enter_context(exporter_and_prometheus(base / "stack", {"http_probe": {"targets": targets}},
                                                           keep_defaults=("netstat",)))
        prom.wait_for_series("probe_success", min_results=len(urls))
        expected = ("network-response-not-compressed", "network-keepalive-unused", "network-payload-oversized",
                    "network-certificate-expiring", "network-probe-failing", "network-slow-ttfb")
        report = poll_report(prom.url, "network", SETS, lambda r: all(findings(r, rid) for rid in expected))
        yield report, urls


def _targets(report, rule_id):
    return sorted(f["labels"]["target"] for f in findings(report, rule_id))


def test_compression_rule_fires_for_the_plain_location_only(net_env):
    report, urls = net_env
    # gz is compressed, close is too small, the PNG is excluded as already-compressed media, dead sent nothing
    assert _targets(report, "network-response-not-compressed") == [urls["plain"]]
    f = findings(report, "network-response-not-compressed")[0]
    assert f["value"] == len(DOC)
    assert f"{urls['plain']} returned {len(DOC) / 1024:.1f} KiB without Content-Encoding" in f["recommendation"]
    assert "gzip on;" in f["recommendation"] and "brotli" in f["recommendation"]


def test_keepalive_rule_names_the_closing_location(net_env):
    report, urls = net_env
    assert _targets(report, "network-keepalive-unused") == [urls["close"]]
    f = findings(report, "network-keepalive-unused")[0]
    assert f["value"] == 1.0 and "keepalive_timeout" in f["recommendation"]


def test_oversized_payload(net_env):
    report, urls = net_env
    assert _targets(report, "network-payload-oversized") == [urls["big"]]
    assert "2.0 MiB body" in findings(report, "network-payload-oversized")[0]["recommendation"]


def test_certificate_expiry_in_days(net_env):
    report, urls = net_env
    cert = findings(report, "network-certificate-expiring")
    assert [f["labels"]["target"] for f in cert] == [urls["tls"]]
    assert 4.9 < cert[0]["value"] <= 5.0
    assert re.search(r"expires in (5|4\.9) days", cert[0]["recommendation"])


def test_failing_probe_is_the_dead_url_only(net_env):
    report, urls = net_env
    failing = findings(report, "network-probe-failing")
    assert [f["labels"]["target"] for f in failing] == [urls["dead"]]
    assert failing[0]["value"] == 1.0
    status = {e["title"]: e["series"] for e in failing[0]["evidence"]}["Last HTTP status code"]
    assert status[0]["value"] == 0


def test_gzip_location_is_healthy(net_env):
    report, urls = net_env
    for f in report["findings"]:
        assert f["labels"].get("target") != urls["gz"], f["rule_id"]
    rules = {r["id"]: r for r in report["rules"]}
    # host TCP rules ran on the exporter's netstat counters
    assert rules["network-listen-overflows"]["evaluated"] and rules["network-syn-retransmits"]["evaluated"]


def test_slow_server_is_blamed_on_processing_not_the_network(net_env):
    report, urls = net_env
    ttfb = findings(report, "network-slow-ttfb")
    assert [f["labels"]["target"] for f in ttfb] == [urls["slow"]]
    assert ttfb[0]["value"] >= 0.25 and "in the server, not the network" in ttfb[0]["recommendation"]
    assert urls["slow"] in _targets(report, "network-probe-slow")
    assert urls["slow"] not in _targets(report, "network-slow-connect")
