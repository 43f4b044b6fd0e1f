"""bcache: cache-set, backing-device and cache-device statistics from /sys/fs/bcache (node_bcache_*)."""
from __future__ import annotations

import glob
import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import text

_MULTIPLIERS = {c: float(1 << (10 * (i + 1))) for i, c in enumerate("kMGTPEZY")}


def _pseudo_float(s: str) -> float:
    """bch_hprint's fraction is tenths of 1024 (".5" means 512/1024), so it is scaled back as upstream does."""
    whole, _, frac = s.partition(".")
    v = float(whole)
    return v + float(frac) / 10.24 if frac else v


def dehumanize(raw: str) -> int:
    """'2.5M' -> 2621440 (bcache's bch_hprint format; a plain number is read as is). ValueError if unreadable."""
    if not raw:
        raise ValueError("empty value")
    if raw[-1] > "9":
        return int(_pseudo_float(raw[:-1]) * _MULTIPLIERS.get(raw[-1], 0.0))
    return int(float(raw))


SET_GAUGES = (  # (file, metric, help, scale)
    ("average_key_size", "average_key_size_sectors", "Average data per key in the btree (sectors).", 1),
    ("btree_cache_size", "btree_cache_size_bytes", "Amount of memory currently used by the btree cache.", 1),
    ("cache_available_percent", "cache_available_percent",
     "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).", 1),
    ("congested", "congested", "Congestion.", 1),
    ("root_usage_percent", "root_usage_percent",
     "Percentage of the root btree node in use (tree depth increases if too high).", 1),
    ("tree_depth", "tree_depth", "Depth of the btree.", 1),
    ("internal/active_journal_entries", "active_journal_entries",
     "Number of journal entries that are newer than the index.", 1),
    ("internal/btree_nodes", "btree_nodes", "Total nodes in the btree.", 1),
    ("internal/btree_read_average_duration_us", "btree_read_average_duration_seconds",
     "Average btree read duration.", 1e-9),
)
SET_COUNTERS = (("internal/cache_read_races", "cache_read_races",
                 "Counts instances where while data was being read from the cache, the bucket was reused and "
                 "invalidated - i.e. where the pointer was stale after the read completed."),)
BDEV_COUNTERS = (
    ("bypassed", "bypassed_bytes", "Amount of IO (both reads and writes) that has bypassed the cache."),
    ("cache_bypass_hits", "cache_bypass_hits", "Hits for IO intended to skip the cache."),
    ("cache_bypass_misses", "cache_bypass_misses", "Misses for IO intended to skip the cache."),
    ("cache_hits", "cache_hits", "Hits counted per individual IO as bcache sees them."),
    ("cache_miss_collisions", "cache_miss_collisions",
     "Instances where data insertion from cache miss raced with write (data already present)."),
    ("cache_misses", "cache_misses", "Misses counted per individual IO as bcache sees them."),
    ("cache_readaheads", "cache_readaheads", "Count of times readahead occurred."),
)
WRITEBACK = (  # (writeback_rate_debug key, metric, help)
    ("target", "dirty_target_bytes", "Current dirty data target threshold for this backing device in bytes."),
    ("rate", "writeback_rate", "Current writeback rate for this backing device in bytes."),
    ("proportional", "writeback_rate_proportional_term",
     "Current result of proportional controller, part of writeback rate"),
    ("integral", "writeback_rate_integral_term", "Current result of integral controller, part of writeback rate"),
    ("change", "writeback_change", "Last writeback rate change step for this backing device."),
)
CACHE = (("io_errors", "io_errors", "gauge", "Number of errors that have occurred, decayed by io_error_halflife."),
         ("metadata_written", "metadata_written_bytes", "counter",
          "Sum of all non data writes (btree writes and all other metadata)."),
         ("written", "written_bytes", "counter", "Sum of all data that has been written to the cache."))
DIRTY_HELP = "Amount of dirty data for this backing device in the cache."


def parse_writeback_debug(raw: str) -> dict[str, int]:
    """'rate:\\t1.1M/sec\\ntarget:\\t20.4G ...' -> {'rate': 1150976, 'target': ...} (rates per second)."""
    out = {}
    for line in raw.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("rate", "dirty", "target", "proportional", "integral", "change"):
            out[key.strip()] = dehumanize(value.strip().removesuffix("/sec"))
    return out


def parse_priority_stats(raw: str) -> tuple[int | None, int | None]:
    """(unused percent, metadata percent) of a cache device's priority_stats."""
    values: dict[str, int] = {}
    for line in raw.splitlines():
        key, sep, value = line.partition(":")
        if sep and key in ("Unused", "Metadata"):
            values[key] = int(value.strip().removesuffix("%"))
    return values.get("Unused"), values.get("Metadata")


@register(
    "bcache", default=True, help="bcache statistics from /sys/fs/bcache (node_bcache_*).",
    config_schema={"type": "object", "properties": {
        "priorityStats": {"type": "boolean", "default": False,
                          "description": "Expose expensive priority stats (the kernel walks every bucket)."},
    }, "additionalProperties": False},
)
class BcacheCollector:
    families = (
        Family("node_bcache_{average_key_size_sectors,btree_cache_size_bytes,cache_available_percent,congested,"
               "root_usage_percent,tree_depth,active_journal_entries,btree_nodes,"
               "btree_read_average_duration_seconds}", "gauge", ("uuid",)),
        Family("node_bcache_cache_read_races_total", "counter", ("uuid",)),
        Family("node_bcache_{dirty_data_bytes,dirty_target_bytes,writeback_rate,writeback_change,...}", "gauge",
               ("backing_device", "uuid")),
        Family("node_bcache_{bypassed_bytes,cache_hits,cache_misses,cache_bypass_hits,...}_total", "counter",
               ("backing_device", "uuid")),
        Family("node_bcache_io_errors", "gauge", ("cache_device", "uuid")),
        Family("node_bcache_{metadata_written_bytes,written_bytes}_total", "counter", ("cache_device", "uuid")),
        Family("node_bcache_priority_stats_{unused,metadata}_percent", "gauge", ("cache_device", "uuid"),
               "with priorityStats"),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "fs", "bcache")
        self.priority = bool(ctx.settings.get("priorityStats", False))

    def collect(self):
        if not LINUX or not os.path.isdir(self.dir):  # one stat where the filesystem is not in use
            return
        out: dict[str, tuple[str, str, list]] = {}

        def add(metric, typ, doc, labels, value):
            name = "node_bcache_" + metric
            out.setdefault(name, (typ, doc, []))[2].append(
                Sample(name + ("_total" if typ == "counter" else ""), labels, float(value), None, None))

        def value(path):
            raw = text(path)
            if raw is None:
                raise OSError(f"bcache: cannot read {path}")
            return dehumanize(raw)

        for path in sorted(glob.glob(os.path.join(glob.escape(self.dir), "*-*"))):
            uuid = os.path.basename(path)
            labels = {"uuid": uuid}
            for f, metric, doc, scale in SET_GAUGES:
                v = value(os.path.join(path, f))
                add(metric, "gauge", doc, labels, v * scale if scale != 1 else v)
            for f, metric, doc in SET_COUNTERS:
                add(metric, "counter", doc, labels, value(os.path.join(path, f)))
            for bdev in sorted(glob.glob(os.path.join(glob.escape(path), "bdev[0-9]*"))):
                bl = {"backing_device": os.path.basename(bdev), "uuid": uuid}
                add("dirty_data_bytes", "gauge", DIRTY_HELP, bl, value(os.path.join(bdev, "dirty_data")))
                debug = text(os.path.join(bdev, "writeback_rate_debug"))
                wb = parse_writeback_debug(debug) if debug is not None else {}
                for key, metric, doc in WRITEBACK:
                    if key in wb:
                        add(metric, "gauge", doc, bl, wb[key])
                for f, metric, doc in BDEV_COUNTERS:
                    add(metric, "counter", doc, bl, value(os.path.join(bdev, "stats_total", f)))
            for cache in sorted(glob.glob(os.path.join(glob.escape(path), "cache[0-9]*"))):
                cl = {"cache_device": os.path.basename(cache), "uuid": uuid}
                for f, metric, typ, doc in CACHE:
                    add(metric, typ, doc, cl, value(os.path.join(cache, f)))
                if self.priority:
                    raw = text(os.path.join(cache, "priority_stats"))
                    if raw is None:
                        raise OSError(f"bcache: cannot read {cache}/priority_stats")
                    unused, metadata = parse_priority_stats(raw)
                    if unused is not None:
                        add("priority_stats_unused_percent", "gauge",
                            "The percentage of the cache that doesn't contain any data.", cl, unused)
                    if metadata is not None:
                        add("priority_stats_metadata_percent", "gauge", "Bcache's metadata overhead.", cl, metadata)
        for name, (typ, doc, samples) in sorted(out.items()):
            yield family(name, doc, typ, samples)
