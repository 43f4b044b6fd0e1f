"""SQL of the postgres collector (our own statements, shaped after postgres_exporter's default queries)."""
from __future__ import annotations

STAT_DATABASE_COUNTERS = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched",
                          "tup_inserted", "tup_updated", "tup_deleted", "conflicts", "temp_files", "temp_bytes",
                          "deadlocks", "blk_read_time", "blk_write_time")
STAT_DATABASE = ("SELECT datid::text, datname, numbackends, " + ", ".join(STAT_DATABASE_COUNTERS)
                 + " FROM pg_stat_database WHERE datname IS NOT NULL")

# Every (database, state) pair, zero-filled, so a state that empties out reads 0 rather than vanishing.
ACTIVITY = """
SELECT d.datname, s.state, coalesce(a.count, 0), coalesce(a.max_tx, 0)
FROM pg_database d
CROSS JOIN (VALUES ('active'), ('idle'), ('idle in transaction'), ('idle in transaction (aborted)'),
                   ('fastpath function call'), ('disabled')) AS s(state)
LEFT JOIN (SELECT datname, state, count(*) AS count,
                  max(extract(epoch FROM now() - xact_start))::float8 AS max_tx
           FROM pg_stat_activity WHERE pid <> pg_backend_pid() GROUP BY datname, state) a
       ON a.datname = d.datname AND a.state = s.state
"""

LOCKS = """
SELECT d.datname, m.mode, coalesce(l.count, 0)
FROM pg_database d
CROSS JOIN (VALUES ('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'), ('shareupdateexclusivelock'),
                   ('sharelock'), ('sharerowexclusivelock'), ('exclusivelock'), ('accessexclusivelock'),
                   ('sireadlock')) AS m(mode)
LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS count FROM pg_locks
           WHERE database IS NOT NULL GROUP BY database, lower(mode)) l
       ON l.database = d.oid AND l.mode = m.mode
"""

DATABASE_SIZE = "SELECT datname, pg_database_size(datname) FROM pg_database WHERE has_database_privilege(datname, 'CONNECT')"

VERSION = "SELECT version(), current_setting('server_version_num')::int"

START_TIME = "SELECT extract(epoch FROM pg_postmaster_start_time())"

SETTING_NAMES = ("max_connections", "shared_buffers", "effective_cache_size", "work_mem", "maintenance_work_mem",
                 "random_page_cost", "seq_page_cost", "max_worker_processes", "max_parallel_workers",
                 "autovacuum", "autovacuum_max_workers", "autovacuum_naptime", "checkpoint_timeout", "max_wal_size",
                 "wal_buffers", "superuser_reserved_connections", "idle_in_transaction_session_timeout",
                 "track_io_timing")  # not statement_timeout: the probe's own session sets it
SETTINGS = "SELECT name, setting, coalesce(unit, ''), vartype FROM pg_settings WHERE name = ANY(%s)"

_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "16kB": 16384, "32kB": 32768, "MB": 1024 ** 2, "GB": 1024 ** 3,
          "TB": 1024 ** 4}
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600, "d": 86400}


def setting_value(name: str, setting: str, unit: str, vartype: str) -> tuple[str, float | None]:
    """postgres_exporter's pg_settings_* naming: byte units become _bytes, time units _seconds, bool 0/1."""
    if vartype == "bool":
        return name, 1.0 if setting == "on" else 0.0
    if vartype not in ("integer", "real"):
        return name, None
    value = float(setting)
    if unit in _BYTES:
        return f"{name}_bytes", value * _BYTES[unit]
    if unit in _SECONDS:
        return f"{name}_seconds", value * _SECONDS[unit] if value >= 0 else value
    return name, value


def statements_sql(server_version: int) -> str:
    """Top statements by total time; column names changed in PostgreSQL 13 and 17."""
    total, mean = ("total_exec_time", "mean_exec_time") if server_version >= 130000 else ("total_time", "mean_time")
    read, write = (("shared_blk_read_time", "shared_blk_write_time") if server_version >= 170000
                   else ("blk_read_time", "blk_write_time"))
    return f"""
SELECT s.queryid::text, r.rolname, d.datname, s.calls, s.{total} / 1000, s.{mean} / 1000, s.rows,
       s.{read} / 1000, s.{write} / 1000, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 80)
FROM pg_stat_statements s
JOIN pg_roles r ON r.oid = s.userid
JOIN pg_database d ON d.oid = s.dbid
WHERE s.queryid IS NOT NULL
ORDER BY s.{total} DESC
LIMIT %s
"""


USER_TABLE_KIND = {
    "seq_scan": "counter", "seq_tup_read": "counter", "idx_scan": "counter", "idx_tup_fetch": "counter",
    "n_tup_ins": "counter", "n_tup_upd": "counter", "n_tup_del": "counter", "n_tup_hot_upd": "counter",
    "n_live_tup": "gauge", "n_dead_tup": "gauge", "n_mod_since_analyze": "gauge",
    "last_vacuum": "gauge", "last_autovacuum": "gauge", "last_analyze": "gauge", "last_autoanalyze": "gauge",
    "vacuum_count": "counter", "autovacuum_count": "counter", "analyze_count": "counter",
    "autoanalyze_count": "counter", "index_size_bytes": "gauge", "table_size_bytes": "gauge",
    "total_size_bytes": "gauge",
}
USER_TABLE_COLUMNS = tuple(USER_TABLE_KIND)
# Exposed name per column: postgres_exporter's pg_stat_user_tables_<column>, except the total size (table +
# indexes + TOAST), which postgres_exporter does not publish.
USER_TABLE_NAMES = {c: f"pg_stat_user_tables_{c}" for c in USER_TABLE_COLUMNS}
USER_TABLE_NAMES["total_size_bytes"] = "perfadvisor_pg_stat_user_tables_total_size_bytes"
_EXPR = {c: f"coalesce(extract(epoch FROM {c}), 0)" for c in
         ("last_vacuum", "last_autovacuum", "last_analyze", "last_autoanalyze")}
_EXPR.update({"idx_scan": "coalesce(idx_scan, 0)", "idx_tup_fetch": "coalesce(idx_tup_fetch, 0)",
              "index_size_bytes": "pg_indexes_size(relid)", "table_size_bytes": "pg_table_size(relid)",
              "total_size_bytes": "pg_total_relation_size(relid)"})
USER_TABLES = ("SELECT current_database(), schemaname, relname, "
               + ", ".join(_EXPR.get(c, c) for c in USER_TABLE_COLUMNS)
               + " FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT %s")
