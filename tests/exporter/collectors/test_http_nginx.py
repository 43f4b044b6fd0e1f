"""http_probe and nginx collectors against a real nginx: a location without gzip, one with gzip and cache
headers, one that closes connections, a redirect, and stub_status."""
from __future__ import annotations

import pytest
import requests

from tests.support.services import start_nginx, stop_server

from .conftest import scrape

BODY = b"".join(b"line %d of a compressible text file\n" % i for i in range(600))  # ~21 kB

SERVER = """
        location /plain/ { gzip off; }
        location /gz/ {
            gzip on; gzip_types text/plain; gzip_min_length 100;
            add_header Cache-Control "public, max-age=600";
        }
        location /close/ { keepalive_timeout 0; }
        location = /redirect { return 302 /plain/data.txt; }
        location = /stub_status { stub_status; }
        types { text/plain txt; }
"""


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    files = {f"{d}/data.txt": BODY for d in ("plain", "gz", "close")}
    with start_nginx(tmp_path_factory.mktemp("nginx"), SERVER, files) as server:
        yield server


def _url(server, path):
    return f"http://127.0.0.1:{server.port}{path}"


def test_plain_location(nginx):
    url = _url(nginx, "/plain/data.txt")
    s = scrape("http_probe", {"url": url})
    t = {"target": url}
    assert s.value("probe_success", t) == 1
    assert s.value("probe_http_status_code", t) == 200
    assert s.value("probe_http_version", t) == 1.1
    assert s.value("probe_http_content_length", t) == len(BODY)
    assert s.value("probe_http_uncompressed_body_length", t) == len(BODY)
    assert s.value("perfadvisor_probe_http_compressed", t) == 0
    assert s.value("perfadvisor_probe_http_body_bytes", t) == len(BODY)
    assert s.value("perfadvisor_probe_http_keepalive_offered", t) == 1
    assert s.value("perfadvisor_probe_http_connection_reused", t) == 1
    assert s.value("perfadvisor_probe_http_etag_present", t) == 1
    assert s.value("perfadvisor_probe_http_last_modified_present", t) == 1
    assert s.value("perfadvisor_probe_http_cache_max_age_seconds", t) == -1
    assert s.value("probe_http_last_modified_timestamp_seconds", t) > 1e9
    assert s.value("probe_http_redirects", t) == 0
    assert s.value("probe_http_ssl", t) == 0
    assert s.value("probe_ip_protocol", t) == 4
    assert s.value("probe_dns_lookup_time_seconds", t) >= 0
    phases = {x.labels["phase"]: x.value for x in s.samples("probe_http_duration_seconds")}
    assert set(phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert phases["tls"] == 0 and phases["connect"] > 0 and phases["processing"] > 0
    assert s.value("probe_duration_seconds", t) >= sum(phases.values())


def test_gzip_location(nginx):
    url = _url(nginx, "/gz/data.txt")
    s = scrape("http_probe", {"url": url})
    t = {"target": url}
    assert s.value("probe_success", t) == 1
    assert s.value("perfadvisor_probe_http_compressed", t) == 1
    assert s.value("probe_http_uncompressed_body_length", t) == len(BODY)
    assert s.value("perfadvisor_probe_http_body_bytes", t) < len(BODY) / 3
    assert s.value("probe_http_content_length", t) == -1  # gzip on the fly: chunked, no Content-Length
    assert s.value("perfadvisor_probe_http_cache_max_age_seconds", t) == 600
    assert s.value("perfadvisor_probe_http_connection_reused", t) == 1  # chunked body read to its end


def test_body_size_limit(nginx):
    url = _url(nginx, "/plain/data.txt")
    s = scrape("http_probe", {"url": url, "body_size_limit": 1000})
    assert s.value("probe_success", {"target": url}) == 0
    assert s.value("probe_http_status_code", {"target": url}) == 200


def test_gzip_location_without_accept_encoding(nginx):
    url = _url(nginx, "/gz/data.txt")
    s = scrape("http_probe", {"url": url, "accept_encoding": ""})
    assert s.value("perfadvisor_probe_http_compressed", {"target": url}) == 0


def test_connection_close_location(nginx):
    url = _url(nginx, "/close/data.txt")
    s = scrape("http_probe", {"url": url})
    assert s.value("probe_success", {"target": url}) == 1
    assert s.value("perfadvisor_probe_http_keepalive_offered", {"target": url}) == 0
    assert s.value("perfadvisor_probe_http_connection_reused", {"target": url}) is None


def test_redirect_and_status_codes(nginx):
    redirect, missing = _url(nginx, "/redirect"), _url(nginx, "/nope")
    s = scrape("http_probe", {"url": redirect}, {"url": missing})
    assert s.value("probe_http_redirects", {"target": redirect}) == 1
    assert s.value("probe_http_status_code", {"target": redirect}) == 200
    assert s.value("probe_success", {"target": redirect}) == 1
    assert s.value("probe_http_status_code", {"target": missing}) == 404
    assert s.value("probe_success", {"target": missing}) == 0
    accept_404 = scrape("http_probe", {"url": missing, "valid_status_codes": [404], "headers": {"X-Probe": "1"}})
    assert accept_404.value("probe_success", {"target": missing}) == 1
    unfollowed = scrape("http_probe", {"url": redirect, "no_follow_redirects": True})
    assert unfollowed.value("probe_http_status_code", {"target": redirect}) == 302
    assert unfollowed.value("probe_success", {"target": redirect}) == 0


def test_a_repeated_target_is_probed_once(nginx):
    url = _url(nginx, "/plain/data.txt")
    s = scrape("http_probe", {"url": url}, {"url": url, "accept_encoding": ""})
    assert len(s.samples("probe_success")) == 1


def test_credentials_stay_out_of_labels(nginx):
    url = f"http://probe:s3cret-pw@127.0.0.1:{nginx.port}/plain/data.txt"
    s = scrape("http_probe", {"url": url})
    assert s.value("probe_success", {"target": _url(nginx, "/plain/data.txt")}) == 1
    assert "s3cret-pw" not in s.text


def test_stub_status(nginx):
    for _ in range(5):
        requests.get(_url(nginx, "/plain/data.txt"), timeout=5)
    url = _url(nginx, "/stub_status")
    s = scrape("nginx", {"url": url})
    t = {"target": url}
    assert s.value("nginx_up", t) == 1
    assert s.value("nginx_http_requests_total", t) >= 6
    assert s.value("nginx_connections_accepted", t) >= 1
    assert s.value("nginx_connections_handled", t) == s.value("nginx_connections_accepted", t)
    assert s.value("nginx_connections_active", t) >= 1  # the stub_status request itself
    assert s.value("nginx_connections_writing", t) >= 1
    assert s.value("nginx_connections_reading", t) >= 0 and s.value("nginx_connections_waiting", t) >= 0
    assert s.families[[f.name for f in s.families].index("nginx_connections_accepted")].type == "unknown"


def test_not_a_stub_status_page_is_down(nginx):
    url = _url(nginx, "/plain/data.txt")
    assert scrape("nginx", {"url": url}).value("nginx_up", {"target": url}) == 0


def test_stopped_nginx(tmp_path):
    with start_nginx(tmp_path, SERVER, {"plain/data.txt": BODY}) as server:
        page, status = _url(server, "/plain/data.txt"), _url(server, "/stub_status")
        assert scrape("http_probe", {"url": page}).value("probe_success", {"target": page}) == 1
        stop_server(server)
        assert scrape("http_probe", {"url": page, "timeout": "1s"}).value("probe_success", {"target": page}) == 0
        assert scrape("nginx", {"url": status, "timeout": "1s"}).value("nginx_up", {"target": status}) == 0


def test_hung_and_closed_targets(hung_port, closed_port, nginx):
    hung, closed, good = f"http://127.0.0.1:{hung_port}/", f"http://127.0.0.1:{closed_port}/", _url(nginx, "/plain/data.txt")
    s = scrape("http_probe", {"url": hung, "timeout": "1s"}, {"url": closed, "timeout": "1s"}, {"url": good})
    assert s.value("probe_success", {"target": hung}) == 0
    assert s.value("probe_success", {"target": closed}) == 0
    assert s.value("probe_success", {"target": good}) == 1
    assert s.value("probe_http_status_code", {"target": hung}) == 0
    assert s.seconds < 5  # the hung target costs its 1 s timeout, not more
    n = scrape("nginx", {"url": hung, "timeout": "1s"})
    assert n.value("nginx_up", {"target": hung}) == 0 and n.seconds < 5


def test_https_probe(tmp_path):
    import time

    from tests.support.services import self_signed_cert

    cert, key = self_signed_cert(tmp_path, days=30)
    with start_nginx(tmp_path / "tls", SERVER, {"plain/data.txt": BODY}, tls=(cert, key)) as server:
        url = f"https://127.0.0.1:{server.port}/plain/data.txt"
        s = scrape("http_probe", {"url": url, "ca_file": str(cert)})
        t = {"target": url}
        assert s.value("probe_success", t) == 1
        assert s.value("probe_http_ssl", t) == 1
        expiry = s.value("probe_ssl_earliest_cert_expiry", t)
        assert 29 * 86400 < expiry - time.time() <= 30 * 86400
        phases = {x.labels["phase"]: x.value for x in s.samples("probe_http_duration_seconds")}
        assert phases["tls"] > 0
        assert [x.labels["version"] for x in s.samples("probe_tls_version_info")] in (["TLS 1.2"], ["TLS 1.3"])
        assert s.value("perfadvisor_probe_http_connection_reused", t) == 1
        # without the CA the certificate does not verify: the probe fails, unless verification is off
        assert scrape("http_probe", {"url": url}).value("probe_success", t) == 0
        insecure = scrape("http_probe", {"url": url, "insecure_skip_verify": True})
        assert insecure.value("probe_success", t) == 1
