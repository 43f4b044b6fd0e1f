"""postgres: server and per-database statistics under postgres_exporter's names, plus PgHero-style index
checks under ``perfadvisor_pg_*``.

postgres_exporter labels each series with ``server`` (host:port) when it watches several servers; this
collector always does, since one scrape covers every configured DSN. Its counters that have no _total suffix
(pg_stat_database_xact_commit, pg_stat_user_tables_seq_scan, ...) are exposed untyped under the exact name,
because prometheus_client cannot write a counter without _total; rate() works the same.
Every statement runs under ``statement_timeout`` (the target's timeout).
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import psycopg

from .indexes import INDEX_SQL, IndexRow, duplicates, index_scan_share, is_unused
from .pool import ConnectionCache, NoCache
from .._probe import (SECRET_SCHEMA, TIMEOUT_SCHEMA, Families, ProbeCollector, redact_dsn, resolve_secret, scrub,
                      target_secrets, targets_schema)
from ...registry import CollectorContext, Family, register
from . import sql as q

log = logging.getLogger("perfadvisor.exporter.probes")

_SAFE_QUERY = re.compile(r"^\s*(select|insert|update|delete|with|merge|values|table)\b", re.I)


def server_label(target: Mapping[str, Any]) -> str:
    """host:port of the DSN, as postgres_exporter's ``server`` label."""
    # psycopg is imported on first use (targets configured): ~10 MB of RSS otherwise loaded for nothing
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        d = conninfo_to_dict(str(target["dsn"]))
    except psycopg.Error:
        return redact_dsn(str(target["dsn"]))
    return f"{d.get('host') or 'localhost'}:{d.get('port') or 5432}"


def _connect(target: Mapping[str, Any], timeout: float, dbname: str | None = None) -> psycopg.Connection:
    import psycopg

    kw: dict[str, Any] = {"autocommit": True, "connect_timeout": max(2, int(round(timeout))),
                          "application_name": "perfadvisor-exporter",
                          "options": f"-c statement_timeout={max(100, int(timeout * 1000))}"}
    password = resolve_secret(target)
    if password is not None:
        kw["password"] = password
    if dbname:
        kw["dbname"] = dbname
    return psycopg.connect(str(target["dsn"]), **kw)


def _down(target: Mapping[str, Any], why: str) -> Families:
    f = Families()
    f.gauge("pg_up", "Whether the last scrape of metrics from PostgreSQL was able to connect to the server "
            "(1 for yes, 0 for no).", {"server": server_label(target)}, 0)
    return f


def _num(v) -> float:
    return float(v) if v is not None else 0.0


def server_metrics(conn: psycopg.Connection, lab: Mapping[str, str], f: Families) -> None:
    """Server-wide statistics: pg_stat_database, activity, locks, sizes, settings."""
    with conn.cursor() as cur:
        cur.execute(q.STAT_DATABASE)
        for row in cur.fetchall():
            dl = {**lab, "datid": row[0], "datname": row[1]}
            f.gauge("pg_stat_database_numbackends", "Number of backends currently connected to this database.",
                    dl, row[2])
            for col, v in zip(q.STAT_DATABASE_COUNTERS, row[3:]):
                f.untyped(f"pg_stat_database_{col}", f"pg_stat_database.{col} (counter).", dl, _num(v))
        cur.execute(q.ACTIVITY)
        for datname, state, count, max_tx in cur.fetchall():
            al = {**lab, "datname": datname, "state": state}
            f.gauge("pg_stat_activity_count", "number of connections in this state", al, count)
            f.gauge("pg_stat_activity_max_tx_duration", "max duration in seconds any active transaction has been "
                    "running", al, _num(max_tx))
        cur.execute(q.LOCKS)
        for datname, mode, count in cur.fetchall():
            f.gauge("pg_locks_count", "Number of locks", {**lab, "datname": datname, "mode": mode}, count)
        cur.execute(q.DATABASE_SIZE)
        for datname, size in cur.fetchall():
            f.gauge("pg_database_size_bytes", "Disk space used by the database", {**lab, "datname": datname}, size)
        cur.execute(q.SETTINGS, (list(q.SETTING_NAMES),))
        for name, setting, unit, vartype in cur.fetchall():
            metric, value = q.setting_value(name, setting, unit, vartype)
            if value is not None:
                f.gauge(f"pg_settings_{metric}", f"Server Parameter: {name}", lab, value)
        cur.execute(q.VERSION)
        version, num = cur.fetchone()
        f.gauge("pg_static", "Version string as reported by postgres", {**lab, "version": version,
                "short_version": f"{num // 10000}.{num % 10000}.0" if num >= 100000 else
                f"{num // 10000}.{num // 100 % 100}.{num % 100}"}, 1)
        cur.execute(q.START_TIME)
        f.gauge("pg_postmaster_start_time_seconds", "Time at which postmaster started", lab, _num(cur.fetchone()[0]))


def statements_metrics(conn: psycopg.Connection, lab: Mapping[str, str], f: Families, limit: int,
                       with_text: bool) -> None:
    """The top ``limit`` statements by total time from pg_stat_statements, when the extension is installed."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cur.fetchone() is None:
            return
        cur.execute(q.statements_sql(conn.info.server_version), (limit,))
        for queryid, user, datname, calls, total, mean, rows, read, write, text in cur.fetchall():
            sl = {**lab, "user": user, "datname": datname, "queryid": queryid}
            f.counter("pg_stat_statements_calls_total", "Number of times executed", sl, calls)
            f.counter("pg_stat_statements_seconds_total", "Total time spent in the statement, in seconds", sl,
                      _num(total))
            f.counter("pg_stat_statements_rows_total", "Total number of rows retrieved or affected by the "
                      "statement", sl, rows)
            f.counter("pg_stat_statements_block_read_seconds_total", "Total time the statement spent reading "
                      "blocks, in seconds", sl, _num(read))
            f.counter("pg_stat_statements_block_write_seconds_total", "Total time the statement spent writing "
                      "blocks, in seconds", sl, _num(write))
            f.gauge("perfadvisor_pg_stat_statements_mean_seconds", "Mean execution time of the statement.", sl,
                    _num(mean))
            # Only plannable statements are normalised (constants become $n); utility statements such as
            # ALTER ROLE ... PASSWORD keep their literal text, so their text is never published.
            if with_text and text and _SAFE_QUERY.match(text):
                f.gauge("perfadvisor_pg_stat_statements_query_info", "Normalised statement text (shortened).",
                        {**sl, "query": text}, 1)


def database_metrics(conn: psycopg.Connection, lab: Mapping[str, str], f: Families, target: Mapping[str, Any]) -> None:
    """Per-table and per-index statistics of the database ``conn`` is connected to."""
    max_rel = int(target.get("max_relations", 200))
    min_rows = int(target.get("min_table_rows", 10000))
    with conn.cursor() as cur:
        cur.execute(q.USER_TABLES, (max_rel,))
        for row in cur.fetchall():
            datname, schema, rel = row[:3]
            tl = {**lab, "datname": datname, "schemaname": schema, "relname": rel}
            values = dict(zip(q.USER_TABLE_COLUMNS, row[3:]))
            for col, v in values.items():
                kind = q.USER_TABLE_KIND[col]
                name = q.USER_TABLE_NAMES[col]
                if kind == "counter":
                    f.untyped(name, f"pg_stat_user_tables.{col} (counter).", tl, _num(v))
                else:
                    f.gauge(name, f"pg_stat_user_tables.{col}.", tl, _num(v))
            share = index_scan_share(int(values["seq_scan"] or 0), int(values["idx_scan"] or 0))
            if share is not None and _num(values["n_live_tup"]) >= min_rows:
                f.gauge("perfadvisor_pg_table_index_scan_ratio", f"Share of scans that used an index, for tables "
                        f"with at least {min_rows} live rows (low: a missing index).", tl, share)
        cur.execute("SELECT current_database()")
        datname = cur.fetchone()[0]
        cur.execute(INDEX_SQL, (max_rel * 4,))
        indexes = [IndexRow.from_db(r) for r in cur.fetchall()]
    for ix in indexes:
        il = {**lab, "datname": datname, "schemaname": ix.schema, "relname": ix.table, "indexrelname": ix.name}
        f.counter("perfadvisor_pg_index_scans_total", "Index scans initiated on this index.", il, ix.scans)
        f.gauge("perfadvisor_pg_index_size_bytes", "On-disk size of the index.", il, ix.size)
        f.gauge("perfadvisor_pg_index_unused", "1 if the index was never scanned and enforces no unique/primary "
                "constraint.", il, int(is_unused(ix)))
    for small, big in duplicates(indexes):
        f.gauge("perfadvisor_pg_index_duplicate_info", "1 for an index whose columns lead another index on the "
                "same table (covered_by); its size is perfadvisor_pg_index_size_bytes.",
                {**lab, "datname": datname, "schemaname": small.schema, "relname": small.table,
                 "indexrelname": small.name, "covered_by": big.name}, 1)


def probe(target: Mapping[str, Any], timeout: float, cache: ConnectionCache | None = None) -> Families:
    """One PostgreSQL server: server-wide statistics, then each configured database's tables and indexes."""
    import psycopg

    cache = cache or NoCache()
    lab = {"server": server_label(target)}
    f = Families()
    with cache.connection((id(target), None), lambda: _connect(target, timeout)) as conn:
        f.gauge("pg_up", "Whether the last scrape of metrics from PostgreSQL was able to connect to the server "
                "(1 for yes, 0 for no).", lab, 1)
        server_metrics(conn, lab, f)
        if target.get("stat_statements", True):
            statements_metrics(conn, lab, f, int(target.get("statements_limit", 20)),
                               bool(target.get("statements_query_text", True)))
        own_db = conn.info.dbname
        databases = list(target.get("databases") or [own_db])
        if own_db in databases:
            database_metrics(conn, lab, f, target)
            f.gauge("perfadvisor_pg_database_probe_success", _DB_OK, {**lab, "datname": own_db}, 1)
    for db in databases:
        if db == own_db:
            continue
        # one unreachable database (dropped, no CONNECT right) must not hide the server's other metrics
        try:
            with cache.connection((id(target), db), lambda: _connect(target, timeout, dbname=db)) as conn:
                part = Families()
                database_metrics(conn, lab, part, target)
            f.merge(part)
            ok = 1
        except psycopg.Error as e:
            log.warning("postgres database probe failed", extra={"kv": {
                "collector": "postgres", "target": lab["server"], "datname": db,
                "err": scrub(f"{type(e).__name__}: {e}", target_secrets(target))}})
            ok = 0
        f.gauge("perfadvisor_pg_database_probe_success", _DB_OK, {**lab, "datname": db}, ok)
    return f


_DB_OK = "1 if the tables and indexes of this configured database could be read."



@register("postgres", default=False, help="PostgreSQL statistics (postgres_exporter names) and index checks.",
          config_schema=targets_schema({
              "dsn": {"type": "string", "description": "libpq DSN or URI; keep the password out (password_env)."},
              "timeout": TIMEOUT_SCHEMA,
              "databases": {"type": "array", "items": {"type": "string"},
                            "description": "Databases whose tables and indexes are read (default: the DSN's)."},
              "stat_statements": {"type": "boolean", "description": "Read pg_stat_statements (default true)."},
              "statements_limit": {"type": "integer", "minimum": 1, "description": "Top N statements (default 20)."},
              "statements_query_text": {"type": "boolean",
                                        "description": "Publish shortened normalised query text (default true)."},
              "max_relations": {"type": "integer", "minimum": 1, "description": "Largest N tables (default 200)."},
              "min_table_rows": {"type": "integer", "minimum": 0,
                                 "description": "Tables smaller than this get no index-scan ratio (default 10000)."},
              **SECRET_SCHEMA}, required=["dsn"]))
class PostgresCollector(ProbeCollector):
    families = (
        Family("pg_up", "gauge", ("server",)),
        Family("pg_stat_database_numbackends", "gauge", ("server", "datid", "datname")),
        Family("pg_stat_database_{xact_commit,xact_rollback,blks_read,blks_hit,tup_returned,tup_fetched,"
               "tup_inserted,tup_updated,tup_deleted,conflicts,temp_files,temp_bytes,deadlocks,blk_read_time,"
               "blk_write_time}", "untyped", ("server", "datid", "datname")),
        Family("pg_stat_activity_count", "gauge", ("server", "datname", "state")),
        Family("pg_stat_activity_max_tx_duration", "gauge", ("server", "datname", "state")),
        Family("pg_locks_count", "gauge", ("server", "datname", "mode")),
        Family("pg_database_size_bytes", "gauge", ("server", "datname")),
        Family("pg_settings_<name>[_bytes|_seconds]", "gauge", ("server",)),
        Family("", "", note="max_connections, shared_buffers, effective_cache_size, work_mem, maintenance_work_mem,"
                            " random_page_cost, checkpoint_timeout, max_wal_size, autovacuum, ..."),
        Family("pg_postmaster_start_time_seconds", "gauge", ("server",)),
        Family("pg_static", "gauge", ("server", "version", "short_version")),
        Family("pg_stat_user_tables_{seq_scan,seq_tup_read,idx_scan,idx_tup_fetch,n_tup_ins,n_tup_upd,n_tup_del,"
               "n_tup_hot_upd,vacuum_count,autovacuum_count,analyze_count,autoanalyze_count}", "untyped",
               ("server", "datname", "schemaname", "relname")),
        Family("pg_stat_user_tables_{n_live_tup,n_dead_tup,n_mod_since_analyze,last_vacuum,last_autovacuum,"
               "last_analyze,last_autoanalyze,index_size_bytes,table_size_bytes}", "gauge",
               ("server", "datname", "schemaname", "relname")),
        Family("perfadvisor_pg_stat_user_tables_total_size_bytes", "gauge", ("server", "datname", "schemaname", "relname"),
               "table + indexes + TOAST (pg_total_relation_size); postgres_exporter has no such metric"),
        Family("pg_stat_statements_{calls,seconds,rows,block_read_seconds,block_write_seconds}_total", "counter",
               ("server", "user", "datname", "queryid")),
        Family("perfadvisor_pg_stat_statements_mean_seconds", "gauge", ("server", "user", "datname", "queryid")),
        Family("perfadvisor_pg_stat_statements_query_info", "gauge", ("server", "user", "datname", "queryid", "query")),
        Family("perfadvisor_pg_index_scans_total", "counter",
               ("server", "datname", "schemaname", "relname", "indexrelname")),
        Family("perfadvisor_pg_index_size_bytes", "gauge",
               ("server", "datname", "schemaname", "relname", "indexrelname")),
        Family("perfadvisor_pg_index_unused", "gauge", ("server", "datname", "schemaname", "relname", "indexrelname")),
        Family("perfadvisor_pg_index_duplicate_info", "gauge",
               ("server", "datname", "schemaname", "relname", "indexrelname", "covered_by")),
        Family("perfadvisor_pg_table_index_scan_ratio", "gauge", ("server", "datname", "schemaname", "relname")),
        Family("perfadvisor_pg_database_probe_success", "gauge", ("server", "datname")),
    )

    name = "postgres"
    label = staticmethod(server_label)
    down = staticmethod(_down)

    def __init__(self, ctx: CollectorContext):
        super().__init__(ctx)
        self.cache = ConnectionCache()  # one open connection per target and database, as postgres_exporter

    def describe(self, target: Mapping[str, Any]) -> str:
        return redact_dsn(str(target["dsn"]))

    def probe(self, target: Mapping[str, Any], timeout: float) -> Families:
        return probe(target, timeout, cache=self.cache)
