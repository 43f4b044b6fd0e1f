"""Real Redis, PostgreSQL, nginx and HAProxy servers for tests: 127.0.0.1, free ports, temp dirs, stopped after.

Each ``start_*`` is a context manager that stops what it started; the pytest fixtures at the bottom wrap them
(import them into a conftest.py). PostgreSQL refuses to run as root, so under root it runs as the ``postgres``
system user (Debian's package creates it) in a temp dir that user owns.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .procs import closed_port as _closed_port
from .procs import free_port, need_binary, stop, wait_http, wait_port

PG_BIN = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class Server:
    """A started server: where it listens, and its process."""

    port: int
    proc: subprocess.Popen
    dir: Path
    extra: dict

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _output(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=1)
    except Exception:
        return ""
    return (out or b"").decode(errors="replace")[-2000:]


@contextlib.contextmanager
def start_redis(tmp: Path, *args: str, password: str | None = None) -> Iterator[Server]:
    """redis-server in the foreground, no persistence; ``args`` are extra config options (``--maxmemory 2mb``)."""
    binary = need_binary("redis-server")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(tmp), "--daemonize", "no", *args]
    if password:
        cmd += ["--requirepass", password]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=20)
        yield Server(port, proc, tmp, {"password": password})
    finally:
        stop(proc)


def _pg_bin(name: str) -> str:
    return need_binary(name, f"{PG_BIN}/{name}")


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run as the postgres user when we are root (postgres refuses root)."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the 'postgres' system user (apt-get install postgresql)")
    return [need_binary("runuser"), "-u", "postgres", "--", *cmd]


@contextlib.contextmanager
def start_postgres(password: str = "probe-secret", settings: dict[str, str] | None = None) -> Iterator[Server]:
    """A throw-away PostgreSQL cluster: TCP on 127.0.0.1 needs the password (scram), the unix socket trusts.

    ``extra``: socket_dir, password, user ("postgres"), and ``psql(sql, db)`` helpers are left to the caller.
    """
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    base = Path(tempfile.mkdtemp(prefix="perfadvisor-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    pwfile = base / "pw"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        ent = pwd.getpwnam("postgres")
        for p in (base, sock, pwfile):
            os.chown(p, ent.pw_uid, ent.pw_gid)
    port = free_port()
    proc = None
    try:
        r = subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                                         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                         "--no-sync"]), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr[-2000:]}")
        conf = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(sock),
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "shared_preload_libraries": "pg_stat_statements", "logging_collector": "off",
                **(settings or {})}
        args = [postgres, "-D", str(data)]
        for k, v in conf.items():
            args += ["-c", f"{k}={v}"]
        proc = subprocess.Popen(_as_postgres(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        pg_isready = _pg_bin("pg_isready")
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {_output(proc)}")
            if subprocess.run([pg_isready, "-h", str(sock), "-p", str(port), "-q"]).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("postgres did not become ready in 60s")
            time.sleep(0.2)
        yield Server(port, proc, base, {"socket_dir": str(sock), "password": password, "user": "postgres"})
    finally:
        if proc is not None:
            _stop_postgres(data, proc)
        shutil.rmtree(base, ignore_errors=True)


def _stop_postgres(data: Path, proc: subprocess.Popen) -> None:
    # runuser does not forward every signal; signal the postmaster we started directly (fast shutdown).
    pidfile = data / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(pidfile.read_text().splitlines()[0]), signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        stop(proc)


def stop_server(server: Server) -> None:
    """Stop a server mid-test (the context manager's cleanup then finds it gone)."""
    pidfile = server.dir / "data" / "postmaster.pid"
    if pidfile.exists():
        _stop_postgres(server.dir / "data", server.proc)
    else:
        stop(server.proc)


@contextlib.contextmanager
def start_nginx(tmp: Path, server_body: str, files: dict[str, bytes] | None = None,
                tls: tuple[Path, Path] | None = None) -> Iterator[Server]:
    """nginx in the foreground with its own prefix; ``server_body`` goes inside ``server { listen ...; }``.

    ``files`` are written under ``<tmp>/html`` (the server's root); ``tls`` = (cert, key) serves https.
    """
    binary = need_binary("nginx", "/usr/sbin/nginx")
    port = free_port()
    root = tmp / "html"
    root.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    (tmp / "logs").mkdir(exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 pytest temp dir
    conf = tmp / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/logs/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    keepalive_timeout 30s;
    server {{
        listen 127.0.0.1:{port}{" ssl" if tls else ""};
        {f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};" if tls else ""}
        root {root};
{server_body}
    }}
}}
""")
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(conf), "-e", f"{tmp}/logs/error.log",
                             "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=20)
        yield Server(port, proc, tmp, {"root": root})
    finally:
        stop(proc)


def self_signed_cert(tmp: Path, days: int = 30) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (it is its own CA for the client)."""
    openssl = need_binary("openssl")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", str(days), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def start_haproxy(tmp: Path, body: str, stats_port: int | None = None) -> Iterator[Server]:
    """HAProxy in the foreground: ``body`` holds frontends/backends; a stats listener on ``stats_port`` serves
    the CSV page at /stats;csv and HAProxy's own Prometheus exporter at /metrics; a stats socket at
    ``extra["socket"]``."""
    binary = need_binary("haproxy", "/usr/sbin/haproxy")
    stats_port = stats_port or free_port()
    sock = tmp / "haproxy.sock"
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(f"""global
    maxconn 256
    stats socket {sock} mode 600 level admin
    pidfile {tmp}/haproxy.pid

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend stats_fe
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
    http-request use-service prometheus-exporter if {{ path /metrics }}

{body}
""")
    check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy config invalid: {check.stdout}{check.stderr}")
    proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=20, proc=proc)
        yield Server(stats_port, proc, tmp, {"socket": str(sock)})
    finally:
        stop(proc)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Server]:
    """Redis with a 2 MB allkeys-lru memory limit and a password (so evictions happen quickly)."""
    with start_redis(tmp_path, "--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru",
                     password="redis-secret") as s:
        yield s


@pytest.fixture
def postgres_server() -> Iterator[Server]:
    with start_postgres() as s:
        yield s


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: the shape of a hung server."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)  # the kernel completes handshakes from the backlog; nobody ever reads or writes
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@pytest.fixture
def hung_port() -> Iterator[int]:
    with silent_listener() as port:
        yield port


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port where connections are refused, held bound for the test (see procs.closed_port)."""
    with _closed_port() as port:
        yield port
