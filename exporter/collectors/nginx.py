"""nginx: stub_status pages, with nginx-prometheus-exporter's metric names (nginx_up, nginx_connections_*).

nginx-prometheus-exporter serves one nginx per process and adds no target label; this collector reads many
pages in one scrape, so every series carries ``target`` (the URL without credentials).
nginx_connections_accepted/handled are counters upstream without a _total suffix; prometheus_client cannot
write such a counter, so they are exposed untyped under the exact upstream name (rate() works the same).
"""
from __future__ import annotations

import re
from typing import Any, Mapping


from ._probe import (SECRET_SCHEMA, TIMEOUT_SCHEMA, Families, ProbeCollector, redact_url, resolve_secret,
                     targets_schema)
from ..registry import Family, register

_STUB = re.compile(
    r"Active connections:\s*(\d+)\s*server accepts handled requests\s*(\d+)\s+(\d+)\s+(\d+)\s*"
    r"Reading:\s*(\d+)\s*Writing:\s*(\d+)\s*Waiting:\s*(\d+)", re.S)


def parse_stub_status(text: str) -> dict[str, int]:
    """The numbers of an nginx stub_status page; ValueError when the text is not one."""
    m = _STUB.search(text)
    if not m:
        raise ValueError("response is not an nginx stub_status page")
    keys = ("active", "accepted", "handled", "requests", "reading", "writing", "waiting")
    return dict(zip(keys, map(int, m.groups())))


def _labels(target: Mapping[str, Any]) -> dict[str, str]:
    return {"target": redact_url(target["url"])}


def _down(target: Mapping[str, Any], why: str) -> Families:
    f = Families()
    f.gauge("nginx_up", "Whether the stub_status page could be read (1) or not (0).", _labels(target), 0)
    return f


def probe(target: Mapping[str, Any], timeout: float) -> Families:
    """Read one stub_status page."""
    user = target.get("username")
    auth = (user, resolve_secret(target) or "") if user else None
    import requests  # only when a target is probed: requests + urllib3 are ~6 MB of RSS

    r = requests.get(target["url"], timeout=timeout, auth=auth, verify=target.get("ca_file", True),
                     allow_redirects=False)
    r.raise_for_status()
    s = parse_stub_status(r.text)
    lab = _labels(target)
    f = Families()
    f.gauge("nginx_up", "Whether the stub_status page could be read (1) or not (0).", lab, 1)
    f.gauge("nginx_connections_active", "Active client connections.", lab, s["active"])
    f.untyped("nginx_connections_accepted", "Accepted client connections (counter).", lab, s["accepted"])
    f.untyped("nginx_connections_handled", "Handled client connections (counter).", lab, s["handled"])
    f.gauge("nginx_connections_reading", "Connections where nginx is reading the request header.", lab, s["reading"])
    f.gauge("nginx_connections_writing", "Connections where nginx is writing the response.", lab, s["writing"])
    f.gauge("nginx_connections_waiting", "Idle client connections (keep-alive).", lab, s["waiting"])
    f.counter("nginx_http_requests_total", "Total http requests.", lab, s["requests"])
    return f


@register("nginx", default=False, help="nginx stub_status pages (nginx-prometheus-exporter names).",
          config_schema=targets_schema({
              "url": {"type": "string", "description": "stub_status URL, e.g. http://127.0.0.1/stub_status"},
              "timeout": TIMEOUT_SCHEMA,
              "username": {"type": "string", "description": "Basic auth user."},
              "ca_file": {"type": "string", "description": "CA bundle for https."},
              **SECRET_SCHEMA}, required=["url"]))
class NginxCollector(ProbeCollector):
    families = (
        Family("nginx_up", "gauge", ("target",)),
        Family("nginx_connections_{active,reading,writing,waiting}", "gauge", ("target",)),
        Family("nginx_connections_{accepted,handled}", "untyped", ("target",)),
        Family("nginx_http_requests_total", "counter", ("target",)),
    )

    name = "nginx"
    probe = staticmethod(probe)
    down = staticmethod(_down)

    def label(self, target: Mapping[str, Any]) -> str:
        return redact_url(target["url"])
