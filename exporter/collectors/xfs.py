"""xfs: per-filesystem XFS statistics from /sys/fs/xfs/<device>/stats/stats (node_xfs_*)."""
from __future__ import annotations

import os

from ..families import Sample, family
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._sysread import entries, text

# (stats line, field index, metric without node_xfs_ and _total, help); a line the kernel does not write counts 0.
STATS = (
    ("extent_alloc", 0, "extent_allocation_extents_allocated",
     "Number of extents allocated for a filesystem."),
    ("extent_alloc", 1, "extent_allocation_blocks_allocated",
     "Number of blocks allocated for a filesystem."),
    ("extent_alloc", 2, "extent_allocation_extents_freed",
     "Number of extents freed for a filesystem."),
    ("extent_alloc", 3, "extent_allocation_blocks_freed",
     "Number of blocks freed for a filesystem."),
    ("abt", 0, "allocation_btree_lookups",
     "Number of allocation B-tree lookups for a filesystem."),
    ("abt", 1, "allocation_btree_compares",
     "Number of allocation B-tree compares for a filesystem."),
    ("abt", 2, "allocation_btree_records_inserted",
     "Number of allocation B-tree records inserted for a filesystem."),
    ("abt", 3, "allocation_btree_records_deleted",
     "Number of allocation B-tree records deleted for a filesystem."),
    ("blk_map", 0, "block_mapping_reads",
     "Number of block map for read operations for a filesystem."),
    ("blk_map", 1, "block_mapping_writes",
     "Number of block map for write operations for a filesystem."),
    ("blk_map", 2, "block_mapping_unmaps",
     "Number of block unmaps (deletes) for a filesystem."),
    ("blk_map", 3, "block_mapping_extent_list_insertions",
     "Number of extent list insertions for a filesystem."),
    ("blk_map", 4, "block_mapping_extent_list_deletions",
     "Number of extent list deletions for a filesystem."),
    ("blk_map", 5, "block_mapping_extent_list_lookups",
     "Number of extent list lookups for a filesystem."),
    ("blk_map", 6, "block_mapping_extent_list_compares",
     "Number of extent list compares for a filesystem."),
    ("bmbt", 0, "block_map_btree_lookups",
     "Number of block map B-tree lookups for a filesystem."),
    ("bmbt", 1, "block_map_btree_compares",
     "Number of block map B-tree compares for a filesystem."),
    ("bmbt", 2, "block_map_btree_records_inserted",
     "Number of block map B-tree records inserted for a filesystem."),
    ("bmbt", 3, "block_map_btree_records_deleted",
     "Number of block map B-tree records deleted for a filesystem."),
    ("dir", 0, "directory_operation_lookup",
     "Number of file name directory lookups which miss the operating systems directory name lookup cache."),
    ("dir", 1, "directory_operation_create",
     "Number of times a new directory entry was created for a filesystem."),
    ("dir", 2, "directory_operation_remove",
     "Number of times an existing directory entry was created for a filesystem."),
    ("dir", 3, "directory_operation_getdents",
     "Number of times the directory getdents operation was performed for a filesystem."),
    ("ig", 0, "inode_operation_attempts",
     "Number of times the OS looked for an XFS inode in the inode cache."),
    ("ig", 1, "inode_operation_found",
     "Number of times the OS looked for and found an XFS inode in the inode cache."),
    ("ig", 2, "inode_operation_recycled",
     "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled."),
    ("ig", 3, "inode_operation_missed",
     "Number of times the OS looked for an XFS inode in the cache, but did not find it."),
    ("ig", 4, "inode_operation_duplicates",
     "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been "
     "added by another process."),
    ("ig", 5, "inode_operation_reclaims",
     "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose."),
    ("ig", 6, "inode_operation_attribute_changes",
     "Number of times the OS explicitly changed the attributes of an XFS inode."),
    ("rw", 0, "write_calls",
     "Number of write(2) system calls made to files in a filesystem."),
    ("rw", 1, "read_calls",
     "Number of read(2) system calls made to files in a filesystem."),
    ("vnodes", 0, "vnode_active",
     "Number of vnodes not on free lists for a filesystem."),
    ("vnodes", 1, "vnode_allocate",
     "Number of times vn_alloc called for a filesystem."),
    ("vnodes", 2, "vnode_get",
     "Number of times vn_get called for a filesystem."),
    ("vnodes", 3, "vnode_hold",
     "Number of times vn_hold called for a filesystem."),
    ("vnodes", 4, "vnode_release",
     "Number of times vn_rele called for a filesystem."),
    ("vnodes", 5, "vnode_reclaim",
     "Number of times vn_reclaim called for a filesystem."),
    ("vnodes", 6, "vnode_remove",
     "Number of times vn_remove called for a filesystem."),
)


def parse_stats(raw: str) -> dict[str, list[int]]:
    """'extent_alloc 1 2 3 4\n...' -> {'extent_alloc': [1, 2, 3, 4], ...}."""
    out = {}
    for line in raw.splitlines():
        parts = line.split()
        if len(parts) > 1 and all(p.isdigit() for p in parts[1:]):
            out[parts[0]] = [int(p) for p in parts[1:]]
    return out


@register("xfs", default=True, help="XFS filesystem statistics from /sys/fs/xfs (node_xfs_*).")
class XfsCollector:
    families = (
        Family("node_xfs_{extent_allocation,allocation_btree,block_mapping,block_map_btree,directory_operation,"
               "inode_operation,vnode}_<field>_total", "counter", ("device",)),
        Family("node_xfs_{read_calls,write_calls}_total", "counter", ("device",)),
    )

    def __init__(self, ctx: CollectorContext):
        self.dir = os.path.join(ctx.sysfs, "fs", "xfs")

    def collect(self):
        if not LINUX or not os.path.isdir(self.dir):  # one stat where the filesystem is not in use
            return
        out = {metric: [] for _, _, metric, _ in STATS}
        for device in entries(self.dir):
            raw = text(os.path.join(self.dir, device, "stats", "stats"))
            if raw is None:  # the module-wide /sys/fs/xfs/stats has no stats/ below it
                continue
            stats = parse_stats(raw)
            for line, index, metric, _ in STATS:
                values = stats.get(line, [])
                v = values[index] if index < len(values) else 0
                out[metric].append(Sample(f"node_xfs_{metric}_total", {"device": device}, float(v), None, None))
        for _, _, metric, doc in STATS:
            if out[metric]:
                yield family("node_xfs_" + metric, doc, "counter", out[metric])
