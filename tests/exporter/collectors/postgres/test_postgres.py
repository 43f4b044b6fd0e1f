"""The postgres collector against a real PostgreSQL 15: a 100k-row table scanned by an unindexed column, an
unused index and a duplicate (prefix) index."""
from __future__ import annotations

import psycopg
import pytest

from perfadvisor.exporter.collectors.postgres.indexes import IndexRow, duplicates, is_unused
from tests.support.services import start_postgres, stop_server

from ..conftest import scrape

PW_ENV = "PERFADVISOR_TEST_PG_PASSWORD"


def _local(server, db: str = "postgres") -> psycopg.Connection:
    # the unix socket trusts local connections: test setup needs no password
    return psycopg.connect(host=server.extra["socket_dir"], port=server.port, user="postgres", dbname=db,
                           autocommit=True)


@pytest.fixture(scope="module")
def pg():
    with start_postgres(settings={"max_connections": "42"}) as server:
        with _local(server) as c:
            c.execute("CREATE DATABASE app")
            c.execute("CREATE EXTENSION pg_stat_statements")
        with _local(server, "app") as c:
            c.execute("CREATE TABLE orders (id serial PRIMARY KEY, customer int, status int, note text)")
            c.execute("INSERT INTO orders (customer, status, note) SELECT g % 1000, g % 7, 'n' || (g % 5000) "
                      "FROM generate_series(1, 100000) g")
            c.execute("CREATE INDEX orders_status_idx ON orders (status)")  # never used
            c.execute("CREATE INDEX orders_customer_idx ON orders (customer)")  # prefix of the next one
            c.execute("CREATE INDEX orders_customer_status_idx ON orders (customer, status)")
            c.execute("ANALYZE orders")
        # the workload runs in its own session, closed so its statistics are flushed
        with _local(server, "app") as c:
            for i in range(5):
                c.execute("SELECT count(*) FROM orders WHERE note = %s", (f"n{i}",))
            c.execute("SELECT * FROM orders WHERE id = 42")
        yield server


def _target(server, **kw):
    return {"dsn": f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres",
            "password_env": PW_ENV, "databases": ["app"], "timeout": "5s", **kw}


def test_postgres_metrics(pg, monkeypatch):
    monkeypatch.setenv(PW_ENV, pg.extra["password"])
    s = scrape("postgres", _target(pg))
    srv = {"server": f"127.0.0.1:{pg.port}"}
    table = {**srv, "datname": "app", "schemaname": "public", "relname": "orders"}
    assert s.value("pg_up", srv) == 1
    assert s.value("pg_settings_max_connections", srv) == 42
    assert s.value("pg_stat_user_tables_seq_scan", table) >= 5
    assert s.value("pg_stat_user_tables_seq_tup_read", table) >= 500_000
    assert s.value("pg_stat_user_tables_n_live_tup", table) >= 100_000
    assert s.value("pg_stat_user_tables_idx_scan", table) >= 1
    assert s.value("perfadvisor_pg_stat_user_tables_total_size_bytes", table) > s.value("pg_stat_user_tables_table_size_bytes", table)
    assert s.value("perfadvisor_pg_table_index_scan_ratio", table) < 0.5  # mostly sequential: a missing index

    def index(name):
        return {**table, "indexrelname": name}

    assert s.value("perfadvisor_pg_index_unused", index("orders_status_idx")) == 1
    assert s.value("perfadvisor_pg_index_unused", index("orders_pkey")) == 0  # primary keys are kept
    assert s.value("perfadvisor_pg_index_scans_total", index("orders_pkey")) >= 1
    assert s.value("perfadvisor_pg_index_size_bytes", index("orders_status_idx")) > 0
    assert s.value("perfadvisor_pg_index_duplicate_info",
                   {**index("orders_customer_idx"), "covered_by": "orders_customer_status_idx"}) == 1
    assert [x.labels["indexrelname"] for x in s.samples("perfadvisor_pg_index_duplicate_info")] == ["orders_customer_idx"]

    app = {**srv, "datname": "app"}
    assert s.value("pg_stat_database_blks_hit", app) > 0
    assert s.value("pg_stat_database_xact_commit", app) > 0
    assert s.value("pg_stat_database_tup_returned", app) > 0
    assert s.value("pg_stat_database_deadlocks", app) == 0
    assert s.value("pg_database_size_bytes", app) > 5_000_000
    assert s.value("pg_stat_activity_count", {**app, "state": "idle in transaction"}) == 0
    assert s.value("pg_stat_activity_max_tx_duration", {**app, "state": "active"}) == 0
    assert s.value("pg_locks_count", {**srv, "datname": "postgres", "mode": "accesssharelock"}) >= 0
    assert s.value("pg_postmaster_start_time_seconds", srv) > 0

    scans = [x for x in s.samples("perfadvisor_pg_stat_statements_query_info") if "note = $1" in x.labels["query"]]
    assert len(scans) == 1 and scans[0].labels["datname"] == "app" and scans[0].labels["user"] == "postgres"
    q = {**srv, "queryid": scans[0].labels["queryid"], "datname": "app", "user": "postgres"}
    assert s.value("pg_stat_statements_calls_total", q) == 5
    assert s.value("pg_stat_statements_seconds_total", q) > 0
    assert s.value("pg_stat_statements_rows_total", q) == 5
    assert s.value("perfadvisor_pg_stat_statements_mean_seconds", q) > 0
    assert pg.extra["password"] not in s.text


def test_missing_database_does_not_hide_the_server(pg, monkeypatch):
    monkeypatch.setenv(PW_ENV, pg.extra["password"])
    s = scrape("postgres", _target(pg, databases=["app", "gone"]))
    srv = {"server": f"127.0.0.1:{pg.port}"}
    assert s.value("pg_up", srv) == 1
    assert s.value("perfadvisor_pg_database_probe_success", {**srv, "datname": "app"}) == 1
    assert s.value("perfadvisor_pg_database_probe_success", {**srv, "datname": "gone"}) == 0
    assert s.value("pg_stat_user_tables_seq_scan", {**srv, "datname": "app", "relname": "orders"}) >= 5


def test_connections_are_kept_and_replaced_when_they_die(pg, monkeypatch):
    from perfadvisor.exporter.registry import CollectorContext, all_collectors

    monkeypatch.setenv(PW_ENV, pg.extra["password"])
    collector = all_collectors()["postgres"].factory(CollectorContext(settings={"targets": [_target(pg)]}))

    def up():
        return [s.value for f in collector.collect() for s in f.samples if s.name == "pg_up"]

    def ours(c):
        return c.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'perfadvisor-exporter'").fetchall()

    try:
        for _ in range(3):
            assert up() == [1]
        with _local(pg) as c:
            kept = ours(c)
            assert len(kept) == 2  # one to the DSN's database, one to "app"; not one per scrape
            for (pid,) in kept:
                c.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert up() == [1]  # dead connections are replaced within the scrape, no false pg_up 0
        with _local(pg) as c:
            assert len(ours(c)) == 2 and not set(ours(c)) & set(kept)
    finally:
        collector.cache.close()


def test_a_kept_connection_whose_backend_hangs_costs_one_timeout(pg, monkeypatch):
    import os
    import signal
    import time

    from perfadvisor.exporter.registry import CollectorContext, all_collectors

    monkeypatch.setenv(PW_ENV, pg.extra["password"])
    target = {"dsn": f"host=127.0.0.1 port={pg.port} user=postgres", "password_env": PW_ENV, "timeout": "2s"}
    collector = all_collectors()["postgres"].factory(CollectorContext(settings={"targets": [target]}))

    def up():
        return [s.value for f in collector.collect() for s in f.samples if s.name == "pg_up"]

    assert up() == [1]
    with _local(pg) as c:
        (pid,), = c.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'perfadvisor-exporter'")
    os.kill(pid, signal.SIGSTOP)  # the backend of our kept connection stops answering
    try:
        start = time.monotonic()
        assert up() == [0]
        assert time.monotonic() - start < 2.6  # the 2 s timeout plus the runner's 0.25 s grace, not forever
    finally:
        os.kill(pid, signal.SIGCONT)
    assert up() == [1]


def test_query_text_can_be_turned_off(pg, monkeypatch):
    monkeypatch.setenv(PW_ENV, pg.extra["password"])
    s = scrape("postgres", _target(pg, statements_query_text=False))
    assert s.samples("pg_stat_statements_calls_total")
    assert not s.samples("perfadvisor_pg_stat_statements_query_info")


def test_password_in_dsn_stays_out_of_labels(pg):
    secret = pg.extra["password"]
    s = scrape("postgres", {"dsn": f"postgresql://postgres:{secret}@127.0.0.1:{pg.port}/postgres", "timeout": "5s"})
    assert s.value("pg_up", {"server": f"127.0.0.1:{pg.port}"}) == 1
    assert secret not in s.text


def test_wrong_password_is_down(pg):
    s = scrape("postgres", {"dsn": f"host=127.0.0.1 port={pg.port} user=postgres", "password": "wrong-pw",
                            "timeout": "3s"})
    assert s.value("pg_up", {"server": f"127.0.0.1:{pg.port}"}) == 0
    assert "wrong-pw" not in s.text


def test_stopped_and_hung_servers_are_down(hung_port, monkeypatch):
    with start_postgres() as server:
        monkeypatch.setenv(PW_ENV, server.extra["password"])
        target = {"dsn": f"host=127.0.0.1 port={server.port} user=postgres", "password_env": PW_ENV, "timeout": "2s"}
        assert scrape("postgres", target).value("pg_up") == 1
        stop_server(server)
        hung = {"dsn": f"host=127.0.0.1 port={hung_port} user=postgres", "password": "x", "timeout": "2s"}
        s = scrape("postgres", target, hung)
        assert s.value("pg_up", {"server": f"127.0.0.1:{server.port}"}) == 0
        assert s.value("pg_up", {"server": f"127.0.0.1:{hung_port}"}) == 0
        assert s.seconds < 2.6  # bounded by the 2 s timeouts (+ grace), probed concurrently


def _ix(name, cols, unique=False, primary=False, scans=0, table="t", method="btree", pred="", plain=True):
    return IndexRow("public", table, name, scans, 8192, unique, primary, tuple(cols), plain, pred, method)


def test_duplicate_rules():
    rows = [_ix("t_pkey", [1], unique=True, primary=True, scans=3), _ix("t_id_idx", [1]),
            _ix("t_a", [2]), _ix("t_a_b", [2, 3]), _ix("t_a_twin", [2]),
            _ix("t_u_a", [2], unique=True),  # unique on fewer columns: enforces something, keep
            _ix("t_a_partial", [2], pred="(b > 0)"),  # a different predicate: not covered
            _ix("t_expr", [0]), _ix("u_a", [2], table="u"),  # expressions and other tables: never
            _ix("t_gin", [4], method="gin"), _ix("t_gin_2", [4, 5], method="gin")]
    found = {small.name: big.name for small, big in duplicates(rows)}
    assert found == {"t_id_idx": "t_pkey", "t_a": "t_u_a", "t_a_twin": "t_u_a"}


def test_unused_rules():
    assert is_unused(_ix("a", [1]))
    assert not is_unused(_ix("a", [1], scans=1))
    assert not is_unused(_ix("a", [1], unique=True))
    assert not is_unused(_ix("a", [1], unique=True, primary=True))
