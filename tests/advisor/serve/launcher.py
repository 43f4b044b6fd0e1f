"""`advisor serve` as a real process on a free loopback port, and clients for its event streams."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import requests

from tests.support.procs import free_port, stop, wait_http


def advisor_binary() -> str:
    return str(Path(sys.executable).with_name("advisor"))


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path
    auth: tuple[str, str] | None = None
    verify: str | bool = True     # the CA file of a TLS server

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("auth", self.auth)
        return requests.get(self.url + path, timeout=30, verify=self.verify, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("auth", self.auth)
        return requests.post(self.url + path, timeout=60, verify=self.verify, **kw)

    def json(self, path: str) -> dict:
        r = self.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.json()

    def wait(self, predicate, timeout: float = 60.0, what: str = "condition", step: float = 0.25):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            if self.proc.poll() is not None:
                raise RuntimeError(f"advisor serve exited with {self.proc.returncode}: {self.output()[-3000:]}")
            time.sleep(step)
        raise TimeoutError(f"{what} not reached in {timeout}s; serve log tail:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        stop(self.proc, timeout=30)
        return self.proc.returncode


@contextlib.contextmanager
def serving(tmp: Path, *args: str, port: int | None = None, auth: tuple[str, str] | None = None,
            env: dict | None = None, ready_timeout: float = 60.0, ca: str | None = None) -> Iterator[Served]:
    """Run `advisor serve --web.listen-address 127.0.0.1:PORT *args` until /health/live answers; stop it after.

    `ca`: the server speaks TLS with a certificate this CA file verifies."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = tmp / f"serve-{port}-{time.monotonic_ns()}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFADVISOR_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([advisor_binary(), "serve", f"--web.listen-address=127.0.0.1:{port}", *args],
                                stdout=out, stderr=subprocess.STDOUT, env={**clean, **(env or {})}, cwd=tmp)
    served = Served(f"{'https' if ca else 'http'}://127.0.0.1:{port}", proc, log, auth, ca or True)
    try:
        try:
            wait_http(f"{served.url}/health/live", proc=proc, timeout=ready_timeout, verify=served.verify)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"advisor serve did not start: {e}\n{served.output()[-3000:]}") from None
        yield served
    finally:
        stop(proc, timeout=30)


class SSEReader:
    """Reads /api/performance/stream in a thread, collecting the events."""

    def __init__(self, url: str, auth=None):
        self.events: list[dict] = []
        self._resp = requests.get(url + "/api/performance/stream", stream=True, timeout=(5, 120), auth=auth)
        assert self._resp.status_code == 200 and self._resp.headers["content-type"].startswith("text/event-stream")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._resp.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    self.events.append(json.loads(line[6:]))
        except (requests.RequestException, ValueError, AttributeError):
            pass

    def close(self) -> None:
        self._resp.close()


class WSReader:
    """Reads /api/performance/ws in a thread (the websockets library's sync client)."""

    def __init__(self, url: str):
        from websockets.sync.client import connect
        self.events: list[dict] = []
        self._cm = connect(url.replace("http://", "ws://") + "/api/performance/ws", open_timeout=10)
        self._ws = self._cm.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for msg in self._ws:
                self.events.append(json.loads(msg))
        except Exception:  # noqa: BLE001 - the connection closing ends the reader
            pass

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl), the certificate being its own CA."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key
