"""Services: HTTP probes (blackbox names), Redis, PostgreSQL, HAProxy and nginx (their exporters' names)."""
from __future__ import annotations

from .core import SEL, Dashboard, query_variable, stat, table, target as t, timeseries

RATE = "$__rate_interval"
# One exporter probes many services, so each series names its service: `target` (HTTP, HAProxy, nginx),
# `addr` (Redis, as redis_exporter) and `server` (PostgreSQL, as postgres_exporter); one picker each.
P = f'{SEL},target=~"$target"'
R = f'{SEL},addr=~"$redis"'
PG = f'{SEL},server=~"$postgres"'
UPS = "probe_success|perfadvisor_haproxy_up|nginx_up"
IN = 'job=~"$job",instance=~"$instance"'
UP_DOWN = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}]
RED_GREEN = [(None, "red"), (1, "green")]


def build() -> Dashboard:
    d = Dashboard("perfadvisor-services", "Services",
                  "Probed services: HTTP endpoints, Redis, PostgreSQL, HAProxy and nginx.",
                  key_metric="up", tags=["services"],
                  extra_variables=[
                      query_variable("target", f'{{__name__=~"{UPS}",{IN}}}', "target", title="HTTP/proxy target"),
                      query_variable("redis", f"redis_up{{{IN}}}", "addr", title="Redis"),
                      query_variable("postgres", f"pg_up{{{IN}}}", "server", title="PostgreSQL")])
    d.row(
        "HTTP probes",
        timeseries("Probe success", t(f"probe_success{{{P}}}", "{{target}}"), unit="short", min=0, max=1, w=8,
                   thresholds=RED_GREEN, description="1 when the last probe of the target succeeded."),
        timeseries("Probe duration", t(f"probe_duration_seconds{{{P}}}", "{{target}}"), unit="s", min=0, w=8),
        timeseries("HTTP phases", t(f"probe_http_duration_seconds{{{P}}}", "{{target}} {{phase}}"),
                   unit="s", min=0, w=8, stack=True,
                   description="Where a request spends its time: resolve, connect, tls, processing, transfer."),
        table("HTTP status",
              f"max by (instance, target) (probe_http_status_code{{{P}}})", hide=["job"],
              rename={"Value": "HTTP status"}, w=12),
        timeseries("TLS certificate expires in",
                   t(f"probe_ssl_earliest_cert_expiry{{{P}}} - time()", "{{target}}"), unit="s", w=12,
                   thresholds=[(None, "red"), (7 * 86400, "orange"), (21 * 86400, "green")],
                   description="Only HTTPS targets have a certificate."),
    )
    d.row(
        "Redis",
        stat("Redis up", t(f"redis_up{{{R}}}", "{{addr}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Clients", t(f"redis_connected_clients{{{R}}}", "{{addr}}")),
        timeseries("Keyspace hit ratio",
                   t(f"rate(redis_keyspace_hits_total{{{R}}}[{RATE}]) / (rate(redis_keyspace_hits_total{{{R}}}[{RATE}]) "
                     f"+ rate(redis_keyspace_misses_total{{{R}}}[{RATE}]))", "{{addr}}"),
                   unit="percentunit", min=0, max=1, w=12,
                   description="Lookups that found their key (no value while there are no lookups)."),
        timeseries("Memory used", t(f"redis_memory_used_bytes{{{R}}}", "{{addr}} used"),
                   t(f"redis_memory_max_bytes{{{R}}}", "{{addr}} maxmemory"), unit="bytes", min=0, w=8,
                   description="maxmemory 0 means no limit is set."),
        timeseries("Evictions", t(f"rate(redis_evicted_keys_total{{{R}}}[{RATE}])", "{{addr}}"),
                   unit="short", min=0, w=8, description="Keys evicted per second to stay under maxmemory."),
        timeseries("Connected clients", t(f"redis_connected_clients{{{R}}}", "{{addr}}"), unit="short",
                   min=0, w=8),
    )
    d.row(
        "PostgreSQL",
        stat("PostgreSQL up", t(f"pg_up{{{PG}}}", "{{server}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Connections used",
             t(f"sum by (server) (pg_stat_activity_count{{{PG}}}) / on (server) "
               f"max by (server) (pg_settings_max_connections{{{PG}}})", "{{server}}"),
             unit="percentunit", thresholds=[(None, "green"), (0.8, "orange"), (0.9, "red")]),
        timeseries("Connections by state", t(f"sum by (server, state) (pg_stat_activity_count{{{PG}}})",
                                             "{{server}} {{state}}"), unit="short", min=0, stack=True),
        timeseries("Buffer cache hit ratio",
                   t(f"rate(pg_stat_database_blks_hit{{{PG}}}[{RATE}]) / (rate(pg_stat_database_blks_hit{{{PG}}}[{RATE}]) "
                     f"+ rate(pg_stat_database_blks_read{{{PG}}}[{RATE}]))", "{{server}} {{datname}}"),
                   unit="percentunit", min=0, max=1, w=8,
                   description="Blocks found in shared buffers; below ~0.99 on a busy database means too little cache."),
        timeseries("Transactions",
                   t(f"rate(pg_stat_database_xact_commit{{{PG}}}[{RATE}])", "{{server}} {{datname}} commit"),
                   t(f"rate(pg_stat_database_xact_rollback{{{PG}}}[{RATE}])", "{{server}} {{datname}} rollback"),
                   unit="short", min=0, w=8),
        timeseries("Deadlocks", t(f"increase(pg_stat_database_deadlocks{{{PG}}}[{RATE}])", "{{server}} {{datname}}"),
                   unit="short", min=0, w=8),
    )
    d.row(
        "HAProxy and nginx",
        timeseries("HAProxy backend sessions", t(f"haproxy_backend_current_sessions{{{P}}}", "{{target}} {{proxy}}"),
                   unit="short", min=0, w=8),
        timeseries("HAProxy backend responses",
                   t(f"sum by (target, proxy, code) (rate(haproxy_backend_http_responses_total{{{P}}}[{RATE}]))",
                     "{{target}} {{proxy}} {{code}}"), unit="reqps", min=0, w=8, stack=True),
        timeseries("HAProxy servers up", t(f'haproxy_server_status{{{P},state="UP"}}', "{{target}} {{proxy}}/{{server}}"),
                   unit="short", min=0, max=1, w=8, thresholds=RED_GREEN),
        timeseries("nginx requests", t(f"rate(nginx_http_requests_total{{{P}}}[{RATE}])", "{{target}}"),
                   unit="reqps", min=0, w=12),
        timeseries("nginx connections",
                   t(f"nginx_connections_active{{{P}}}", "{{target}} active"),
                   t(f"nginx_connections_reading{{{P}}}", "{{target}} reading"),
                   t(f"nginx_connections_writing{{{P}}}", "{{target}} writing"),
                   t(f"nginx_connections_waiting{{{P}}}", "{{target}} waiting"), unit="short", min=0, w=12),
    )
    return d
