"""Free ports, waiting for servers, and finding binaries: locally a missing one skips, in CI it fails."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time

import pytest
import requests

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def closed_port():
    """A port on 127.0.0.1 where connections are refused, reserved for the block.

    The socket is bound but never listens: connecting gets ECONNREFUSED, and no server started meanwhile (which
    picks its own free port) can take the number, as it could after a plain free_port().
    """
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]
    finally:
        s.close()


def need_binary(name: str, *candidates: str, hint: str = "scripts/install-test-deps installs it") -> str:
    """Path of a required binary. Missing: pytest.fail in CI (never a silent skip), pytest.skip locally."""
    for c in (name, *candidates):
        for hit in sorted(glob.glob(c)) if any(ch in c for ch in "*?[") else [shutil.which(c) or (c if os.path.isabs(c) and os.access(c, os.X_OK) else None)]:
            if hit and os.access(hit, os.X_OK):
                return hit
    msg = f"required binary {name!r} not found ({hint})"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def wait_http(url: str, timeout: float = 30.0, ok=(200,), proc: subprocess.Popen | None = None, **kw) -> requests.Response:
    """Poll url until it answers with a status in ok; fail with the process' output if it dies first."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else b""
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered: {out[-2000:]!r}")
        try:
            r = requests.get(url, timeout=2, **kw)
            if r.status_code in ok:
                return r
            last = r.status_code
        except requests.RequestException as e:
            last = e
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout}s (last: {last})")


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{host}:{port} not listening after {timeout}s")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a process we started, kill it if it does not go."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
