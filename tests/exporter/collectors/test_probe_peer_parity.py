"""Our probe collectors next to the exporters whose names they speak (Debian's redis_exporter,
postgres_exporter, nginx-prometheus-exporter, blackbox_exporter), against the same real server: every family
we publish under an upstream name exists upstream with the same label names (plus our per-target label), and
values that cannot drift between two reads agree."""
from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict

import psycopg
import redis as redis_client
import requests

from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.services import start_nginx, start_postgres, start_redis

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


def assert_names_match(ours: dict, theirs: dict, own_prefixes=("perfadvisor_",), skip: set = frozenset()):
    checked = 0
    for name, fam in ours.items():
        if name.startswith(own_prefixes) or name in skip:
            continue
        assert name in theirs, f"{name} is not a name the upstream exporter uses"
        assert label_names(fam) <= label_names(theirs[name]), (name, label_names(fam), label_names(theirs[name]))
        checked += 1
    return checked


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
    assert assert_names_match(ours, theirs) >= 25
    # values no read changes (the reads themselves use memory, so evictions and key counts may move)
    for name in ("redis_memory_max_bytes", "redis_keyspace_misses_total", "redis_db_keys_expiring"):
        assert ours[name] == theirs[name], name
    assert ours["redis_commands_total"][(("cmd", "set"),)] == theirs["redis_commands_total"][(("cmd", "set"),)] == 401


def test_postgres_matches_postgres_exporter():
    binary = need_binary("prometheus-postgres-exporter", "postgres_exporter")
    with start_postgres(settings={"max_connections": "37"}) as pg:
        with psycopg.connect(host=pg.extra["socket_dir"], port=pg.port, user="postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE app")
        dsn = f"postgresql://postgres:{pg.extra['password']}@127.0.0.1:{pg.port}/postgres?sslmode=disable"
        port = free_port()
        theirs = series(peer_text([binary, f"--web.listen-address=127.0.0.1:{port}"],
                                  f"http://127.0.0.1:{port}/metrics", env={"DATA_SOURCE_NAME": dsn}))
        ours = series(scrape("postgres", {"dsn": dsn}).text)
    # postgres_exporter 0.11 has no pg_stat_user_tables / pg_stat_statements / postmaster collectors by default;
    # those names follow its newer collectors. pg_up carries no server label there (one DSN per process).
    later = ("pg_stat_user_tables_", "pg_stat_statements_", "pg_postmaster_start_time_seconds", "pg_up")
    assert assert_names_match(ours, theirs, own_prefixes=("perfadvisor_", *later)) >= 30
    for name in ("pg_locks_count", "pg_stat_activity_count", "pg_database_size_bytes", "pg_stat_database_numbackends"):
        ours_keys = set(ours[name])
        theirs_keys = {k for k in theirs[name] if ("datname", "") not in k}  # 0.11 also lists the shared row
        assert ours_keys == theirs_keys, name
    settings = {n: v for n, v in ours.items() if n.startswith("pg_settings_")}
    assert settings and {n: v for n, v in settings.items() if v != theirs[n]} == {}
    assert ours["pg_settings_max_connections"][(("server", f"127.0.0.1:{pg.port}"),)] == 37
    assert ours["pg_static"].keys() == theirs["pg_static"].keys()


def test_nginx_matches_nginx_exporter(tmp_path):
    binary = need_binary("prometheus-nginx-exporter", "nginx-prometheus-exporter")
    with start_nginx(tmp_path, "location = /stub_status { stub_status; }") as server:
        url = f"http://127.0.0.1:{server.port}/stub_status"
        port = free_port()
        theirs = series(peer_text([binary, f"-nginx.scrape-uri={url}", f"-web.listen-address=127.0.0.1:{port}"],
                                  f"http://127.0.0.1:{port}/metrics"))
        ours = series(scrape("nginx", {"url": url}).text, drop=("target",))
    assert set(ours) == set(theirs) - {"nginxexporter_build_info"}
    assert all(label_names(ours[n]) == label_names(theirs[n]) for n in ours)


def test_http_probe_matches_blackbox(tmp_path):
    binary = need_binary("prometheus-blackbox-exporter", "blackbox_exporter")
    config = tmp_path / "blackbox.yml"
    config.write_text("modules:\n  http_2xx:\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n")
    with start_nginx(tmp_path / "nginx", "location = /moved { return 301 /index.html; }",
                     {"index.html": b"hello world\n" * 300}) as server:
        url = f"http://127.0.0.1:{server.port}/moved"
        port = free_port()
        theirs = series(peer_text([binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
                                  f"http://127.0.0.1:{port}/probe", params={"target": url, "module": "http_2xx"}))
        ours = series(scrape("http_probe", {"url": url, "accept_encoding": ""}).text, drop=("target",))
    assert assert_names_match(ours, theirs) >= 12
    for name in ("probe_success", "probe_http_status_code", "probe_http_content_length",
                 "probe_http_uncompressed_body_length", "probe_http_version", "probe_http_redirects",
                 "probe_http_ssl", "probe_ip_protocol", "probe_http_last_modified_timestamp_seconds"):
        assert ours[name] == theirs[name], name
    assert set(ours["probe_http_duration_seconds"]) == set(theirs["probe_http_duration_seconds"])
