"""The cache pack against real Redis servers probed by our exporter and an application cache exported through
the textfile collector, scraped by a real Prometheus."""
from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess

import pytest
import redis

from tests.support.services import start_redis

from .conftest import REPO, RULES, Workload, exporter_and_prometheus, findings, poll_report

SETS = ("rate_window=10s", "lookback=60s", "min_lookups=1")
BLOB = b"x" * 10_000


def _lru_step(conn: redis.Redis) -> None:
    """Writes over a keyspace ~10× larger than maxmemory and reads from it: misses and evictions."""
    pipe = conn.pipeline(transaction=False)
    for _ in range(20):
        pipe.set(f"k{random.randrange(2000)}", BLOB)
        pipe.get(f"k{random.randrange(2000)}")
    pipe.execute()


def _negative_step(conn: redis.Redis) -> None:
    """Reads of a few stored keys and of many that were never written: misses without evictions or expirations."""
    pipe = conn.pipeline(transaction=False)
    for _ in range(10):
        pipe.get(f"n{random.randrange(5)}")
        for _ in range(4):
            pipe.get(f"absent{random.randrange(1_000_000)}")
    pipe.execute()


def _healthy_step(conn: redis.Redis) -> None:
    """Reads of a small, resident keyspace (all hits) and one deliberately slow command."""
    pipe = conn.pipeline(transaction=False)
    for _ in range(40):
        pipe.get(f"h{random.randrange(50)}")
    pipe.execute()
    conn.execute_command("DEBUG", "SLEEP", "0.005")


def _fill(conn: redis.Redis) -> None:
    """Write until a noeviction Redis refuses writes."""
    for i in range(10_000):
        try:
            conn.set(f"f{i}", BLOB)
        except redis.exceptions.ResponseError as e:  # OOM command not allowed
            assert "maxmemory" in str(e)
            return
    raise AssertionError("noeviction Redis never filled up")


def _provoke_rejections(port: int, n: int) -> None:
    """Open more connections than maxclients allows; Redis answers the extra ones with an error and closes."""
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"PING\r\n")
            socks.append(s)
        for s in socks:
            with contextlib.suppress(OSError):
                s.recv(256)
    finally:
        for s in socks:
            s.close()


class AppCache:
    """An application exporting the cache_requests_total convention through a textfile .prom file."""

    # per tick: (layer, hits, misses); a request reaches "redis" only after missing "local"
    PROFILES = {"profile": (("local", 20, 80), ("redis", 40, 40)),
                "session": (("local", 90, 10), ("redis", 9, 1))}

    def __init__(self, directory):
        self.path = directory / "app_cache.prom"
        self.counts = {(c, layer, r): 0 for c, layers in self.PROFILES.items() for layer, _, _ in layers
                       for r in ("hit", "miss")}

    def tick(self) -> None:
        for cache, layers in self.PROFILES.items():
            for layer, hits, misses in layers:
                self.counts[(cache, layer, "hit")] += hits
                self.counts[(cache, layer, "miss")] += misses
        lines = ["# HELP cache_requests_total Cache lookups by cache, layer and result.",
                 "# TYPE cache_requests_total counter"]
        lines += [f'cache_requests_total{{cache="{c}",layer="{layer}",result="{r}"}} {v}'
                  for (c, layer, r), v in sorted(self.counts.items())]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.path)  # atomic: the exporter never reads half a file


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("cache")
    textdir = base / "textfile"
    textdir.mkdir()
    with contextlib.ExitStack() as stack:
        lru = stack.enter_context(start_redis(base, "--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"))
        healthy = stack.enter_context(start_redis(base, "--enable-debug-command", "yes"))
        negative = stack.enter_context(start_redis(base))
        full = stack.enter_context(start_redis(base, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction",
                                               "--maxclients", "6"))
        conns = {name: stack.enter_context(redis.Redis(port=s.port)) for name, s in
                 (("lru", lru), ("healthy", healthy), ("full", full), ("negative", negative))}
        for i in range(5):
            conns["negative"].set(f"n{i}", b"v")
        for i in range(50):
            conns["healthy"].set(f"h{i}", b"v" * 100)
        _fill(conns["full"])
        app = AppCache(textdir)
        app.tick()
        targets = [{"address": f"127.0.0.1:{s.port}"} for s in (lru, healthy, full, negative)]
        prom = stack.enter_context(exporter_and_prometheus(
            base / "stack", {"redis": {"targets": targets}, "textfile": {"directory": str(textdir)}}))
        prom.wait_for_series("redis_up == 1", min_results=4)
        stack.enter_context(Workload(lambda: _lru_step(conns["lru"])))
        stack.enter_context(Workload(lambda: _healthy_step(conns["healthy"])))
        stack.enter_context(Workload(lambda: _negative_step(conns["negative"])))
        stack.enter_context(Workload(app.tick, pause=0.5))
        _provoke_rejections(full.port, 10)
        expected = ("cache-redis-hit-ratio-low", "cache-redis-evictions-at-maxmemory",
                    "cache-redis-memory-full-noeviction", "cache-redis-slow-command",
                    "cache-redis-rejected-connections", "cache-local-hit-ratio-low", "cache-combined-hit-ratio-low")
        report = poll_report(prom.url, "cache", SETS, lambda r: all(findings(r, rid) for rid in expected)
                             and len(findings(r, "cache-redis-hit-ratio-low")) == 2)
        addrs = {name: f"127.0.0.1:{s.port}" for name, s in
                 (("lru", lru), ("healthy", healthy), ("full", full), ("negative", negative))}
        yield report, {**addrs, "prometheus": prom.url}


def _addrs(report, rule_id):
    return sorted(f["labels"].get("addr") for f in findings(report, rule_id))


def _hit_ratio_finding(report, addr):
    return next(f for f in findings(report, "cache-redis-hit-ratio-low") if f["labels"]["addr"] == addr)


def test_hit_ratio_rule_fires_for_the_missing_redis_only(cache_env):
    report, addr = cache_env
    assert _addrs(report, "cache-redis-hit-ratio-low") == sorted([addr["lru"], addr["negative"]])
    f = _hit_ratio_finding(report, addr["lru"])
    assert f["value"] < 0.8
    assert {e["title"] for e in f["evidence"]} >= {"Misses per second", "Evicted keys per second"}


def test_hit_ratio_advice_follows_the_evidence(cache_env):
    report, addr = cache_env
    # the evicting Redis is told about memory, not TTLs and not negative lookups
    lru = _hit_ratio_finding(report, addr["lru"])["recommendation"]
    assert addr["lru"] in lru and "Keys are evicted before they are read again" in lru and "maxmemory" in lru
    assert "TTLs are shorter" not in lru and "negative lookups" not in lru
    # reads of keys that were never written: 0 evictions and 0 expirations in its own evidence
    neg = _hit_ratio_finding(report, addr["negative"])
    evidence = {e["title"]: e["series"] for e in neg["evidence"]}
    assert evidence["Evicted keys per second"][0]["value"] == 0
    assert evidence["Expired keys per second"][0]["value"] == 0
    text = neg["recommendation"]
    assert "0 evictions/s, 0 expirations/s" in text
    assert "the misses are negative lookups, reads of keys that were never written" in text
    assert "Cache the absence" in text and "Bloom" in text
    assert "TTLs are shorter" not in text and "Keys are evicted" not in text


def test_evictions_at_maxmemory_name_the_redis_and_what_to_do(cache_env):
    report, addr = cache_env
    assert _addrs(report, "cache-redis-evictions-at-maxmemory") == [addr["lru"]]
    text = findings(report, "cache-redis-evictions-at-maxmemory")[0]["recommendation"]
    assert f"Redis {addr['lru']} is at maxmemory" in text
    assert "Raise maxmemory" in text and "allkeys-lru" in text
    evidence = {e["title"]: e["series"] for e in findings(report, "cache-redis-evictions-at-maxmemory")[0]["evidence"]}
    assert evidence["maxmemory (bytes)"][0]["value"] == 2 * 1024 * 1024
    assert evidence["Eviction policy"][0]["labels"]["maxmemory_policy"] == "allkeys-lru"


def test_full_noeviction_redis_is_told_to_pick_a_policy(cache_env):
    report, addr = cache_env
    assert _addrs(report, "cache-redis-memory-full-noeviction") == [addr["full"]]
    f = findings(report, "cache-redis-memory-full-noeviction")[0]
    assert f["severity"] == "critical" and f["value"] >= 0.9
    assert "noeviction" in f["recommendation"] and "maxmemory-policy allkeys-lru" in f["recommendation"]


def test_rejected_connections_point_at_maxclients(cache_env):
    report, addr = cache_env
    assert _addrs(report, "cache-redis-rejected-connections") == [addr["full"]]
    f = findings(report, "cache-redis-rejected-connections")[0]
    assert f["value"] >= 1 and "maxclients" in f["recommendation"]


def test_slow_command_names_the_command(cache_env):
    report, addr = cache_env
    slow = findings(report, "cache-redis-slow-command")
    assert [(f["labels"]["addr"], f["labels"]["cmd"]) for f in slow] == [(addr["healthy"], "debug")]
    assert slow[0]["recommendation"].startswith(f"DEBUG on Redis {addr['healthy']} takes")
    assert slow[0]["value"] >= 0.005


def test_healthy_redis_has_no_memory_findings(cache_env):
    report, addr = cache_env
    for rule in ("cache-redis-hit-ratio-low", "cache-redis-evictions-at-maxmemory",
                 "cache-redis-memory-full-noeviction", "cache-redis-fragmentation-high", "cache-redis-swapping"):
        assert addr["healthy"] not in _addrs(report, rule)
    # small instances are not judged on fragmentation at all
    assert not findings(report, "cache-redis-fragmentation-high") and not findings(report, "cache-redis-swapping")


def test_local_layer_with_low_hit_ratio_in_front_of_redis(cache_env):
    report, _ = cache_env
    local = findings(report, "cache-local-hit-ratio-low")
    assert [f["labels"]["cache"] for f in local] == ["profile"]
    assert local[0]["value"] == pytest.approx(0.2, abs=0.02)
    assert 'cache "profile"' in local[0]["recommendation"]
    per_layer = {s["labels"]["layer"]: s["value"] for s in local[0]["evidence"][0]["series"]}
    assert per_layer == pytest.approx({"local": 0.2, "redis": 0.5}, abs=0.02)


def test_combined_hit_ratio_across_layers(cache_env):
    report, _ = cache_env
    combined = findings(report, "cache-combined-hit-ratio-low")
    assert [f["labels"]["cache"] for f in combined] == ["profile"]
    # 1 - (80% local misses × 50% redis misses)
    assert combined[0]["value"] == pytest.approx(0.6, abs=0.02)
    assert "40.0% reach the origin" in combined[0]["recommendation"]
    # the healthy cache was evaluated (combined 99%) and stays quiet
    rule = next(r for r in report["rules"] if r["id"] == "cache-combined-hit-ratio-low")
    assert rule["evaluated"] and rule["targets"] == 2


def test_advisor_binary_fails_on_critical_with_a_readable_table(cache_env):
    """The installed `advisor` as a user runs it: table report, exit 1 because of the critical findings."""
    _, addr = cache_env
    exe = REPO / ".venv" / "bin" / "advisor"
    args = [str(exe), "run", "--prometheus", addr["prometheus"], "--no-builtin", "--pack", str(RULES / "cache.yaml"),
            "--fail-on", "critical"]
    for s in SETS:
        args += ["--set", f"cache.{s}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
                                 "COLUMNS": "200"})
    assert result.returncode == 1, result.stderr
    assert "critical │ cache-redis-memory-full-noeviction" in result.stdout
    assert addr["full"] in result.stdout and "Traceback" not in result.stderr
