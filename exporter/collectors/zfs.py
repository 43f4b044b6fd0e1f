"""zfs: ZFS on Linux kstats from /proc/spl/kstat/zfs (node_zfs_*): ARC and friends, per-pool I/O, datasets, state.

As in node_exporter the kstat names are carried over as they are (``node_zfs_arc_hits``), untyped, with the
kstat path as help text.
"""
from __future__ import annotations

import glob
import os

from ..families import NO_LABELS, Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import text

SUBSYSTEMS = (("zfs_abd", "abdstats"), ("zfs_arc", "arcstats"), ("zfs_dbuf", "dbuf_stats"), ("zfs_dmu_tx", "dmu_tx"),
              ("zfs_dnode", "dnodestats"), ("zfs_fm", "fm"), ("zfs_vdev_cache", "vdev_cache_stats"),
              ("zfs_vdev_mirror", "vdev_mirror_stats"), ("zfs_xuio", "xuio_stats"), ("zfs_zfetch", "zfetchstats"),
              ("zfs_zil", "zil"))
STATES = ("online", "degraded", "faulted", "offline", "removed", "unavail")
_NUMERIC_TYPES = ("3", "4")  # KSTAT_DATA_INT64, KSTAT_DATA_UINT64


def parse_kstat(raw: str, path: str) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """The numeric (name, value) rows after the 'name type data' header, and the string rows (type 7)."""
    numbers, strings, started = [], {}, False
    for n, line in enumerate(raw.splitlines(), 1):
        parts = line.split()
        if not started:
            started = parts == ["name", "type", "data"]
            continue
        if len(parts) < 3:
            raise ValueError(f"{path}:{n}: not 'name type data'")
        if parts[1] in _NUMERIC_TYPES:
            numbers.append((parts[0], int(parts[2])))
        elif parts[1] == "7":
            strings[parts[0]] = parts[2]
    return numbers, strings


def parse_pool_io(raw: str, path: str) -> list[tuple[str, int]]:
    """The pool io kstat: a header of field names, then one line of values."""
    lines = [l.split() for l in raw.splitlines() if l.strip()]
    if len(lines) < 3 or len(lines[1]) != len(lines[2]):
        raise ValueError(f"{path}: expected a line of names and a line of values")
    return [(k, int(v)) for k, v in zip(lines[1], lines[2])]


@register("zfs", default=True, help="ZFS kstats from /proc/spl/kstat/zfs (node_zfs_*).")
class ZfsCollector:
    families = (
        Family("node_zfs_{arc,abd,dbuf,dmu_tx,dnode,fm,vdev_cache,vdev_mirror,xuio,zfetch,zil}_<kstat>", "untyped",
               (), "one per kstat of the file"),
        Family("node_zfs_zpool_{nread,nwritten,reads,writes,rtime,wtime,rlentime,wlentime,rcnt,wcnt,...}",
               "untyped", ("zpool",)),
        Family("node_zfs_zpool_dataset_{reads,writes,nread,nwritten,nunlinks,nunlinked}", "untyped",
               ("dataset", "zpool")),
        Family("node_zfs_zpool_state", "gauge", ("state", "zpool"), "1 for the pool's state, 0 for the others"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.procfs, "spl", "kstat", "zfs")

    def collect(self):
        if not LINUX or not os.path.isdir(self.dir):
            return
        for subsystem, fname in SUBSYSTEMS:
            path = os.path.join(self.dir, fname)
            raw = text(path)
            if raw is None:
                continue
            for name, v in parse_kstat(raw, path)[0]:
                metric = f"node_{subsystem}_{name.replace('-', '_')}"
                yield family(metric, f"kstat.zfs.misc.{fname}.{name}", "untyped",
                             [Sample(metric, NO_LABELS, float(v), None, None)])
        base = glob.escape(self.dir)
        pools: dict[str, tuple[str, list]] = {}

        def add(metric, doc, typ, labels, value):
            pools.setdefault(metric, (doc, typ, []))[2].append(Sample(metric, labels, float(value), None, None))

        for path in sorted(glob.glob(os.path.join(base, "*", "io"))):
            raw = text(path)
            if raw is None:
                continue
            zpool = os.path.basename(os.path.dirname(path))
            for name, v in parse_pool_io(raw, path):
                add(f"node_zfs_zpool_{name}", f"kstat.zfs.misc.io.{name}", "untyped", {"zpool": zpool}, v)
        for path in sorted(glob.glob(os.path.join(base, "*", "objset-*"))):
            raw = text(path)
            if raw is None:
                continue
            zpool = os.path.basename(os.path.dirname(path))
            numbers, strings = parse_kstat(raw, path)
            labels = {"dataset": strings.get("dataset_name", ""), "zpool": zpool}
            for name, v in numbers:
                add(f"node_zfs_zpool_dataset_{name}", f"kstat.zfs.misc.objset.{name}", "untyped", labels, v)
        for path in sorted(glob.glob(os.path.join(base, "*", "state"))):
            raw = text(path)
            if raw is None:
                continue
            zpool, state = os.path.basename(os.path.dirname(path)), raw.lower()
            for s in STATES:
                add("node_zfs_zpool_state", "kstat.zfs.misc.state", "gauge", {"state": s, "zpool": zpool},
                    1 if s == state else 0)
        for metric, (doc, typ, samples) in sorted(pools.items()):
            yield family(metric, doc, typ, samples)
