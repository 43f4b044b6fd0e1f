"""redis: INFO, SLOWLOG LEN and a PING round trip per target, under redis_exporter's metric names.

redis_exporter in multi-target mode labels nothing itself (Prometheus relabels the target into ``instance``);
its older multi-address mode put ``addr`` (and ``alias``) on every series. This collector scrapes several
Redis instances in one scrape, so it follows that convention: every series carries ``addr``.
Beyond redis_exporter: ``perfadvisor_redis_ping_seconds``, the round trip of one PING.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import redis

from ._probe import (SECRET_SCHEMA, TIMEOUT_SCHEMA, Families, ProbeCollector, on_deadline, resolve_secret,
                     targets_schema)
from ..registry import Family, register

# INFO field -> (redis_exporter name, type). Types as redis_exporter declares them.
INFO_FIELDS: dict[str, tuple[str, str]] = {
    "uptime_in_seconds": ("redis_uptime_in_seconds", "gauge"),
    "connected_clients": ("redis_connected_clients", "gauge"),
    "blocked_clients": ("redis_blocked_clients", "gauge"),
    "maxclients": ("redis_config_maxclients", "gauge"),
    "used_memory": ("redis_memory_used_bytes", "gauge"),
    "used_memory_rss": ("redis_memory_used_rss_bytes", "gauge"),
    "used_memory_peak": ("redis_memory_used_peak_bytes", "gauge"),
    "maxmemory": ("redis_memory_max_bytes", "gauge"),
    "mem_fragmentation_ratio": ("redis_mem_fragmentation_ratio", "gauge"),
    "rdb_changes_since_last_save": ("redis_rdb_changes_since_last_save", "gauge"),
    "total_connections_received": ("redis_connections_received_total", "counter"),
    "total_commands_processed": ("redis_commands_processed_total", "counter"),
    "total_net_input_bytes": ("redis_net_input_bytes_total", "counter"),
    "total_net_output_bytes": ("redis_net_output_bytes_total", "counter"),
    "rejected_connections": ("redis_rejected_connections_total", "counter"),
    "expired_keys": ("redis_expired_keys_total", "counter"),
    "evicted_keys": ("redis_evicted_keys_total", "counter"),
    "keyspace_hits": ("redis_keyspace_hits_total", "counter"),
    "keyspace_misses": ("redis_keyspace_misses_total", "counter"),
    "connected_slaves": ("redis_connected_slaves", "gauge"),
    "used_cpu_sys": ("redis_cpu_sys_seconds_total", "counter"),
    "used_cpu_user": ("redis_cpu_user_seconds_total", "counter"),
}
_INFO_LABELS = ("role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy", "tcp_port",
                "run_id", "process_id")


def _connection(target: Mapping[str, Any], timeout: float) -> redis.Redis:
    # redis-py is imported when a target is probed: ~7 MB of RSS an exporter without Redis targets never needs
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    address = str(target["address"])
    # No retries: a dead or hung target must cost one timeout, not four (redis-py retries by default).
    common = dict(password=resolve_secret(target), username=target.get("username"), db=int(target.get("db", 0)),
                  socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                  client_name="perfadvisor-exporter")
    if address.startswith("unix://") or address.startswith("/"):
        return redis.Redis(unix_socket_path=address.removeprefix("unix://"), **common)
    if address.startswith("rediss://") or address.startswith("redis://"):
        address = address.split("://", 1)[1].rpartition("@")[2]
    host, _, port = address.rpartition(":")
    return redis.Redis(host=host.strip("[]") or "127.0.0.1", port=int(port or 6379),
                       ssl=str(target["address"]).startswith("rediss://"), **common)


def _redis_error() -> type[Exception]:
    import redis

    return redis.RedisError


def addr_label(target: Mapping[str, Any]) -> str:
    """The address as configured, without any userinfo."""
    a = str(target["address"])
    scheme, sep, rest = a.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else a


def _down(target: Mapping[str, Any], why: str) -> Families:
    f = Families()
    f.gauge("redis_up", "Whether the Redis instance answered (1) or not (0).", {"addr": addr_label(target)}, 0)
    return f


def families_from_info(info: Mapping[str, Any], lab: Mapping[str, str]) -> Families:
    """redis_exporter-named families from a parsed ``INFO ALL`` (as redis-py returns it)."""
    f = Families()
    for field, (name, typ) in INFO_FIELDS.items():
        v = info.get(field)
        if isinstance(v, (int, float)):
            (f.counter if typ == "counter" else f.gauge)(name, f"Redis INFO {field}.", lab, v)
    f.gauge("redis_instance_info", "Information about the Redis instance.",
            {**lab, **{k: info.get(k, "") for k in _INFO_LABELS}}, 1)
    for key, v in info.items():
        if key.startswith("cmdstat_") and isinstance(v, dict):
            cmd = key[len("cmdstat_"):]
            cl = {**lab, "cmd": cmd}
            f.counter("redis_commands_total", "Total number of calls per command.", cl, v.get("calls", 0))
            f.counter("redis_commands_duration_seconds_total", "Total time spent in each command.", cl,
                      v.get("usec", 0) / 1e6)
            if "rejected_calls" in v:
                f.counter("redis_commands_rejected_calls_total", "Rejected calls per command.", cl, v["rejected_calls"])
                f.counter("redis_commands_failed_calls_total", "Failed calls per command.", cl, v["failed_calls"])
        elif key.startswith("latency_percentiles_usec_") and isinstance(v, dict):
            cmd = key[len("latency_percentiles_usec_"):]
            stats = info.get(f"cmdstat_{cmd}") or {}
            # redis_exporter's convention: quantile in percent as Redis names it (50, 99, 99.9), sum in usec
            quantiles = {f"{float(q[1:]):g}": float(x) for q, x in v.items() if q.startswith("p")}
            f.summary("redis_latency_percentiles_usec", "A summary of latency percentile distribution per "
                      "command", {**lab, "cmd": cmd}, quantiles, stats.get("usec", 0), stats.get("calls", 0))
        elif key.startswith("db") and key[2:].isdigit() and isinstance(v, dict):
            dl = {**lab, "db": key}
            f.gauge("redis_db_keys", "Total number of keys by DB.", dl, v.get("keys", 0))
            f.gauge("redis_db_keys_expiring", "Total number of expiring keys by DB.", dl, v.get("expires", 0))
            f.gauge("redis_db_avg_ttl_seconds", "Avg TTL in seconds.", dl, v.get("avg_ttl", 0) / 1000)
    return f


def probe(target: Mapping[str, Any], timeout: float) -> Families:
    """One Redis: PING (timed), INFO ALL, SLOWLOG LEN."""
    lab = {"addr": addr_label(target)}
    conn = _connection(target, timeout)
    on_deadline(conn.connection_pool.disconnect)  # shuts the socket down: a blocked read returns at once
    try:
        conn.ping()  # connects; the timed PING below measures the round trip alone
        start = time.perf_counter()
        conn.ping()
        ping = time.perf_counter() - start
        info = conn.info("all")
        slowlog = conn.slowlog_len()
        try:
            databases = int(conn.config_get("databases").get("databases", 0))
        except _redis_error():  # CONFIG may be renamed or denied by ACL: report the databases INFO shows
            databases = 0
    finally:
        conn.close()
    f = Families()
    f.gauge("redis_up", "Whether the Redis instance answered (1) or not (0).", lab, 1)
    f.gauge("perfadvisor_redis_ping_seconds", "Round trip of one PING on an established connection.", lab, ping)
    f.merge(families_from_info(info, lab))
    for i in range(databases):  # empty databases read 0, as redis_exporter reports them
        if f"db{i}" not in info:
            f.gauge("redis_db_keys", "Total number of keys by DB.", {**lab, "db": f"db{i}"}, 0)
            f.gauge("redis_db_keys_expiring", "Total number of expiring keys by DB.", {**lab, "db": f"db{i}"}, 0)
    f.gauge("redis_slowlog_length", "Total slowlog entries.", lab, slowlog)
    return f


@register("redis", default=False, help="Redis INFO/SLOWLOG/PING per target (redis_exporter names).",
          config_schema=targets_schema({
              "address": {"type": "string", "description": "host:port, redis://host:port, rediss://…, or a unix socket path."},
              "username": {"type": "string", "description": "ACL user (Redis 6+)."},
              "db": {"type": "integer", "minimum": 0},
              "timeout": TIMEOUT_SCHEMA,
              **SECRET_SCHEMA}, required=["address"]))
class RedisCollector(ProbeCollector):
    families = (
        Family("redis_up", "gauge", ("addr",)),
        Family("perfadvisor_redis_ping_seconds", "gauge", ("addr",)),
        Family("redis_{keyspace_hits,keyspace_misses,evicted_keys,expired_keys,rejected_connections,"
               "commands_processed,connections_received,net_input_bytes,net_output_bytes}_total", "counter", ("addr",)),
        Family("redis_cpu_{sys,user}_seconds_total", "counter", ("addr",)),
        Family("redis_memory_{used,used_rss,used_peak,max}_bytes", "gauge", ("addr",)),
        Family("redis_{mem_fragmentation_ratio,connected_clients,blocked_clients,config_maxclients,"
               "connected_slaves,uptime_in_seconds,rdb_changes_since_last_save,slowlog_length}", "gauge", ("addr",)),
        Family("redis_commands_total", "counter", ("addr", "cmd")),
        Family("redis_commands_duration_seconds_total", "counter", ("addr", "cmd")),
        Family("redis_commands_{rejected,failed}_calls_total", "counter", ("addr", "cmd")),
        Family("redis_latency_percentiles_usec", "summary", ("addr", "cmd", "quantile"), "Redis 7 latencystats"),
        Family("redis_db_keys", "gauge", ("addr", "db")),
        Family("redis_db_keys_expiring", "gauge", ("addr", "db")),
        Family("redis_db_avg_ttl_seconds", "gauge", ("addr", "db")),
        Family("redis_instance_info", "gauge",
               ("addr", "role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy", "tcp_port", "run_id", "process_id")),
    )

    name = "redis"
    label = staticmethod(addr_label)
    probe = staticmethod(probe)
    down = staticmethod(_down)
