"""A real Alertmanager on a free loopback port, and a webhook receiver that records what it is sent."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

from .procs import free_port, need_binary, stop, wait_http


@dataclass
class Webhook:
    """Records each notification as (path, payload); Alertmanager posts one JSON document per group."""

    server: ThreadingHTTPServer
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def alerts(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every alert delivered (to path, if given), with the notification's status on each."""
        return [dict(a, notification_status=p["status"]) for got, p in list(self.received)
                if path in (None, got) for a in p["alerts"]]

    def wait_for(self, pred, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until pred(alerts) is truthy; return the alerts then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.alerts()):
                return self.alerts()
            time.sleep(0.2)
        raise TimeoutError(f"webhook never saw the expected alerts; got {self.received}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Webhook":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_webhook() -> Webhook:
    """A webhook receiver on a free loopback port; the caller stops it (or uses `with`)."""
    hook: Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # keep test output clean
            pass

    hook = Webhook(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    threading.Thread(target=hook.server.serve_forever, daemon=True).start()
    return hook


def fast(config: dict[str, Any], webhook_url: str) -> dict[str, Any]:
    """The config with every webhook sent to webhook_url (same paths) and notifications after ~1 s."""
    def walk(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route or route is config["route"]:
                route[key] = "1s"
        for child in route.get("routes", []):
            walk(child)

    walk(config["route"])
    for r in config["receivers"]:
        for w in r.get("webhook_configs", []):
            w["url"] = webhook_url + "/" + w["url"].split("/", 3)[3]
    return config


@dataclass
class Alertmanager:
    url: str
    proc: subprocess.Popen

    def post(self, *alerts: dict[str, Any]) -> None:
        requests.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10).raise_for_status()

    def alerts(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/api/v2/alerts", timeout=10).json()

    def stop(self) -> None:
        stop(self.proc)

    def __enter__(self) -> "Alertmanager":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_alertmanager(tmp: Path, config: dict[str, Any]) -> Alertmanager:
    """Alertmanager with config, storage in tmp, clustering off; the caller stops it (or uses `with`)."""
    binary = need_binary("prometheus-alertmanager", "alertmanager")
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={path}", f"--storage.path={tmp / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=warn"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", proc=proc)
    except Exception:
        stop(proc)
        raise
    return Alertmanager(url, proc)
