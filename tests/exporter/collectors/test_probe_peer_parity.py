"""Our probe collectors next to the exporters whose names they speak (Debian's redis_exporter,
postgres_exporter, nginx-prometheus-exporter, blackbox_exporter), against the same real server: every family
we publish that is not ``perfadvisor_*`` exists in the upstream exporter's output with the same label names
(plus our per-target label), in each state the probe can report (up, down, TLS), and values that cannot drift
between two reads agree. (HAProxy: test_haproxy.py, against HAProxy's built-in exporter.)"""
from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict

import psycopg
import redis as redis_client
import requests

from tests.support.procs import closed_port, free_port, need_binary, stop, wait_http
from tests.support.services import self_signed_cert, start_nginx, start_postgres, start_redis

from .conftest import scrape

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def series(text: str, drop: tuple[str, ...] = ()) -> dict[str, dict[tuple, float]]:
    """name -> {sorted (label, value) pairs: value}, from the text format as written (no _total renaming)."""
    out: dict[str, dict[tuple, float]] = defaultdict(dict)
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and not line.startswith("#"):
            labels = tuple(sorted((k, v) for k, v in _LABEL.findall(m.group(2) or "") if k not in drop))
            out[m.group(1)][labels] = float(m.group(3))
    return out


def label_names(fam: dict[tuple, float]) -> set[tuple[str, ...]]:
    return {tuple(k for k, _ in labels) for labels in fam}


def peer_text(cmd: list[str], url: str, env: dict | None = None, params: dict | None = None) -> str:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        wait_http(url.split("?")[0].rsplit("/", 1)[0] + "/metrics", proc=proc)
        return requests.get(url, params=params, timeout=10).text
    finally:
        stop(proc)


def assert_names_match(ours: dict, theirs: dict, newer: frozenset = frozenset()):
    """Every non-perfadvisor_ family of ours is in the upstream output (or, for postgres, in ``newer``)."""
    unknown = sorted(n for n in ours if not n.startswith("perfadvisor_") and n not in theirs and n not in newer)
    assert unknown == [], f"not names the upstream exporter publishes: {unknown}"
    checked = 0
    for name, fam in ours.items():
        if name in theirs:
            assert label_names(fam) <= label_names(theirs[name]), (name, label_names(fam), label_names(theirs[name]))
            checked += 1
    return checked


def merged(*scrapes: dict) -> dict:
    out: dict = defaultdict(dict)
    for one in scrapes:
        for name, fam in one.items():
            out[name].update(fam)
    return out


def test_redis_matches_redis_exporter(tmp_path):
    binary = need_binary("prometheus-redis-exporter", "redis_exporter")
    with start_redis(tmp_path, "--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru") as server:
        r = redis_client.Redis(port=server.port)
        for i in range(400):
            r.set(f"k{i}", "x" * 10_000)
        r.get("missing")
        r.set("ttl", "v", ex=100)
        port = free_port()
        theirs = series(peer_text([binary, f"-redis.addr=redis://{server.address}",
                                   f"-web.listen-address=127.0.0.1:{port}"], f"http://127.0.0.1:{port}/metrics"))
        ours = series(scrape("redis", {"address": server.address}).text, drop=("addr",))
        with closed_port() as down:
            ours_down = series(scrape("redis", {"address": f"127.0.0.1:{down}", "timeout": "1s"}).text, drop=("addr",))
    assert assert_names_match(merged(ours, ours_down), theirs) >= 25
    # values no read changes (the reads themselves use memory, so evictions and key counts may move)
    for name in ("redis_memory_max_bytes", "redis_keyspace_misses_total", "redis_db_keys_expiring"):
        assert ours[name] == theirs[name], name
    assert ours["redis_commands_total"][(("cmd", "set"),)] == theirs["redis_commands_total"][(("cmd", "set"),)] == 401


# postgres_exporter 0.11 (Debian 12) runs table and statement statistics only as custom queries: Debian ships
# upstream's example file for them. Its pg_stat_statements query reads total_time, which PostgreSQL 13 renamed,
# so on a current server 0.11 publishes no statement metrics at all.
UPSTREAM_QUERIES = "/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml"
# Names that postgres_exporter's built-in collectors publish since 0.12/0.13 (collector/pg_stat_statements.go,
# collector/pg_stat_user_tables.go), which 0.11 cannot produce here. The test below also checks that 0.11
# really lacks them, so this list has to shrink when a newer postgres_exporter is the one installed.
POSTGRES_NEWER = frozenset({
    "pg_stat_statements_calls_total", "pg_stat_statements_seconds_total", "pg_stat_statements_rows_total",
    "pg_stat_statements_block_read_seconds_total", "pg_stat_statements_block_write_seconds_total",
    "pg_stat_user_tables_index_size_bytes", "pg_stat_user_tables_table_size_bytes",
})


def test_postgres_matches_postgres_exporter():
    binary = need_binary("prometheus-postgres-exporter", "postgres_exporter")
    assert os.path.exists(UPSTREAM_QUERIES), f"{UPSTREAM_QUERIES} missing: reinstall prometheus-postgres-exporter"
    with start_postgres(settings={"max_connections": "37"}) as pg:
        with psycopg.connect(host=pg.extra["socket_dir"], port=pg.port, user="postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE app")
            c.execute("CREATE EXTENSION pg_stat_statements")
            c.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
            c.execute("INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 200) g")
            c.execute("CREATE INDEX orders_note ON orders (note)")
            c.execute("ANALYZE orders")
            c.execute("SELECT count(*) FROM orders WHERE id < 10")
        dsn = f"postgresql://postgres:{pg.extra['password']}@127.0.0.1:{pg.port}/postgres?sslmode=disable"
        port = free_port()
        theirs = series(peer_text([binary, f"--web.listen-address=127.0.0.1:{port}",
                                   f"--extend.query-path={UPSTREAM_QUERIES}"],
                                  f"http://127.0.0.1:{port}/metrics", env={"DATA_SOURCE_NAME": dsn}),
                        drop=("server",))  # 0.11 puts it on some families, we on all (one scrape, many servers)
        ours = series(scrape("postgres", {"dsn": dsn}).text, drop=("server",))
        with closed_port() as down:
            ours_down = series(scrape("postgres", {"dsn": f"host=127.0.0.1 port={down} user=postgres",
                                                   "password": "x", "timeout": "1s"}).text, drop=("server",))
    assert ours_down.keys() == {"pg_up"}
    assert {"pg_stat_user_tables_seq_scan", "pg_postmaster_start_time_seconds"} <= theirs.keys()
    assert POSTGRES_NEWER <= ours.keys() and not POSTGRES_NEWER & theirs.keys()
    assert assert_names_match(merged(ours, ours_down), theirs, newer=POSTGRES_NEWER) >= 40
    for name in ("pg_locks_count", "pg_stat_activity_count", "pg_database_size_bytes", "pg_stat_database_numbackends"):
        ours_keys = set(ours[name])
        theirs_keys = {k for k in theirs[name] if ("datname", "") not in k}  # 0.11 also lists the shared row
        assert ours_keys == theirs_keys, name
    settings = {n: v for n, v in ours.items() if n.startswith("pg_settings_")}
    assert settings and {n: v for n, v in settings.items() if v != theirs[n]} == {}
    assert ours["pg_settings_max_connections"][()] == 37
    assert ours["pg_static"].keys() == theirs["pg_static"].keys()
    table = (("datname", "postgres"), ("relname", "orders"), ("schemaname", "public"))
    for col in ("n_live_tup", "idx_scan", "n_tup_ins", "analyze_count"):
        assert ours[f"pg_stat_user_tables_{col}"][table] == theirs[f"pg_stat_user_tables_{col}"][table], col


def test_nginx_matches_nginx_exporter(tmp_path):
    binary = need_binary("prometheus-nginx-exporter", "nginx-prometheus-exporter")
    with start_nginx(tmp_path, "location = /stub_status { stub_status; }") as server:
        url = f"http://127.0.0.1:{server.port}/stub_status"
        port = free_port()
        theirs = series(peer_text([binary, f"-nginx.scrape-uri={url}", f"-web.listen-address=127.0.0.1:{port}"],
                                  f"http://127.0.0.1:{port}/metrics"))
        ours = series(scrape("nginx", {"url": url}).text, drop=("target",))
        with closed_port() as down:
            ours_down = series(scrape("nginx", {"url": f"http://127.0.0.1:{down}/stub_status", "timeout": "1s"}).text,
                               drop=("target",))
    assert set(ours) == set(theirs) - {"nginxexporter_build_info"}
    assert set(ours_down) == {"nginx_up"}
    assert all(label_names(ours[n]) == label_names(theirs[n]) for n in ours)


def test_http_probe_matches_blackbox(tmp_path):
    binary = need_binary("prometheus-blackbox-exporter", "blackbox_exporter")
    cert, key = self_signed_cert(tmp_path, days=30)
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  http_2xx:\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n"
                      f"      tls_config:\n        ca_file: {cert}\n")
    with start_nginx(tmp_path / "nginx", "location = /moved { return 301 /index.html; }",
                     {"index.html": b"hello world\n" * 300}) as server, \
            start_nginx(tmp_path / "tls", "location / { }", {"index.html": b"hello\n"}, tls=(cert, key)) as tls, \
            closed_port() as down:
        url, tls_url = f"http://127.0.0.1:{server.port}/moved", f"https://127.0.0.1:{tls.port}/index.html"
        down_url = f"http://127.0.0.1:{down}/"
        port = free_port()
        proc = subprocess.Popen([binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/metrics", proc=proc)
            probe = f"http://127.0.0.1:{port}/probe"
            theirs, theirs_tls, theirs_down = (
                series(requests.get(probe, params={"target": u, "module": "http_2xx"}, timeout=10).text)
                for u in (url, tls_url, down_url))
        finally:
            stop(proc)
        ours = series(scrape("http_probe", {"url": url, "accept_encoding": ""}).text, drop=("target",))
        ours_tls = series(scrape("http_probe", {"url": tls_url, "ca_file": str(cert)}).text, drop=("target",))
        ours_down = series(scrape("http_probe", {"url": down_url, "timeout": "1s"}).text, drop=("target",))
    assert {"probe_ssl_earliest_cert_expiry", "probe_tls_version_info"} <= ours_tls.keys()
    assert assert_names_match(merged(ours, ours_tls, ours_down), merged(theirs, theirs_tls, theirs_down)) >= 14
    for name in ("probe_success", "probe_http_status_code", "probe_http_content_length",
                 "probe_http_uncompressed_body_length", "probe_http_version", "probe_http_redirects",
                 "probe_http_ssl", "probe_ip_protocol", "probe_http_last_modified_timestamp_seconds"):
        assert ours[name] == theirs[name], name
    for name in ("probe_success", "probe_http_ssl", "probe_ssl_earliest_cert_expiry", "probe_tls_version_info"):
        assert ours_tls[name] == theirs_tls[name], name
    assert ours_down["probe_success"] == theirs_down["probe_success"] == {(): 0}
    assert set(ours["probe_http_duration_seconds"]) == set(theirs["probe_http_duration_seconds"])
