"""A real Prometheus scraping our exporter, with the advisor's textfile metrics in its textfile directory."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml

from tests.support.exporter import Scraped, exporter_binary, scraped_exporter
from tests.support.procs import free_port, need_binary
from tests.support.services import self_signed_cert, start_haproxy, start_nginx, start_postgres, start_redis


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


def _scrape(tmp: Path, binary: str, *args: str) -> Iterator[Scraped]:
    """An exporter (binary + args) with the advisor's textfile metrics, scraped by Prometheus as job "node"."""
    textfile_dir = tmp / "textfile"
    textfile_dir.mkdir()
    (textfile_dir / "advisor.prom").write_text(advisor_textfile(time.time()))
    with scraped_exporter(tmp, binary, f"--collector.textfile.directory={textfile_dir}", "--log.level=warn", *args,
                          job="node") as scraped:
        yield scraped


@pytest.fixture(scope="package")
def scraped(tmp_path_factory) -> Iterator[Scraped]:
    """Our exporter with its default collectors."""
    yield from _scrape(tmp_path_factory.mktemp("grafana"), exporter_binary())


@pytest.fixture(scope="package")
def node_exporter_scraped(tmp_path_factory) -> Iterator[Scraped]:
    """The real node_exporter (Debian package), to show the dashboards do not depend on our exporter."""
    yield from _scrape(tmp_path_factory.mktemp("node-exporter"), need_binary("prometheus-node-exporter"))


@pytest.fixture(scope="package")
def services_scraped(tmp_path_factory) -> Iterator[Scraped]:
    """Our exporter probing a real nginx (HTTP, HTTPS, stub_status), HAProxy in front of it, Redis and
    PostgreSQL, with a little traffic so rates and ratios have something to show."""
    tmp = tmp_path_factory.mktemp("services")
    cert, key = self_signed_cert(tmp)
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
        yield from _scrape(tmp / "scrape", exporter_binary(), f"--config={tmp / 'exporter.yaml'}")


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
