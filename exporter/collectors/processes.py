"""processes: process groups in process-exporter's dialect (namedprocess_namegroup_*{groupname}).

With `groups` configured, processes are named by the first matching rule (see linux/procmatch.py) and every group
seen is exported. Without it, processes are grouped by comm and the `top_n` groups by CPU + RSS share are exported.

Counters are per-group accumulators, as in process-exporter: each scrape adds every process' increase since the
previous scrape (a new process adds its whole count), so a group's counters never go backwards when processes
exit or when a group drops out of and back into the top N.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any

from prometheus_client.core import Metric

from ..linux import pids as P
from ..linux.procmatch import GroupRule, ProcInfo, first_match
from ..registry import CollectorContext, register
from ._families import Sample, family

TICKS = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
PAGE = os.sysconf("SC_PAGESIZE") if hasattr(os, "sysconf") else 4096
STATES = {b"R": 8, b"S": 9, b"D": 10, b"Z": 11}  # index into the per-group gauge row; anything else is Other (12)
STATE_NAMES = ("Running", "Sleeping", "Waiting", "Zombie", "Other")
N_COUNTERS = 8
CPU_NOW = 13 + N_COUNTERS  # row slot: members' current utime+stime ticks (ranks groups on the first scrape)
REFRESH = 10  # scrapes an idle process' status may be reused before it is read again (VmSwap moves while asleep)  # utime, stime (ticks), minflt, majflt, voluntary, nonvoluntary, read_bytes, write_bytes



def _fd_budget() -> int:
    """How many processes may keep their three /proc files open (see linux/pids.OpenFiles).

    Raises the soft open-files limit to the hard one (capped), which the Go runtime does for node_exporter and
    process-exporter too, and leaves 256 descriptors for everything else.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        return max(0, (min(soft, 65536) - 256) // 3)
    except (ImportError, ValueError, OSError):
        return 0


RULE_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"},
    "comm": {"type": "array", "items": {"type": "string"}},
    "exe": {"type": "array", "items": {"type": "string"}},
    "cmdline": {"type": "array", "items": {"type": "string"}},
}, "additionalProperties": False}


@register(
    "processes", default=True, help="Process groups in process-exporter's names (namedprocess_namegroup_*).",
    config_schema={"type": "object", "properties": {
        "groups": {"type": "array", "items": RULE_SCHEMA, "default": [],
                   "description": "Naming rules; empty: group by process name and keep the top_n groups."},
        "top_n": {"type": "integer", "minimum": 1, "default": 20,
                  "description": "Groups kept when grouping by process name (by CPU + RSS share)."},
        "other": {"type": "boolean", "default": False,
                  "description": "Also export the processes outside the top_n as group \"other\"."},
        "children": {"type": "boolean", "default": True,
                     "description": "With groups: a process no rule matches joins its parent's group."},
    }, "additionalProperties": False},
)
class ProcessesCollector:
    # Families this collector exports (documentation; scripts/gen-docs renders them into README.md).
    families = (
        'namedprocess_namegroup_num_procs gauge {groupname}',
        'namedprocess_namegroup_cpu_seconds_total counter {groupname,mode}',
        'namedprocess_namegroup_memory_bytes gauge {groupname,memtype}',
        'namedprocess_namegroup_open_filedesc gauge {groupname}',
        'namedprocess_namegroup_worst_fd_ratio gauge {groupname}',
        'namedprocess_namegroup_num_threads gauge {groupname}',
        'namedprocess_namegroup_context_switches_total counter {groupname,ctxswitchtype}',
        'namedprocess_namegroup_{read,write}_bytes_total counter {groupname}',
        'namedprocess_namegroup_{major,minor}_page_faults_total counter {groupname}',
        'namedprocess_namegroup_oldest_start_time_seconds gauge {groupname}',
        'namedprocess_namegroup_states gauge {groupname,state}',
        'namedprocess_scrape_{errors,procread_errors,partial_errors} counter',
    )

    def __init__(self, ctx: CollectorContext):
        s = ctx.settings
        self.procfs = ctx.procfs
        self.prefix = ctx.procfs.rstrip("/") + "/"
        self.rules = tuple(GroupRule.from_config(g) for g in s.get("groups") or ())
        self.top_n = int(s.get("top_n", 20))
        self.other = bool(s.get("other", False))
        self.children = bool(s.get("children", True))
        self.boot = P.boot_time(ctx.procfs) if sys.platform.startswith("linux") else 0.0
        # pid -> [starttime, group or None, max fds or None, last counters or None, generation, OpenFiles or None]
        self._pids: dict[int, list[Any]] = {}
        self._acc: dict[str, list[float]] = {}   # group -> accumulated counters
        self._cpu_score: dict[str, float] = {}   # group -> smoothed CPU ticks per scrape (top-N ranking)
        self._exported: dict[str, int] = {}      # group -> last generation it was exported in
        self._gen = 0
        self.partial_errors = 0
        self.read_errors = 0
        self._open_files = 0
        self._lock = threading.Lock()  # scrapes with different collect[] filters may overlap; the state is shared
        self._fd_budget = _fd_budget()
        self._fd_in_size = P.fd_count_in_size(ctx.procfs)
        self._gate = P.schedstat_works(ctx.procfs)

    def _name(self, pid: int, comm: str, base: str) -> str | None:
        if not self.rules:
            return comm
        cached: dict[str, Any] = {}

        def get_cmdline():
            if "c" not in cached:
                cached["c"] = P.cmdline(base)
            return cached["c"]

        return first_match(self.rules, ProcInfo(pid, comm, get_cmdline, lambda: P.uid(base)))

    def _scan(self) -> dict[str, list[float]]:
        """One pass over /proc: per-group gauge rows, with this scrape's counter increases in row[13:]."""
        gen = self._gen = self._gen + 1
        cache, prefix, fd_in_size, gate = self._pids, self.prefix, self._fd_in_size, self._gate
        read_slot, parse_stat, parse_status, parse_io = P.read_slot, P.parse_stat, P.parse_status, P.parse_io
        pread = os.pread
        rows: dict[str, list[float]] = {}
        names = os.listdir(self.procfs)
        if self.rules and self.children:
            # parents before children (so a child can join its parent's group); /proc lists in pid order already
            names = sorted((n for n in names if n.isdigit()), key=int)
        for name in names:
            if not name.isdigit():
                continue
            base = prefix + name
            pid = int(name)
            entry = cache.get(pid)
            files = entry[5] if entry is not None else None
            try:
                st = pread(files.fds[0], 1024, 0) if files is not None else read_slot(None, 0, base)
            except OSError:
                st = b""
            if not st:
                if entry is not None:  # the task we held is gone (exited, or the pid was reused)
                    self._drop(pid)
                    entry = files = None
                    try:
                        st = read_slot(None, 0, base)
                    except OSError:
                        continue
                else:
                    continue  # exited between listdir and read
            same_stat = entry is not None and st == entry[9]
            if same_stat:
                comm, v = None, entry[10]  # stat unchanged since the last scrape (an idle process): reuse its parse
            else:
                try:
                    comm, f = parse_stat(st)
                    # start, state, flags, utime, stime, minflt, majflt, threads, vsize, rss pages
                    v = (int(f[19]), f[0], int(f[6]), int(f[11]), int(f[12]), int(f[7]), int(f[9]), int(f[17]),
                         int(f[20]), int(f[21]))
                except (IndexError, ValueError):
                    continue
            start = v[0]
            if entry is None or entry[0] != start:
                if entry is not None:
                    self._drop(pid)
                # start, group, max fds, last counters, generation, OpenFiles, schedule-ins, (ctx, swap, io, fds), age,
                # last stat bytes, their parse
                if comm is None:
                    comm = parse_stat(st)[0]
                group = self._name(pid, comm, base)
                if group is None and self.children:  # process-exporter's -children: a tracked process' child joins
                    parent = cache.get(int(parse_stat(st)[1][1]))
                    if parent is not None:
                        group = parent[1]
                entry = cache[pid] = [start, group, None, None, gen, None, None, None, 0, None, None]
                if entry[1] is not None and self._open_files < self._fd_budget:
                    try:
                        files = entry[5] = P.OpenFiles(base)
                        self._open_files += 1
                    except OSError:
                        pass
            entry[4], entry[9], entry[10] = gen, st, v
            group = entry[1]
            if group is None:
                continue
            kthread = v[2] & P.PF_KTHREAD
            # A task that has not been scheduled in since the last scrape cannot have switched context, done I/O
            # or changed its descriptor table; reuse those values (re-read every REFRESH scrapes for VmSwap).
            # schedstat covers the main thread only: a multi-threaded process must also show an unchanged stat
            # line (whole-process CPU time, faults and RSS), or its other threads may have been busy.
            sched = None
            if gate:
                try:
                    sched = read_slot(files, 1, base).rsplit(None, 1)[-1]
                except (OSError, IndexError):
                    sched = None
            if sched is not None and sched == entry[6] and entry[8] < REFRESH and (v[7] == 1 or same_stat):
                vol, nonvol, swapped, rb, wb, fds = entry[7]
                entry[8] += 1
            else:
                try:
                    vol, nonvol, swapped = parse_status(read_slot(files, 2, base))
                except (OSError, ValueError):
                    self.read_errors += 1
                    continue
                if kthread:
                    rb = wb = fds = 0  # kernel threads have no descriptor table and no I/O accounting of their own
                else:
                    try:
                        rb, wb = parse_io(read_slot(files, 3, base))
                    except (OSError, ValueError):
                        rb = wb = 0  # another user's process without CAP_SYS_PTRACE
                        self.partial_errors += 1
                    fds = P.count_fds(base, fd_in_size)
                entry[6], entry[7], entry[8] = sched, (vol, nonvol, swapped, rb, wb, fds), 0
            if entry[2] is None:
                entry[2] = P.max_fds(base)
            cur = (v[3], v[4], v[5], v[6], vol, nonvol, rb, wb)
            last = entry[3]
            entry[3] = cur
            row = rows.get(group)
            if row is None:
                # procs, rss, vsize, swap, fds, worst fd ratio, threads, oldest start, R, S, D, Z, other, +counters
                row = rows[group] = [0, 0, 0, 0, 0, 0.0, 0, float("inf"), 0, 0, 0, 0, 0] + [0] * (N_COUNTERS + 1)
            row[0] += 1
            row[1] += v[9] * PAGE
            row[2] += v[8]
            row[3] += swapped
            if fds >= 0:
                row[4] += fds
                if entry[2] and fds / entry[2] > row[5]:
                    row[5] = fds / entry[2]
            row[6] += v[7]
            if start < row[7]:
                row[7] = start
            row[STATES.get(v[1], 12)] += 1
            row[CPU_NOW] += v[3] + v[4]
            if last is None:
                # process-exporter's rule: what processes did before the exporter's first scan is not counted
                # (counters start at 0); a process that appears later counts from its start.
                if gen > 1:
                    for i in range(N_COUNTERS):
                        row[13 + i] += cur[i]
            elif cur != last:  # idle processes: nothing to add
                for i in range(N_COUNTERS):
                    d = cur[i] - last[i]
                    if d > 0:
                        row[13 + i] += d
        for pid in [p for p, e in cache.items() if e[4] != gen]:
            self._drop(pid)
        return rows

    def _drop(self, pid: int) -> None:
        entry = self._pids.pop(pid, None)
        if entry is not None and entry[5] is not None:
            entry[5].close()
            self._open_files -= 1

    def _select(self, rows: dict[str, list[float]]) -> list[str]:
        acc, score = self._acc, self._cpu_score
        for g, row in rows.items():
            a = acc.get(g)
            if a is None:
                a = acc[g] = [0.0] * N_COUNTERS
            for i in range(N_COUNTERS):
                a[i] += row[13 + i]
        if self.rules:
            return sorted(acc)
        for g, row in rows.items():
            # a group's first score is its members' CPU time so far; then a moving average of its increases
            score[g] = row[CPU_NOW] if g not in score else 0.5 * score[g] + 0.5 * (row[13] + row[14])
        total_cpu = sum(score.get(g, 0) for g in rows) or 1.0
        total_rss = sum(r[1] for r in rows.values()) or 1.0
        ranked = sorted(rows, key=lambda g: (score[g] / total_cpu + rows[g][1] / total_rss, g), reverse=True)
        chosen = ranked[: self.top_n]
        self._forget(set(rows))
        return chosen

    def _forget(self, live: set[str]) -> None:
        """Drop state of groups with no processes, unless exported recently (their counters must not reset)."""
        keep_for = 3600  # scrapes; a group gone this long may restart its counters like any restarted exporter
        for g in [g for g in self._acc if g not in live and self._gen - self._exported.get(g, -keep_for) >= keep_for]:
            del self._acc[g]
            self._cpu_score.pop(g, None)
            self._exported.pop(g, None)

    def collect(self):
        if not sys.platform.startswith("linux"):
            return  # /proc only; the portable collectors do not cover process groups
        with self._lock:
            families = self._collect_locked()
        yield from families

    def _collect_locked(self) -> list[Metric]:
        rows = self._scan()
        groups = self._select(rows)
        if self.other and not self.rules:
            rest = [g for g in rows if g not in set(groups)]
            other = [0, 0, 0, 0, 0, 0.0, 0, float("inf"), 0, 0, 0, 0, 0] + [0] * (N_COUNTERS + 1)
            for g in rest:
                r = rows[g]
                for i in (0, 1, 2, 3, 4, 6, 8, 9, 10, 11, 12, *range(13, 14 + N_COUNTERS)):
                    other[i] += r[i]
                other[5], other[7] = max(other[5], r[5]), min(other[7], r[7])
            a = self._acc.setdefault("other", [0.0] * N_COUNTERS)
            for i in range(N_COUNTERS):
                a[i] += other[13 + i]
            rows["other"] = other
            groups.append("other")
        return list(self._families(groups, rows))

    def _families(self, groups: list[str], rows: dict[str, list[float]]):
        out: dict[str, list] = {name: [] for name, _, _ in FAMILIES}
        num, cpu, rd, wr, majf, minf, ctx, mem, fds, worst, oldest, thr, states = out.values()
        empty = [0, 0, 0, 0, 0, 0.0, 0, float("inf"), 0, 0, 0, 0, 0]
        boot, gen = self.boot, self._gen
        for g in groups:
            r, a = rows.get(g, empty), self._acc[g]
            self._exported[g] = gen
            lv = {"groupname": g}
            num.append(Sample("namedprocess_namegroup_num_procs", lv, r[0], None, None))
            mem.append(Sample("namedprocess_namegroup_memory_bytes", {"groupname": g, "memtype": "resident"}, r[1], None, None))
            mem.append(Sample("namedprocess_namegroup_memory_bytes", {"groupname": g, "memtype": "virtual"}, r[2], None, None))
            mem.append(Sample("namedprocess_namegroup_memory_bytes", {"groupname": g, "memtype": "swapped"}, r[3], None, None))
            oldest.append(Sample("namedprocess_namegroup_oldest_start_time_seconds", lv,
                                 boot + r[7] / TICKS if r[0] else 0, None, None))
            fds.append(Sample("namedprocess_namegroup_open_filedesc", lv, r[4], None, None))
            worst.append(Sample("namedprocess_namegroup_worst_fd_ratio", lv, r[5], None, None))
            cpu.append(Sample("namedprocess_namegroup_cpu_seconds_total", {"groupname": g, "mode": "user"}, a[0] / TICKS, None, None))
            cpu.append(Sample("namedprocess_namegroup_cpu_seconds_total", {"groupname": g, "mode": "system"}, a[1] / TICKS, None, None))
            rd.append(Sample("namedprocess_namegroup_read_bytes_total", lv, a[6], None, None))
            wr.append(Sample("namedprocess_namegroup_write_bytes_total", lv, a[7], None, None))
            majf.append(Sample("namedprocess_namegroup_major_page_faults_total", lv, a[3], None, None))
            minf.append(Sample("namedprocess_namegroup_minor_page_faults_total", lv, a[2], None, None))
            ctx.append(Sample("namedprocess_namegroup_context_switches_total",
                              {"groupname": g, "ctxswitchtype": "voluntary"}, a[4], None, None))
            ctx.append(Sample("namedprocess_namegroup_context_switches_total",
                              {"groupname": g, "ctxswitchtype": "nonvoluntary"}, a[5], None, None))
            thr.append(Sample("namedprocess_namegroup_num_threads", lv, r[6], None, None))
            for i, st in enumerate(STATE_NAMES):
                states.append(Sample("namedprocess_namegroup_states", {"groupname": g, "state": st}, r[8 + i], None, None))
        for name, doc, typ in FAMILIES:
            yield family(name, doc, typ, out[name])
        # process-exporter's scrape error counters carry no _total suffix
        yield family("namedprocess_scrape_errors", "general scrape errors: no proc metrics collected during a cycle",
                     "counter", [Sample("namedprocess_scrape_errors", {}, 0, None, None)])
        yield family("namedprocess_scrape_procread_errors", "incremented each time a proc's metrics collection fails",
                     "counter", [Sample("namedprocess_scrape_procread_errors", {}, self.read_errors, None, None)])
        yield family("namedprocess_scrape_partial_errors", "incremented each time a tracked proc's metrics collection "
                     "fails partially, e.g. unreadable I/O stats", "counter",
                     [Sample("namedprocess_scrape_partial_errors", {}, self.partial_errors, None, None)])


# (family name — counters without _total, help, type), in process-exporter's order
FAMILIES = (
    ("namedprocess_namegroup_num_procs", "number of processes in this group", "gauge"),
    ("namedprocess_namegroup_cpu_seconds", "Cpu user usage in seconds", "counter"),
    ("namedprocess_namegroup_read_bytes", "number of bytes read by this group", "counter"),
    ("namedprocess_namegroup_write_bytes", "number of bytes written by this group", "counter"),
    ("namedprocess_namegroup_major_page_faults", "Major page faults", "counter"),
    ("namedprocess_namegroup_minor_page_faults", "Minor page faults", "counter"),
    ("namedprocess_namegroup_context_switches", "Context switches", "counter"),
    ("namedprocess_namegroup_memory_bytes", "number of bytes of memory in use", "gauge"),
    ("namedprocess_namegroup_open_filedesc", "number of open file descriptors for this group", "gauge"),
    ("namedprocess_namegroup_worst_fd_ratio",
     "the worst (closest to 1) ratio between open fds and max fds among all procs in this group", "gauge"),
    ("namedprocess_namegroup_oldest_start_time_seconds",
     "start time in seconds since 1970/01/01 of oldest process in group", "gauge"),
    ("namedprocess_namegroup_num_threads", "Number of threads", "gauge"),
    ("namedprocess_namegroup_states", "Number of processes in states Running, Sleeping, Waiting, Zombie, or Other",
     "gauge"),
)
