"""A real Prometheus scraping our exporter, with the advisor's textfile metrics in its textfile directory."""
from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.prometheus import PrometheusServer, start_prometheus

REPO = Path(__file__).resolve().parents[2]
EXPORTER = REPO / ".venv" / "bin" / "perfadvisor-exporter"


def advisor_textfile(now: float) -> str:
    """What `advisor run --textfile DIR` writes: the metric names the advisor dashboard reads."""
    return f"""\
# HELP perfadvisor_advisor_score Advisor score 0-100 per dimension; dimension="overall" is the total.
# TYPE perfadvisor_advisor_score gauge
perfadvisor_advisor_score{{dimension="overall"}} 72
perfadvisor_advisor_score{{dimension="cpu"}} 90
perfadvisor_advisor_score{{dimension="memory"}} 55
# HELP perfadvisor_advisor_findings Findings of the last run.
# TYPE perfadvisor_advisor_findings gauge
perfadvisor_advisor_findings{{category="optimization",dimension="memory",severity="warning"}} 2
perfadvisor_advisor_findings{{category="alert",dimension="memory",severity="critical"}} 1
# HELP perfadvisor_advisor_finding_info One series per finding of the last run.
# TYPE perfadvisor_advisor_finding_info gauge
perfadvisor_advisor_finding_info{{pack="host",rule="memory_pressure",severity="critical",category="alert",dimension="memory",target="web-1",title="Memory pressure stalls tasks"}} 1
# HELP perfadvisor_advisor_rules Rules of the last run by whether they could be evaluated.
# TYPE perfadvisor_advisor_rules gauge
perfadvisor_advisor_rules{{state="evaluated"}} 10
perfadvisor_advisor_rules{{state="not_evaluated"}} 2
# HELP perfadvisor_advisor_last_run_timestamp_seconds When the last advisor run finished.
# TYPE perfadvisor_advisor_last_run_timestamp_seconds gauge
perfadvisor_advisor_last_run_timestamp_seconds {now:.3f}
"""


@dataclass
class Scraped:
    prometheus: PrometheusServer
    exporter: str
    textfile_dir: Path


def _scrape(tmp: Path, binary: str, *args: str):
    """Start an exporter (binary + args, listening on a free port) and a Prometheus scraping it."""
    textfile_dir = tmp / "textfile"
    textfile_dir.mkdir()
    (textfile_dir / "advisor.prom").write_text(advisor_textfile(time.time()))
    port = free_port()
    exporter = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", f"--collector.textfile.directory={textfile_dir}",
         "--log.level=warn", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    prom = None
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", proc=exporter)
        prom = start_prometheus(tmp / "prometheus", {"node": [f"127.0.0.1:{port}"]}, metrics_path="/metrics")
        yield Scraped(prom, f"127.0.0.1:{port}", textfile_dir)
    finally:
        if prom is not None:
            prom.stop()
        stop(exporter)


@pytest.fixture(scope="package")
def scraped(tmp_path_factory) -> Scraped:
    """Our exporter with its default collectors."""
    if not EXPORTER.exists():
        pytest.fail(f"{EXPORTER} missing: run scripts/bootstrap --test")
    yield from _scrape(tmp_path_factory.mktemp("grafana"), str(EXPORTER))


@pytest.fixture(scope="package")
def node_exporter_scraped(tmp_path_factory) -> Scraped:
    """The real node_exporter (Debian package), to show the dashboards do not depend on our exporter."""
    yield from _scrape(tmp_path_factory.mktemp("node-exporter"), need_binary("prometheus-node-exporter"))


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 valid 30 days, and its key (the probe trusts it through ca_file)."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run([need_binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="package")
def services_scraped(tmp_path_factory) -> Scraped:
    """Our exporter probing a real nginx (HTTP, HTTPS, stub_status), HAProxy in front of it, Redis and
    PostgreSQL, with a little traffic so rates and ratios have something to show."""
    from tests.support.services import start_haproxy, start_nginx, start_postgres, start_redis

    tmp = tmp_path_factory.mktemp("services")
    cert, key = _self_signed(tmp)
    tls_port, fe_port = free_port(), free_port()
    for d in ("nginx", "haproxy", "redis", "scrape"):
        (tmp / d).mkdir()
    with contextlib.ExitStack() as stack:
        nginx = stack.enter_context(start_nginx(tmp / "nginx", f"""
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location = /stub_status {{ stub_status; }}
        location / {{ return 200 "ok\\n"; }}
"""))
        haproxy = stack.enter_context(start_haproxy(tmp / "haproxy", f"""
frontend web
    bind 127.0.0.1:{fe_port}
    default_backend app

backend app
    server nginx1 {nginx.address} check inter 1s
"""))
        redis = stack.enter_context(start_redis(tmp / "redis", "--maxmemory", "2mb", password="redis-secret"))
        pg = stack.enter_context(start_postgres())
        config = {
            "collectors": {"http_probe": True, "redis": True, "postgres": True, "haproxy": True, "nginx": True},
            "collectors_config": {
                "http_probe": {"targets": [{"url": f"http://{nginx.address}/"},
                                           {"url": f"https://127.0.0.1:{tls_port}/", "ca_file": str(cert)}]},
                "nginx": {"targets": [{"url": f"http://{nginx.address}/stub_status"}]},
                "haproxy": {"targets": [{"url": f"http://{haproxy.address}/stats;csv"}]},
                "redis": {"targets": [{"address": redis.address, "password": "redis-secret"}]},
                "postgres": {"targets": [{"dsn": f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres",
                                          "password": pg.extra["password"]}]},
            },
        }
        (tmp / "exporter.yaml").write_text(yaml.safe_dump(config))
        _traffic(fe_port, redis.port, "redis-secret")
        yield from _scrape(tmp / "scrape", str(EXPORTER), f"--config={tmp / 'exporter.yaml'}")


def _traffic(haproxy_port: int, redis_port: int, redis_password: str) -> None:
    """A few requests through HAProxy and Redis hits and misses."""
    import redis as redis_client

    for _ in range(5):
        requests.get(f"http://127.0.0.1:{haproxy_port}/", timeout=5)
    r = redis_client.Redis(host="127.0.0.1", port=redis_port, password=redis_password)
    r.set("k", "v")
    for key in ("k", "k", "missing"):
        r.get(key)
    r.close()
