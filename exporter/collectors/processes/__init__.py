"""processes: process groups in process-exporter's dialect (namedprocess_namegroup_*{groupname}).

With `groups` configured, processes are named by the first matching rule (see procmatch.py) and every group
seen is exported. Without it, processes are grouped by comm and the `top_n` groups by CPU + RSS share are exported.

Counters are per-group accumulators with process-exporter's rules: they start at 0 for the processes running at
the first scrape, a process that appears later counts from its start, and each scrape adds every member's
increase, so a group's counters never go backwards when processes exit or the group leaves and re-enters the top N.
The /proc reading is procscan.py (psutil elsewhere: portable.py).
"""
from __future__ import annotations

import threading
from operator import add
from typing import Any

from prometheus_client.core import Metric

from ...linux import LINUX, pids as P
from .procscan import DEFAULT_MAX_OPEN_FILES, N_COUNTERS, PSS, ROW, STATE_NAMES, SWAP_PSS, TICKS, CPU_NOW, ProcScanner
from .procmatch import GroupRule, ProcInfo, first_match
from ...registry import CollectorContext, Family, register
from ...families import Labels, Sample, family
from .portable import PortableScanner


def _psutil_call(pid: int, method: str, default):
    import psutil

    try:
        return getattr(psutil.Process(pid), method)()
    except psutil.Error:
        return default


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
        "smaps": {"type": "boolean", "default": False,
                  "description": "Read smaps_rollup for memtype proportionalResident/proportionalSwapped (costly)."},
        "children": {"type": "boolean", "default": True,
                     "description": "With groups: a process no rule matches joins its parent's group."},
        "max_open_files": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_OPEN_FILES,
                           "description": "/proc descriptors kept open between scrapes, at most (2 per process; "
                                          "files of processes beyond it are opened at each read; 0: none kept)."},
    }, "additionalProperties": False},
)
class ProcessesCollector:
    families = (
        Family("namedprocess_namegroup_num_procs", "gauge", ("groupname",)),
        Family("namedprocess_namegroup_cpu_seconds_total", "counter", ("groupname", "mode")),
        Family("namedprocess_namegroup_memory_bytes", "gauge", ("groupname", "memtype")),
        Family("namedprocess_namegroup_open_filedesc", "gauge", ("groupname",)),
        Family("namedprocess_namegroup_worst_fd_ratio", "gauge", ("groupname",)),
        Family("namedprocess_namegroup_num_threads", "gauge", ("groupname",)),
        Family("namedprocess_namegroup_context_switches_total", "counter", ("groupname", "ctxswitchtype")),
        Family("namedprocess_namegroup_{read,write}_bytes_total", "counter", ("groupname",)),
        Family("namedprocess_namegroup_{major,minor}_page_faults_total", "counter", ("groupname",)),
        Family("namedprocess_namegroup_oldest_start_time_seconds", "gauge", ("groupname",)),
        Family("namedprocess_namegroup_states", "gauge", ("groupname", "state")),
        Family("namedprocess_scrape_{errors,procread_errors,partial_errors}", "counter"),
    )

    def __init__(self, ctx: CollectorContext):
        s = ctx.settings
        self.rules = tuple(GroupRule.from_config(g, f"processes: groups[{i}]")
                           for i, g in enumerate(s.get("groups") or ()))
        self.top_n = int(s.get("top_n", 20))
        self.other = bool(s.get("other", False))
        self.children = bool(s.get("children", True))
        self.smaps = bool(s.get("smaps", False))
        self.boot = P.boot_time(ctx.procfs) if LINUX else __import__("psutil").boot_time()
        self._acc: dict[str, list[float]] = {}   # group -> accumulated counters
        self._cpu_score: dict[str, float] = {}   # group -> smoothed CPU ticks per scrape (top-N ranking)
        self._exported: dict[str, int] = {}      # group -> last generation it was exported in
        self._gen = 0
        self._labels: dict[str, tuple[dict[str, str], ...]] = {}
        self._samples: dict[str, tuple[tuple, tuple]] = {}  # group -> (its row and counters, its samples)
        self._lock = threading.Lock()  # scrapes with different collect[] filters may overlap; the state is shared
        scanner = ProcScanner if LINUX else PortableScanner
        self.scanner = scanner(ctx.procfs, self._name, children=self.children, smaps=self.smaps, rules=bool(self.rules),
                               max_open_files=int(s.get("max_open_files", DEFAULT_MAX_OPEN_FILES)))

    def _name(self, pid: int, comm: str, base: str) -> str | None:
        if not self.rules:
            return comm
        cached: dict[str, Any] = {}

        def get_cmdline():
            if "c" not in cached:
                cached["c"] = P.cmdline(base) if LINUX else _psutil_call(pid, "cmdline", [])
            return cached["c"]

        def get_uid():
            return P.uid(base) if LINUX else _psutil_call(pid, "uids", (-1,))[0]

        return first_match(self.rules, ProcInfo(pid, comm, get_cmdline, get_uid))

    def _select(self, rows: dict[str, list[float]]) -> list[str]:
        acc, score = self._acc, self._cpu_score
        end = 13 + N_COUNTERS
        for g, row in rows.items():
            a = acc.get(g)
            if a is None:
                a = acc[g] = [0.0] * N_COUNTERS
            inc = row[13:end]
            if any(inc):  # most groups are idle between two scrapes
                a[:] = map(add, a, inc)
        if self.rules:
            return sorted(acc)
        for g, row in rows.items():
            # a group's first score is its members' CPU time so far; then a moving average of its increases
            score[g] = row[CPU_NOW] if g not in score else 0.5 * score[g] + 0.5 * (row[13] + row[14])
        total_cpu = sum(score.get(g, 0) for g in rows) or 1.0
        total_rss = sum(r[1] for r in rows.values()) or 1.0
        ranked = sorted(rows, key=lambda g: (score[g] / total_cpu + rows[g][1] / total_rss, g), reverse=True)
        chosen = ranked[: self.top_n]
        if len(acc) > len(rows):  # every group with processes has counters: only then can one be gone
            self._forget(set(rows))
        return chosen

    def _forget(self, live: set[str]) -> None:
        """Drop state of groups with no processes, unless exported recently (their counters must not reset)."""
        keep_for = 3600  # scrapes; a group gone this long may restart its counters like any restarted exporter
        for g in [g for g in self._acc if g not in live and self._gen - self._exported.get(g, -keep_for) >= keep_for]:
            del self._acc[g]
            self._cpu_score.pop(g, None)
            self._exported.pop(g, None)
            self._labels.pop(g, None)
            self._samples.pop(g, None)

    def close(self) -> None:
        close = getattr(self.scanner, "close", None)
        if close is not None:
            with self._lock:
                close()

    def collect(self):
        with self._lock:
            families = self._collect_locked()
        yield from families

    def _collect_locked(self) -> list[Metric]:
        self._gen += 1
        rows = self.scanner.scan()
        groups = self._select(rows)
        if self.other and not self.rules:
            chosen = set(groups)
            rest = [g for g in rows if g not in chosen]
            other = ROW.copy()
            for g in rest:
                r = rows[g]
                for i in (0, 1, 2, 3, 4, 6, 8, 9, 10, 11, 12, *range(13, len(ROW))):
                    other[i] += r[i]
                other[5], other[7] = max(other[5], r[5]), min(other[7], r[7])
            a = self._acc.setdefault("other", [0.0] * N_COUNTERS)
            for i in range(N_COUNTERS):
                a[i] += other[13 + i]
            rows["other"] = other
            groups.append("other")
        # by name, as process-exporter writes them (Go's client sorts by label values): a stable order, so the
        # writers find an idle group's lines where they were last scrape
        return list(self._families(sorted(groups), rows))

    def _labels_for(self, g: str) -> tuple[dict[str, str], ...]:
        """The label sets of one group's samples, built once: fewer allocations per scrape, less GC work.
        Samples share them, so nothing downstream may modify a sample's labels (nothing does)."""
        labels = self._labels.get(g)
        if labels is None:
            m = [Labels(groupname=g, memtype=t) for t in
                 ("resident", "virtual", "swapped", "proportionalResident", "proportionalSwapped")]
            labels = self._labels[g] = (
                Labels(groupname=g), *m, Labels(groupname=g, mode="user"), Labels(groupname=g, mode="system"),
                Labels(groupname=g, ctxswitchtype="voluntary"), Labels(groupname=g, ctxswitchtype="nonvoluntary"),
                *(Labels(groupname=g, state=st) for st in STATE_NAMES))
        return labels

    def _group_samples(self, g: str, r: list[float], a: list[float]) -> tuple[tuple, ...]:
        """One group's samples per family, in FAMILIES order."""
        lv, res, virt, swp, prop, pswp, user, system, vol, nonvol, *st_labels = self._labels_for(g)
        mem = [Sample("namedprocess_namegroup_memory_bytes", res, r[1]),
               Sample("namedprocess_namegroup_memory_bytes", virt, r[2]),
               Sample("namedprocess_namegroup_memory_bytes", swp, r[3])]
        if self.smaps:
            mem += [Sample("namedprocess_namegroup_memory_bytes", prop, r[PSS]),
                    Sample("namedprocess_namegroup_memory_bytes", pswp, r[SWAP_PSS])]
        return (
            (Sample("namedprocess_namegroup_num_procs", lv, r[0]),),
            (Sample("namedprocess_namegroup_cpu_seconds_total", user, a[0] / TICKS),
             Sample("namedprocess_namegroup_cpu_seconds_total", system, a[1] / TICKS)),
            (Sample("namedprocess_namegroup_read_bytes_total", lv, a[6]),),
            (Sample("namedprocess_namegroup_write_bytes_total", lv, a[7]),),
            (Sample("namedprocess_namegroup_major_page_faults_total", lv, a[3]),),
            (Sample("namedprocess_namegroup_minor_page_faults_total", lv, a[2]),),
            (Sample("namedprocess_namegroup_context_switches_total", vol, a[4]),
             Sample("namedprocess_namegroup_context_switches_total", nonvol, a[5])),
            tuple(mem),
            (Sample("namedprocess_namegroup_open_filedesc", lv, r[4]),),
            (Sample("namedprocess_namegroup_worst_fd_ratio", lv, r[5]),),
            (Sample("namedprocess_namegroup_oldest_start_time_seconds", lv,
                    self.boot + r[7] / TICKS if r[0] else 0),),
            (Sample("namedprocess_namegroup_num_threads", lv, r[6]),),
            tuple(Sample("namedprocess_namegroup_states", labels, r[8 + i]) for i, labels in enumerate(st_labels)),
        )

    def _families(self, groups: list[str], rows: dict[str, list[float]]):
        out: dict[str, list] = {name: [] for name, _, _ in FAMILIES}
        lists = tuple(out.values())
        empty = ROW
        gen, cache = self._gen, self._samples
        for g in groups:
            r, a = rows.get(g, empty), self._acc[g]
            self._exported[g] = gen
            # An idle group (same row, same counters as last scrape) reuses its samples (immutable tuples).
            key = (*r, *a)
            hit = cache.get(g)
            if hit is None or hit[0] != key:
                hit = cache[g] = (key, self._group_samples(g, r, a))
            for lst, part in zip(lists, hit[1]):
                lst.extend(part)
        for name, doc, typ in FAMILIES:
            yield family(name, doc, typ, out[name])
        # process-exporter's scrape error counters carry no _total suffix
        yield family("namedprocess_scrape_errors", "general scrape errors: no proc metrics collected during a cycle",
                     "counter", [Sample("namedprocess_scrape_errors", {}, 0, None, None)])
        yield family("namedprocess_scrape_procread_errors", "incremented each time a proc's metrics collection fails",
                     "counter",
                     [Sample("namedprocess_scrape_procread_errors", {}, self.scanner.read_errors, None, None)])
        yield family("namedprocess_scrape_partial_errors", "incremented each time a tracked proc's metrics collection "
                     "fails partially, e.g. unreadable I/O stats", "counter",
                     [Sample("namedprocess_scrape_partial_errors", {}, self.scanner.partial_errors, None, None)])


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
