"""Small services on real application runtimes, each publishing its client library's default metrics on a free
loopback port: Node.js with prom-client, Python with prometheus_client, Go with client_golang.

Each runs in one of two modes: `leak` (the problem the runtime pack must find) or `healthy` (the same work,
released). Nothing is vendored: prom-client is installed from the npm registry into a cache outside the
repository (`scripts/install-test-deps` does it ahead of time), and the Go service is built offline against
Debian's golang-github-prometheus-client-golang-dev sources.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .procs import IN_CI, free_port, need_binary, stop, wait_http

CACHE = Path(os.environ.get("PERFADVISOR_TEST_CACHE") or
             Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perfadvisor-tests")
PROM_CLIENT = "prom-client@15"
GOPATH = Path("/usr/share/gocode")   # Debian's Go library sources (golang-*-dev packages)

# Every 100 ms: short-lived garbage (so the collector runs), and a timer whose closure holds ~160 KB of heap.
# `leak` never clears the timer, so the timers and the heap they keep grow; `healthy` clears it at once.
# Two more modes hold the event loop: `busy` computes for 190 of every 200 ms (its one thread saturated),
# `blocking` sleeps synchronously for 150 of every 200 ms (Atomics.wait, as a synchronous call would: no CPU).
NODE_SERVICE = r"""
const http = require('http');
const client = require('prom-client');
const [port, title, mode] = process.argv.slice(2);
process.title = title;            // the command name process-exporter groups by
client.collectDefaultMetrics();
setInterval(() => {
  const junk = [];
  for (let i = 0; i < 20000; i++) junk.push({ i, s: "x" + i });
  const data = new Array(20000).fill(0).map((_, i) => i * 1.5);
  const timer = setInterval(() => data.length, 3600 * 1000);
  if (mode !== 'leak') clearInterval(timer);
}, 100);
if (mode === 'busy') setInterval(() => { const end = Date.now() + 190; while (Date.now() < end); }, 200);
if (mode === 'blocking') {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  setInterval(() => Atomics.wait(cell, 0, 0, 150), 200);
}
http.createServer(async (req, res) => {
  res.setHeader('Content-Type', client.register.contentType);
  res.end(await client.register.metrics());
}).listen(Number(port), '127.0.0.1');
"""

# Every 25 ms, 250 dicts (10,000 a second): `leak` keeps them, so a generation-0 collection runs every ~700 and
# finds nothing to free; `healthy` drops each batch before the next (reference counting frees it, the cyclic
# collector never runs: fewer than 700 objects are ever outstanding).
PYTHON_SERVICE = r"""
import sys, time
from prometheus_client import start_http_server
port, name, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
open("/proc/self/comm", "w").write(name)
start_http_server(port, addr="127.0.0.1")
kept = []
while True:
    batch = [{"i": i, "name": "item"} for i in range(250)]
    if mode == "leak":
        kept.extend(batch)
    del batch
    time.sleep(0.025)
"""

# `leak` starts a goroutine every 20 ms that waits forever on a channel nobody sends to.
GO_SERVICE = r"""
package main

import (
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	if os.Args[2] == "leak" {
		go func() {
			for {
				ch := make(chan int)
				go func() { <-ch }()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	http.Handle("/metrics", promhttp.Handler())
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		panic(err)
	}
}
"""


@dataclass(frozen=True)
class Service:
    address: str      # host:port of /metrics
    name: str         # the process' command name (what process-exporter groups it by)
    proc: subprocess.Popen


def _missing(msg: str):
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def prom_client_modules() -> Path:
    """node_modules holding prom-client, installed into the cache on first use (npm registry)."""
    prefix = CACHE / "node"
    modules = prefix / "node_modules"
    if (modules / "prom-client" / "package.json").exists():
        return modules
    npm = need_binary("npm")
    prefix.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                        PROM_CLIENT], capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not (modules / "prom-client").exists():
        _missing(f"npm install {PROM_CLIENT} failed (scripts/install-test-deps installs it): {r.stderr[-500:]}")
    return modules


def go_service_binary() -> Path:
    """The Go service, built once into the cache with Debian's client_golang sources (no network)."""
    out = CACHE / "go" / "runtime-service"
    src = CACHE / "go" / "main.go"
    if out.exists() and src.exists() and src.read_text() == GO_SERVICE:
        return out
    go = need_binary("go")
    if not (GOPATH / "src/github.com/prometheus/client_golang/prometheus/promhttp").is_dir():
        _missing("client_golang sources missing: apt-get install golang-github-prometheus-client-golang-dev "
                 "(scripts/install-test-deps installs it)")
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(GO_SERVICE)
    # GOPATH mode: the imports resolve to Debian's sources, nothing is fetched.
    env = {**os.environ, "GOPATH": str(GOPATH), "GO111MODULE": "off", "GOFLAGS": "",
           "GOCACHE": str(CACHE / "go" / "build-cache")}
    r = subprocess.run([go, "build", "-o", str(out), str(src)], capture_output=True, text=True, timeout=600,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError(f"go build of the test service failed: {r.stderr[-2000:]}")
    return out


@contextlib.contextmanager
def _serve(cmd: list[str], name: str, log: Path, port: int, env: dict | None = None) -> Iterator[Service]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    address = f"127.0.0.1:{port}"
    try:
        try:
            wait_http(f"http://{address}/metrics", proc=proc, timeout=60)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"{cmd[0]}: {e}\n{log.read_text(errors='replace')[-2000:]}") from None
        yield Service(address, name, proc)
    finally:
        stop(proc)


def node_service(tmp: Path, name: str, mode: str) -> contextlib.AbstractContextManager[Service]:
    """A Node.js service with prom-client's default metrics, named `name` (≤ 15 characters), leaking timers and
    the heap they hold (`leak`) or not (`healthy`), or holding its event loop on the CPU (`busy`) or in a
    synchronous wait (`blocking`)."""
    node = need_binary("node", hint="apt-get install nodejs (scripts/install-test-deps installs it)")
    env = {**os.environ, "NODE_PATH": str(prom_client_modules())}
    script = tmp / f"{name}.js"
    tmp.mkdir(parents=True, exist_ok=True)
    script.write_text(NODE_SERVICE)
    port = free_port()
    return _serve([node, str(script), str(port), name, mode], name, tmp / f"{name}.log", port, env)


def python_service(tmp: Path, name: str, mode: str) -> contextlib.AbstractContextManager[Service]:
    """A Python service with prometheus_client's default collectors, keeping the objects it allocates (`leak`)
    or not (`healthy`)."""
    port = free_port()
    return _serve([sys.executable, "-c", PYTHON_SERVICE, str(port), name, mode], name, tmp / f"{name}.log", port)


def go_service(tmp: Path, name: str, mode: str) -> contextlib.AbstractContextManager[Service]:
    """A Go service with client_golang's default collectors, leaking goroutines (`leak`) or not (`healthy`)."""
    binary = go_service_binary()
    port = free_port()
    return _serve([str(binary), f"127.0.0.1:{port}", mode], name, tmp / f"{name}.log", port)
