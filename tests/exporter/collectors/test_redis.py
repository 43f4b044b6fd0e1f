"""The redis collector against a real redis-server with a small maxmemory and a workload."""
from __future__ import annotations

import redis as redis_client

from tests.support.services import stop_server

from .conftest import scrape

PW_ENV = "PERFADVISOR_TEST_REDIS_PASSWORD"


def _workload(port: int, password: str) -> None:
    r = redis_client.Redis(host="127.0.0.1", port=port, password=password)
    value = b"x" * 10_000
    for i in range(600):  # ~6 MB into a 2 MB instance: allkeys-lru must evict
        r.set(f"key:{i}", value)
    r.set("ttl-key", "v", ex=3600)
    for i in range(590, 600):
        r.get(f"key:{i}")  # recent keys: hits
    for i in range(50):
        r.get(f"missing:{i}")  # misses
    r.close()


def test_redis_metrics_after_workload(redis_server, monkeypatch):
    password = redis_server.extra["password"]
    monkeypatch.setenv(PW_ENV, password)
    _workload(redis_server.port, password)
    s = scrape("redis", {"address": redis_server.address, "password_env": PW_ENV, "timeout": "2s"})
    addr = {"addr": redis_server.address}
    assert s.value("redis_up", addr) == 1
    assert s.value("redis_keyspace_misses_total", addr) >= 50
    assert s.value("redis_keyspace_hits_total", addr) >= 10
    assert s.value("redis_evicted_keys_total", addr) > 0
    assert s.value("redis_memory_max_bytes", addr) == 2 * 1024 * 1024
    assert s.value("redis_memory_used_bytes", addr) > 0
    assert s.value("redis_mem_fragmentation_ratio", addr) > 0
    assert s.value("redis_connected_clients", addr) >= 1
    assert s.value("redis_commands_total", {**addr, "cmd": "set"}) >= 601
    assert s.value("redis_commands_duration_seconds_total", {**addr, "cmd": "get"}) > 0
    assert s.value("redis_commands_processed_total", addr) >= 660
    assert 0 < s.value("redis_db_keys", {**addr, "db": "db0"}) < 600
    assert s.value("redis_db_keys_expiring", {**addr, "db": "db0"}) == 1
    assert s.value("redis_uptime_in_seconds", addr) >= 0
    assert s.value("redis_slowlog_length", addr) >= 0
    assert s.value("perfadvisor_redis_ping_seconds", addr) > 0
    get = {**addr, "cmd": "get"}
    assert s.value("redis_latency_percentiles_usec", {**get, "quantile": "99"}) > 0
    assert s.value("redis_latency_percentiles_usec_count", get) == s.value("redis_commands_total", get)
    info = s.samples("redis_instance_info")[0].labels
    assert info["maxmemory_policy"] == "allkeys-lru" and info["role"] == "master"
    assert password not in s.text


def test_wrong_password_is_down_and_secret_not_shown(redis_server):
    s = scrape("redis", {"address": redis_server.address, "password": "not-the-password", "timeout": "2s"})
    assert s.value("redis_up", {"addr": redis_server.address}) == 0
    assert "not-the-password" not in s.text


def test_stopped_redis_is_down_and_others_still_report(redis_server, tmp_path, monkeypatch):
    from tests.support.services import start_redis

    monkeypatch.setenv(PW_ENV, redis_server.extra["password"])
    with start_redis(tmp_path) as other:
        target = {"address": redis_server.address, "password_env": PW_ENV, "timeout": "1s"}
        assert scrape("redis", target).value("redis_up", {"addr": redis_server.address}) == 1
        stop_server(redis_server)
        s = scrape("redis", target, {"address": other.address, "timeout": "1s"})
        assert s.value("redis_up", {"addr": redis_server.address}) == 0
        assert s.value("redis_up", {"addr": other.address}) == 1


def test_hung_redis_is_down_within_its_timeout(hung_port, closed_port):
    hung, closed = f"127.0.0.1:{hung_port}", f"127.0.0.1:{closed_port}"
    s = scrape("redis", {"address": hung, "timeout": "1s"}, {"address": closed, "timeout": "1s"})
    assert s.value("redis_up", {"addr": hung}) == 0
    assert s.value("redis_up", {"addr": closed}) == 0
    assert s.seconds < 5  # bounded by the 1 s timeout, not by the hung server


def test_no_targets_yields_nothing():
    assert scrape("redis").families == []


def test_userinfo_never_in_addr_label(closed_port):
    s = scrape("redis", {"address": f"redis://user:hunter2@127.0.0.1:{closed_port}", "timeout": "1s"})
    assert s.value("redis_up", {"addr": f"redis://127.0.0.1:{closed_port}"}) == 0
    assert "hunter2" not in s.text
