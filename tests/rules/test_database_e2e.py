"""The database pack against a real PostgreSQL probed by our exporter: a 120k-row table read by sequential
scans, unused and duplicate indexes, an idle transaction, a deadlock, rollbacks, temp-file spills, a slow
statement, dead tuples and connections close to max_connections."""
from __future__ import annotations

import contextlib
import random
import threading

import psycopg
import pytest

from tests.support.services import start_postgres

from .conftest import Workload, exporter_and_prometheus, findings, poll_report

SETS = ("rate_window=10s", "lookback=60s", "long_transaction_seconds=3", "dead_tuples_min=1000")
SCHEMA = """
CREATE EXTENSION pg_stat_statements;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, status int NOT NULL, note text NOT NULL);
INSERT INTO orders (customer_id, status, note) SELECT g % 5000, g % 7, 'note ' || g FROM generate_series(1, 120000) g;
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_customer_status_idx ON orders (customer_id, status);
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 120000) g;
CREATE TABLE events (id bigserial PRIMARY KEY, payload text) WITH (autovacuum_enabled = false);
INSERT INTO events (payload) SELECT 'e' || g FROM generate_series(1, 20000) g;
ANALYZE;
DELETE FROM events WHERE id % 2 = 0;
"""

# A window over the whole table sorted by text: with work_mem = 64kB the sort spills to a temp file.
SPILL = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY note) AS r FROM orders) s"


def _deadlock(connect) -> None:
    """Two transactions locking the same two rows in opposite order; PostgreSQL aborts one of them."""
    a, b = connect(autocommit=False), connect(autocommit=False)
    try:
        a.execute("UPDATE customers SET name = name WHERE id = 1")
        b.execute("UPDATE customers SET name = name WHERE id = 2")
        errors = []

        def second_a():
            try:
                a.execute("UPDATE customers SET name = name WHERE id = 2")
            except psycopg.errors.DeadlockDetected as e:
                errors.append(e)
        t = threading.Thread(target=second_a)
        t.start()
        try:
            b.execute("UPDATE customers SET name = name WHERE id = 1")
        except psycopg.errors.DeadlockDetected as e:
            errors.append(e)
        t.join(30)
        assert len(errors) == 1, errors
    finally:
        a.close()
        b.close()


@pytest.fixture(scope="module")
def db_env():
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(start_postgres(settings={"max_connections": "30"}))
        sock = pg.extra["socket_dir"]

        def connect(db="shop", autocommit=True):
            return psycopg.connect(host=sock, port=pg.port, user="postgres", dbname=db, autocommit=autocommit)
        with connect("postgres") as c:
            c.execute("CREATE DATABASE shop")
        setup = stack.enter_context(connect())
        setup.execute(SCHEMA)

        scans, sleeper, spiller, rollbacks = (stack.enter_context(connect()) for _ in range(4))
        spiller.execute("SET work_mem = '64kB'")

        def scan_step():
            scans.execute("SELECT count(*) FROM orders WHERE note = %s", (f"note {random.randrange(120000)}",))
            scans.execute("SELECT name FROM customers WHERE id = %s", (random.randrange(1, 120000),))

        def rollback_step():
            rollbacks.execute("BEGIN")
            rollbacks.execute("SELECT 1")
            rollbacks.execute("ROLLBACK")

        dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname=shop"
        prom = stack.enter_context(exporter_and_prometheus(
            pg.dir / "stack", {"postgres": {"targets": [{"dsn": dsn, "password": pg.extra["password"]}]}}))
        prom.wait_for_series("pg_up == 1")
        # after the counter's first sample: increase() only sees deadlocks that happen while it is scraped
        prom.wait_for_series('pg_stat_database_deadlocks{datname="shop"}')
        _deadlock(connect)
        idle_tx = stack.enter_context(connect(autocommit=False))
        idle_tx.execute("SELECT 1")  # and then nothing: "idle in transaction"
        # with the 4 workload connections, setup, idle_tx and the exporter's: 26 of max_connections = 30
        for _ in range(19):
            stack.enter_context(connect())
        stack.enter_context(Workload(scan_step, pause=0.2))
        stack.enter_context(Workload(lambda: sleeper.execute("SELECT pg_sleep(0.2)")))
        stack.enter_context(Workload(lambda: spiller.execute(SPILL), pause=0.5))
        stack.enter_context(Workload(rollback_step, pause=0.02))
        expected = ("db-pg-seq-scan-large-table", "db-pg-unused-index", "db-pg-duplicate-index",
                    "db-pg-long-transaction", "db-pg-connections-near-max", "db-pg-slow-statement",
                    "db-pg-temp-files", "db-pg-deadlocks", "db-pg-rollback-ratio", "db-pg-dead-tuples")
        report = poll_report(prom.url, "database", SETS, lambda r: all(findings(r, rid) for rid in expected))
        yield report, f"127.0.0.1:{pg.port}"


def test_seq_scan_rule_names_the_large_unindexed_table(db_env):
    report, server = db_env
    seq = findings(report, "db-pg-seq-scan-large-table")
    assert [(f["labels"]["datname"], f["labels"]["relname"]) for f in seq] == [("shop", "orders")]
    f = seq[0]
    assert f["labels"]["server"] == server and f["value"] == 1.0
    assert "table public.orders (database shop)" in f["recommendation"]
    assert "CREATE INDEX CONCURRENTLY ON public.orders" in f["recommendation"]
    rows = {e["title"]: e["series"] for e in f["evidence"]}["Rows read per sequential scan"]
    assert rows[0]["labels"]["relname"] == "orders" and rows[0]["value"] == pytest.approx(120000, rel=0.25)
    busiest = {e["title"]: e["series"] for e in f["evidence"]}[
        "Statements taking the most time now (seconds per second, query text)"]
    assert "SELECT count(*) FROM orders WHERE note = $1" in [x["labels"].get("query") for x in busiest]


def test_unused_indexes_are_named_with_their_size(db_env):
    report, _ = db_env
    unused = {f["labels"]["indexrelname"]: f for f in findings(report, "db-pg-unused-index")}
    assert "orders_status_idx" in unused
    assert not {"orders_pkey", "customers_pkey", "events_pkey"} & set(unused)  # constraints are never "unused"
    f = unused["orders_status_idx"]
    assert f["value"] > 500_000  # 120k entries (deduplicated)
    assert "DROP INDEX CONCURRENTLY public.orders_status_idx;" in f["recommendation"]
    assert f"saves {f['value'] / 1024:.1f} KiB" in " ".join(f["recommendation"].split())


def test_duplicate_index_names_the_covering_index(db_env):
    report, _ = db_env
    dup = findings(report, "db-pg-duplicate-index")
    assert [(f["labels"]["indexrelname"], f["labels"]["covered_by"]) for f in dup] == \
        [("orders_customer_idx", "orders_customer_status_idx")]
    text = dup[0]["recommendation"]
    assert "covered by\nindex orders_customer_status_idx" in text or "covered by index orders_customer_status_idx" \
        in " ".join(text.split())
    assert "DROP INDEX CONCURRENTLY public.orders_customer_idx;" in text


def test_idle_transaction_gets_the_timeout_advice(db_env):
    report, _ = db_env
    long_tx = findings(report, "db-pg-long-transaction")
    assert [f["labels"]["state"] for f in long_tx] == ["idle in transaction"]
    assert "idle_in_transaction_session_timeout" in long_tx[0]["recommendation"]


def test_connections_near_max_suggest_a_pooler(db_env):
    report, server = db_env
    conns = findings(report, "db-pg-connections-near-max")
    assert [f["labels"]["server"] for f in conns] == [server]
    assert conns[0]["value"] > 0.8 and "PgBouncer" in conns[0]["recommendation"]


def test_slow_statement_names_queryid_and_text(db_env):
    report, _ = db_env
    slow = [f for f in findings(report, "db-pg-slow-statement") if "pg_sleep" in f["labels"].get("query", "")]
    assert len(slow) == 1
    f = slow[0]
    assert "pg_sleep" in f["labels"]["query"] and f["value"] >= 0.2
    assert f"queryid = {f['labels']['queryid']}" in f["recommendation"]


def test_events_of_the_workload_are_reported(db_env):
    report, _ = db_env
    for rule in ("db-pg-temp-files", "db-pg-deadlocks", "db-pg-rollback-ratio"):
        assert [f["labels"]["datname"] for f in findings(report, rule)] == ["shop"], rule
    assert "work_mem" in findings(report, "db-pg-temp-files")[0]["recommendation"]
    assert "same order" in findings(report, "db-pg-deadlocks")[0]["recommendation"]
    dead = findings(report, "db-pg-dead-tuples")
    assert [f["labels"]["relname"] for f in dead] == ["events"]
    assert dead[0]["value"] == pytest.approx(0.5, abs=0.05)
    assert "ALTER TABLE public.events SET (autovacuum_vacuum_scale_factor" in dead[0]["recommendation"]
