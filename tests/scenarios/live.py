"""Live scenarios: problems induced on this host at once, seen by one exporter and one Prometheus (1 s scrapes),
judged by `advisor run` with all built-in packs and windows short enough for the minutes a test has.

The service workloads follow the service packs' end-to-end tests (tests/rules/test_*_e2e.py), reduced to the one
problem each scenario needs; the PostgreSQL schema and the JSON document are theirs.
"""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
import redis
import requests

from tests.rules.conftest import Workload, exporter_and_prometheus
from tests.rules.test_database_e2e import SCHEMA
from tests.rules.test_network_e2e import DOC
from tests.support.leak import leaking_process
from tests.support.procs import IN_CI, free_port
from tests.support.services import start_haproxy, start_nginx, start_postgres, start_redis
from tests.support.services_extra import HAPROXY_FIRST_AND_ROUNDROBIN
from tests.support.workloads import (Appender, busy_loop, can_mount, drop_one_connection, fd_leaker, fill_to,
                                     group_name, loop_filesystem, steady_process, thread_leaker)

from .harness import Expect, Quiet, Scenario, advisor_report, judge

# Windows for a run of a few minutes. The network pack keeps its 5-minute rate window: the dropped-connection
# baseline is "one drop in five minutes".
SETS = ("process.lookback=60s", "process.leak_lookback=60s", "process.step=2s", "process.rate_window=10s",
        "host.lookback=60s", "host.step=2s", "host.rate_window=10s",
        "cache.rate_window=10s", "cache.lookback=60s",
        "database.rate_window=10s", "database.lookback=60s",
        "network.window=20s",
        "loadbalancer.rate_window=10s", "loadbalancer.lookback=15s", "loadbalancer.step=1s")
HISTORY = 65.0     # seconds of scrapes before the first verdict: the 60 s windows above, and a little more
DEADLINE = 150.0   # seconds after the workloads start by which every expected finding must be there

NGINX_BODY = """
        types { application/json json; text/html html; }
        gzip off;
        location /gz/ { gzip on; gzip_min_length 256; gzip_types application/json; }
"""
HAPROXY_BODY = HAPROXY_FIRST_AND_ROUNDROBIN
REDIS_WRITTEN, REDIS_READ = 100, 400   # reads over 400 keys of which 100 exist: 75 % are negative lookups


@dataclass
class LiveResult:
    report: dict
    scenarios: dict[str, Scenario]
    seconds: float                     # from the first workload to the last report


def _redis_reads(conn: redis.Redis) -> None:
    pipe = conn.pipeline(transaction=False)
    for _ in range(40):
        pipe.get(f"k{random.randrange(REDIS_READ)}")
    pipe.execute()


def scenarios(g: dict[str, str], mounts: dict[str, str | None], skip_disk: str | None, redis_addr: str,
              urls: dict[str, str]) -> list[Scenario]:
    return [
        Scenario("live-cpu-hog", "a single-threaded busy loop (one core by construction)",
                 expect=(Expect("process-cpu-hog", {"groupname": g["hog"]}, what="the busy loop is a CPU hog"),)),
        Scenario("live-memory-leak", "a process whose resident memory grows 2 MB/s",
                 expect=(Expect("process-memory-leak", {"groupname": g["mem"]}),),
                 quiet=(Quiet("process-cpu-hog", {"groupname": g["mem"]}),)),
        Scenario("live-fd-leak", "a process opening 5 descriptors/s and never closing them",
                 expect=(Expect("process-fd-leak", {"groupname": g["fd"]}),)),
        Scenario("live-thread-leak", "a process starting 4 threads/s that never end",
                 expect=(Expect("process-thread-leak", {"groupname": g["thr"]}),),
                 quiet=(Quiet("process-memory-leak", {"groupname": g["thr"]}, unless_cause=r"(?i)thread",
                              what="its memory growth is thread stacks: a memory-leak finding must name them"),)),
        Scenario("live-filling-disk", "a log appended at 0.5 MiB/s on a 128 MiB ext4 filesystem",
                 expect=(Expect("host-filesystem-fill-up", {"mountpoint": mounts["filling"] or "-"},
                                states=("firing", "pending"), what="fill-up fires, or is pending on a short run"),),
                 skipped=skip_disk),
        Scenario("live-full-disk-first-run", "a 64 MiB ext4 filesystem 99.5 % full when the advisor first runs",
                 expect=(Expect("host-filesystem-almost-full", {"mountpoint": mounts["full"] or "-"},
                                states=("pending",), what="reported as pending (its 5 m `for` has not passed), "
                                                          "not left out as 'not evaluated'"),),
                 skipped=skip_disk),
        Scenario("live-redis-negative-lookups", "Redis read over 400 keys of which 100 were ever written "
                 "(no maxmemory, no TTLs)",
                 expect=(Expect("cache-redis-hit-ratio-low", {"addr": redis_addr},
                                text=r"(?i)negative lookups?|never (been )?(written|set|stored)",
                                not_text=r"(?i)shorter than the reuse interval",
                                what="the hit ratio is low and the text names reads of keys that do not exist"),),
                 quiet=(Quiet("cache-redis-evictions-at-maxmemory", {"addr": redis_addr}),)),
        Scenario("live-postgres-seq-scan", "a 120k-row table read by sequential scans (no index on the column)",
                 expect=(Expect("db-pg-seq-scan-large-table", {"datname": "shop", "relname": "orders"},
                                text=r"public\.orders", what="names the table"),),
                 quiet=(Quiet("db-pg-seq-scan-large-table", {"relname": "customers"},
                              what="a table read by primary key"),)),
        Scenario("live-nginx-no-gzip", "nginx serving 23 KiB of JSON without gzip (and the same with gzip)",
                 expect=(Expect("network-response-not-compressed", {"target": urls["plain"]}),),
                 quiet=(Quiet("network-response-not-compressed", {"target": urls["gz"]}),)),
        Scenario("live-haproxy-balance-first", "HAProxy `balance first` over servers weighted 1:3",
                 expect=(Expect("lb-haproxy-uneven-distribution", {"proxy": "skewed", "server": "s1"},
                                text=r"(?i)balance\W+first|algorithm\W.{0,40}\bfirst\b",
                                what="the skew is found and the text names the configured algorithm"),),
                 quiet=(Quiet("lb-haproxy-uneven-distribution", {"proxy": "even"},
                              what="roundrobin follows its weights"),)),
        Scenario("live-steady-service", "a healthy process: 30 MB resident from the start, a little CPU",
                 quiet=(Quiet("process-*", {"groupname": g["calm"]}),)),
        Scenario("live-one-dropped-connection", "one connection dropped at a full accept queue in five minutes",
                 quiet=(Quiet("network-listen-overflows", {}, what="one drop is not an overflowing queue"),)),
    ]


@contextlib.contextmanager
def live_environment(base: Path) -> Iterator[LiveResult]:
    g = {k: group_name(k) for k in ("hog", "mem", "fd", "thr", "calm")}
    with contextlib.ExitStack() as stack:
        mounts: dict[str, str | None] = {"filling": None, "full": None}
        skip_disk = None if can_mount() or IN_CI else "mounting a loop filesystem needs root"  # CI: fails instead
        if skip_disk is None:
            filling = stack.enter_context(loop_filesystem(base / "filling", 128))
            full = stack.enter_context(loop_filesystem(base / "full", 64))
            fill_to(full, 0.995)
            mounts = {"filling": str(filling), "full": str(full)}

        cache = stack.enter_context(start_redis(base))
        conn = stack.enter_context(redis.Redis(port=cache.port))
        for i in range(REDIS_WRITTEN):
            conn.set(f"k{i}", b"v" * 100)

        pg = stack.enter_context(start_postgres())

        def connect(db: str = "shop"):
            return psycopg.connect(host=pg.extra["socket_dir"], port=pg.port, user="postgres", dbname=db,
                                   autocommit=True)
        with connect("postgres") as c:
            c.execute("CREATE DATABASE shop")
        stack.enter_context(connect()).execute(SCHEMA)
        scans = stack.enter_context(connect())

        web = stack.enter_context(start_nginx(base / "nginx", NGINX_BODY, {
            "plain/data.json": DOC, "gz/data.json": DOC, "index.html": b"hello\n"}))
        first, rr = free_port(), free_port()
        (base / "haproxy").mkdir()
        lb = stack.enter_context(start_haproxy(base / "haproxy", HAPROXY_BODY.format(first=first, rr=rr,
                                                                                     web=web.port)))
        urls = {"plain": f"http://127.0.0.1:{web.port}/plain/data.json",
                "gz": f"http://127.0.0.1:{web.port}/gz/data.json"}

        stack.enter_context(busy_loop(g["hog"]))
        stack.enter_context(leaking_process(g["mem"]))
        stack.enter_context(fd_leaker(g["fd"]))
        stack.enter_context(thread_leaker(g["thr"]))
        stack.enter_context(steady_process(g["calm"]))

        collectors = {
            "processes": {"groups": [{"name": name, "comm": [name]} for name in g.values()]},
            "redis": {"targets": [{"address": cache.address}]},
            "postgres": {"targets": [{"dsn": f"host=127.0.0.1 port={pg.port} user=postgres dbname=shop",
                                      "password": pg.extra["password"]}]},
            "http_probe": {"targets": [{"url": u, "timeout": "2s"} for u in urls.values()]},
            "haproxy": {"targets": [{"url": f"http://127.0.0.1:{lb.port}/stats;csv"}]},
        }
        prom = stack.enter_context(exporter_and_prometheus(
            base / "stack", collectors, keep_defaults=("cpu", "meminfo", "filesystem", "filefd", "netstat",
                                                       "loadavg", "vmstat")))
        prom.wait_for_series('namedprocess_namegroup_num_procs{groupname=~"%s.*"}' % group_name(""),
                             min_results=len(g))
        for expr in ("redis_up == 1", "pg_up == 1", "perfadvisor_haproxy_up == 1", "node_netstat_TcpExt_ListenOverflows"):
            prom.wait_for_series(expr)
        prom.wait_for_series("probe_success", min_results=len(urls))

        started = time.monotonic()
        if mounts["filling"]:
            stack.enter_context(Workload(Appender(Path(mounts["filling"]) / "app.log", 256 * 1024), pause=0.5))
        stack.enter_context(Workload(lambda: _redis_reads(conn), pause=0.05))

        def scan_step():
            scans.execute("SELECT count(*) FROM orders WHERE note = %s", (f"note {random.randrange(120000)}",))
            scans.execute("SELECT name FROM customers WHERE id = %s", (random.randrange(1, 120000),))
        stack.enter_context(Workload(scan_step, pause=0.2))

        def traffic():
            for port in (first, rr):   # a new connection per request: a new session for HAProxy to balance
                requests.get(f"http://127.0.0.1:{port}/index.html", headers={"Connection": "close"}, timeout=5)
        stack.enter_context(Workload(traffic, pause=0.05))

        time.sleep(5)   # the overflow counter has a sample before the drop, so increase() sees it
        drop_one_connection()

        cases = {s.id: s for s in scenarios(g, mounts, skip_disk, cache.address, urls)}
        time.sleep(max(0.0, started + HISTORY - time.monotonic()))
        while True:
            report = advisor_report(prom.url, *SETS)
            verdicts = [judge(s, report) for s in cases.values()]
            if all(not v.missed for v in verdicts) or time.monotonic() - started > DEADLINE:
                break
            time.sleep(3)
        yield LiveResult(report, cases, time.monotonic() - started)
