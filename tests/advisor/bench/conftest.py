"""Fixtures for bench tests: a real nginx serving a small file, and the stall server with a known pattern."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.support.procs import stop, wait_port
from tests.support.services import start_nginx

STALL_SERVER = Path(__file__).with_name("stallserver.py")


def advisor(*args: str):
    """The CLI in-process, as a user runs it: click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False,
                              env={"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None})


@pytest.fixture(scope="package")
def nginx(tmp_path_factory):
    """nginx with /index.html (12 bytes) and /status (stub_status); its access log is <dir>/logs/access.log."""
    tmp = tmp_path_factory.mktemp("bench-nginx")
    body = "        location = /status { stub_status; access_log off; }\n"
    with start_nginx(tmp, body, files={"index.html": b"hello bench\n"}) as server:
        yield server


@contextlib.contextmanager
def stall_server(stall: float = 0.0, period: float = 1.0, delay: float = 0.0, chunked: bool = False) -> Iterator[str]:
    """The stall server on a free port; yields its base URL."""
    proc = subprocess.Popen([sys.executable, str(STALL_SERVER), "--stall", str(stall), "--period", str(period),
                             "--delay", str(delay)] + (["--chunked"] if chunked else []),
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        wait_port(port, timeout=10)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)
