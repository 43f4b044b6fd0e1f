"""One pass over /proc per scrape for the processes collector: per-group rows of gauges and counter increases.

The hot loop (hundreds of processes per scrape) keeps per-process state keyed by pid and start time: the group
the process was named into, its /proc files kept open (linux/pids.OpenFiles), its last stat line and counters.
"""
from __future__ import annotations

import os
from operator import add
from typing import Any, Callable

from ...linux import pids as P
from ...linux.pids import PF_KTHREAD

TICKS = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
PAGE = os.sysconf("SC_PAGESIZE") if hasattr(os, "sysconf") else 4096
STATES = {b"R": 8, b"S": 9, b"D": 10, b"Z": 11}  # index into the per-group gauge row; anything else is Other (12)
STATE_NAMES = ("Running", "Sleeping", "Waiting", "Zombie", "Other")
N_COUNTERS = 8  # utime, stime (ticks), minflt, majflt, voluntary, nonvoluntary, read_bytes, write_bytes
CPU_NOW = 13 + N_COUNTERS  # row slot: members' current utime+stime ticks (ranks groups on the first scrape)
PSS, SWAP_PSS = CPU_NOW + 1, CPU_NOW + 2  # row slots filled with `smaps: true`
ROW = [0, 0, 0, 0, 0, 0.0, 0, float("inf"), 0, 0, 0, 0, 0] + [0] * (N_COUNTERS + 3)  # a group with no processes
_ZEROS = [0] * len(ROW)
REFRESH = 10  # scrapes an idle process' status may be reused before it is read again (VmSwap moves while asleep)


DEFAULT_MAX_OPEN_FILES = 1024  # /proc descriptors kept open at most: 2 per process for the first 512 processes
# Files kept open per process: stat and schedstat, read at every scrape (schedstat for every process, stat for
# every process that ran). status and io are read only for processes that ran, and opened each time: keeping
# them too would double the descriptors for ~2 µs per such process and file.
KEPT = 2


def _fd_budget(max_open_files: int = DEFAULT_MAX_OPEN_FILES) -> int:
    """How many processes may keep their KEPT /proc files open (see linux/pids.OpenFiles): at most
    ``max_open_files`` descriptors, and never the last 256 of the open-files limit.

    Raises the soft open-files limit to the hard one (capped), which the Go runtime does for node_exporter and
    process-exporter too. Processes beyond the budget are read with open/read/close each scrape (~2 µs more
    per file read), so the descriptors stay bounded whatever the number of processes.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        return max(0, min(min(soft, 65536) - 256, max_open_files) // KEPT)
    except (ImportError, ValueError, OSError):
        return 0


class ProcScanner:
    """Reads every process once per scan and sums it into its group's row (layout: ROW)."""

    def __init__(self, procfs: str, name_fn: Callable[[int, str, str], str | None], *, children: bool = True,
                 smaps: bool = False, rules: bool = False, max_open_files: int = DEFAULT_MAX_OPEN_FILES):
        self.procfs = procfs
        self.prefix = procfs.rstrip("/") + "/"
        self.name_fn, self.children, self.smaps, self.rules = name_fn, children, smaps, rules
        # pid (its /proc name) -> [start, group, max fds, last counters, generation, OpenFiles, schedstat line,
        #     (status/io/fd values), scrapes since those were read, last stat bytes, their parse, share of the group
        #     row, schedstat descriptor for the short path (-1: not eligible), kernel thread]
        self._pids: dict[str, list[Any]] = {}
        self._gen = 0
        self.partial_errors = 0
        self.read_errors = 0
        self._open_files = 0
        self._fd_budget = _fd_budget(max_open_files)
        self._fd_in_size = P.fd_count_in_size(procfs)
        self._gate = P.schedstat_works(procfs)

    def scan(self) -> dict[str, list[float]]:
        """One pass over /proc: per-group gauge rows, with this scrape's counter increases in row[13:]."""
        gen = self._gen = self._gen + 1
        cache, prefix, fd_in_size, gate = self._pids, self.prefix, self._fd_in_size, self._gate
        read_slot, parse_stat, parse_status, parse_io = P.read_slot, P.parse_stat, P.parse_status, P.parse_io
        pread = os.pread
        rows: dict[str, list[float]] = {}
        seen = 0
        names = os.listdir(self.procfs)
        if self.rules and self.children:
            # parents before children (so a child can join its parent's group); /proc lists in pid order already
            names = sorted((n for n in names if n.isdigit()), key=int)
        for name in names:
            entry = cache.get(name)
            known = False
            if entry is not None and gate and entry[12] >= 0 and (entry[8] < REFRESH or entry[13]):
                # The common case, kept short: a single-threaded task whose schedstat is kept open and unchanged
                # (see below) adds its share of the group's gauges as last time.
                try:
                    sched = pread(entry[12], 256, 0)
                except OSError:
                    sched = None
                if sched is not None and sched == entry[6]:
                    entry[4] = gen
                    entry[8] += 1
                    seen += 1
                    contrib = entry[11]
                    row = rows.get(entry[1])
                    if row is None:
                        row = rows[entry[1]] = ROW.copy()
                    row[:] = map(add, row, contrib[0])
                    if contrib[1] > row[5]:
                        row[5] = contrib[1]
                    if contrib[2] < row[7]:
                        row[7] = contrib[2]
                    continue
                known = True  # it ran (or its schedstat cannot be read now): the full path, with this reading
            elif entry is None and not name.isdigit():
                continue
            base = prefix + name
            pid = int(name)
            files = entry[5] if entry is not None else None
            if not known:
                sched = None
            idle = False
            if not known and entry is not None and gate and entry[6] is not None and entry[10][7] == 1 and \
                    (entry[8] < REFRESH or entry[10][2] & PF_KTHREAD):
                # A single-threaded task that has not run since the last scrape (schedstat: time on CPU, time
                # waiting, schedule-ins all unchanged): nothing of it can have changed except its memory under
                # reclaim (RSS, VmSwap), which the re-read every REFRESH scrapes catches. A kernel thread has no
                # memory of its own (RSS, VmSwap, size all 0): it is never re-read while it does not run.
                try:
                    sched = pread(files.fds[1], 256, 0) if files is not None and files.fds[1] >= 0 else \
                        read_slot(files, 1, base)
                except OSError:
                    sched = None
            if sched is not None and sched == entry[6]:
                idle = True  # its counters have not moved: nothing to add below
                entry[4] = gen
                seen += 1
                entry[8] += 1
                group, v, start = entry[1], entry[10], entry[0]
                vol, nonvol, swapped, rb, wb, fds, pss, swap_pss = entry[7]
            else:
                known_sched = sched
                try:
                    st = pread(files.fds[0], 1024, 0) if files is not None else read_slot(None, 0, base)
                except OSError:
                    st = b""
                if not st:
                    if entry is not None:  # the task we held is gone (exited, or the pid was reused)
                        self._drop(name)
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
                        self._drop(name)
                    # start, group, max fds, last counters, generation, OpenFiles, schedule-ins,
                    # (ctx, swap, io, fds, pss), scrapes since read, last stat bytes, their parse, share of the row
                    if comm is None:
                        comm = parse_stat(st)[0]
                    group = self.name_fn(pid, comm, base)
                    if group is None and self.children:  # process-exporter's -children: a tracked process' child joins
                        parent = cache.get(parse_stat(st)[1][1].decode())
                        if parent is not None:
                            group = parent[1]
                    entry = cache[name] = [start, group, None, None, gen, None, None, None, 0, None, None, None, -1, 0]
                    if entry[1] is not None and self._open_files < self._fd_budget:
                        try:
                            files = entry[5] = P.OpenFiles(base, KEPT)
                            self._open_files += 1
                        except OSError:
                            pass
                entry[4], entry[9], entry[10], entry[12] = gen, st, v, -1
                seen += 1
                group = entry[1]
                if group is None:
                    continue
                kthread = v[2] & PF_KTHREAD
                # A task that has not been scheduled in since the last scrape cannot have switched context, done I/O
                # or changed its descriptor table; reuse those values (re-read every REFRESH scrapes for VmSwap).
                # schedstat covers the main thread only: a multi-threaded process must also show an unchanged stat
                # line (whole-process CPU time, faults and RSS), or its other threads may have been busy.
                sched = known_sched
                if gate and sched is None:
                    try:
                        sched = read_slot(files, 1, base)
                    except OSError:
                        sched = None
                asleep = sched is not None and sched == entry[6]
                if asleep and (entry[8] < REFRESH or kthread) and (v[7] == 1 or same_stat):
                    vol, nonvol, swapped, rb, wb, fds, pss, swap_pss = entry[7]
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
                        if asleep and v[7] == 1 and (entry[7][3] or entry[7][4]):
                            # the periodic re-read of a single-threaded task that has not run: its I/O counters
                            # only move while it runs (memory and, with a shared descriptor table, fds may not).
                            # 0/0 may be an unreadable io file: read again, as its error counts every read.
                            rb, wb = entry[7][3], entry[7][4]
                        else:
                            try:
                                rb, wb = parse_io(read_slot(files, 3, base))
                            except (OSError, ValueError):
                                rb = wb = 0  # another user's process without CAP_SYS_PTRACE
                                self.partial_errors += 1
                        fds = P.count_fds(base, fd_in_size)
                    pss = swap_pss = 0
                    if self.smaps and not kthread:
                        pss, swap_pss = P.smaps_rollup(base)
                    entry[6], entry[7], entry[8] = sched, (vol, nonvol, swapped, rb, wb, fds, pss, swap_pss), 0
            if entry[2] is None:
                entry[2] = P.max_fds(base)
            row = rows.get(group)
            if row is None:
                # procs, rss, vsize, swap, fds, worst fd ratio, threads, oldest start, R, S, D, Z, other, +counters
                row = rows[group] = ROW.copy()
            # The process' share of its group's gauges, kept while it is idle: one element-wise add per scrape.
            contrib = entry[11] if idle else None
            if contrib is None:
                c = _ZEROS.copy()
                c[0], c[1], c[2], c[3], c[6] = 1, v[9] * PAGE, v[8], swapped, v[7]
                ratio = -1.0
                if fds >= 0:
                    c[4] = fds
                    if entry[2]:
                        ratio = fds / entry[2]
                c[STATES.get(v[1], 12)] = 1
                c[CPU_NOW], c[PSS], c[SWAP_PSS] = v[3] + v[4], pss, swap_pss
                contrib = entry[11] = (c, ratio, start)
                # the short path above, while it does not run: single-threaded, schedstat kept open and read
                if v[7] == 1 and files is not None and files.fds[1] >= 0 and entry[6] is not None:
                    entry[12], entry[13] = files.fds[1], v[2] & PF_KTHREAD
            row[:] = map(add, row, contrib[0])
            if contrib[1] > row[5]:
                row[5] = contrib[1]
            if start < row[7]:
                row[7] = start
            if idle:
                continue
            cur = (v[3], v[4], v[5], v[6], vol, nonvol, rb, wb)
            last = entry[3]
            entry[3] = cur
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
        if seen != len(cache):  # some process exited since the last scan
            for key in [k for k, e in cache.items() if e[4] != gen]:
                self._drop(key)
        return rows

    def close(self) -> None:
        """Release every /proc file kept open (the scanner can still scan afterwards, reopening as it goes)."""
        for key in list(self._pids):
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._pids.pop(key, None)
        if entry is not None and entry[5] is not None:
            entry[5].close()
            self._open_files -= 1
