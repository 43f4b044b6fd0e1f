"""filesystem: node_filesystem_* for mounted filesystems, with node_exporter's default mount/fstype exclusions.

statvfs on a hung network mount blocks forever, so network and FUSE filesystems are asked from a worker thread
with a timeout; a mount that timed out is reported as device_error 1 and skipped until its call returns.
"""
from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout


from ..linux.procfs import parse_mounts, read
from ..linux import LINUX
from ._settings import regex
from ..families import LabelCache, Sample, family
from ..registry import CollectorContext, Family, register

DEFAULT_MOUNT_EXCLUDE = r"^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
DEFAULT_FS_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs"
    r"|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
)
# Filesystems whose statvfs can hang on a remote server; local ones are asked inline (no thread hop).
REMOTE = re.compile(r"^(nfs4?|cifs|smb3?|smbfs|ceph|glusterfs|9p|lustre|afs|davfs|fuse(\..*)?|sshfs)$")
LABELS = ["device", "fstype", "mountpoint"]
FAMILIES = (
    ("size_bytes", "Filesystem size in bytes."),
    ("free_bytes", "Filesystem free space in bytes."),
    ("avail_bytes", "Filesystem space available to non-root users in bytes."),
    ("files", "Filesystem total file nodes."),
    ("files_free", "Filesystem total free file nodes."),
)


@register(
    "filesystem", default=True, help="Filesystem space and inode statistics (node_filesystem_*).",
    config_schema={"type": "object", "properties": {
        "mount-points-exclude": {"type": "string", "default": DEFAULT_MOUNT_EXCLUDE,
                                 "description": "Regexp of mount points to exclude."},
        "fs-types-exclude": {"type": "string", "default": DEFAULT_FS_EXCLUDE,
                             "description": "Regexp of filesystem types to exclude."},
        "mount-timeout": {"type": "number", "default": 5, "exclusiveMinimum": 0, "maximum": 3600,
                          "description": "Seconds to wait for statvfs on a network/FUSE mount."},
    }, "additionalProperties": False},
)
class FilesystemCollector:
    families = (
        Family("node_filesystem_{size,free,avail}_bytes", "gauge", ("device", "fstype", "mountpoint")),
        Family("node_filesystem_files{,_free}", "gauge", ("device", "fstype", "mountpoint")),
        Family("node_filesystem_readonly", "gauge", ("device", "fstype", "mountpoint")),
        Family("node_filesystem_device_error", "gauge", ("device", "fstype", "mountpoint")),
    )

    def __init__(self, ctx: CollectorContext):
        s = ctx.settings
        self.mounts_paths = [os.path.join(ctx.procfs, "1", "mounts"), os.path.join(ctx.procfs, "mounts")]
        self.rootfs = ctx.rootfs
        self.mount_exclude = regex("filesystem", "mount-points-exclude",
                                   s.get("mount-points-exclude", DEFAULT_MOUNT_EXCLUDE) or "^$")
        self.fs_exclude = regex("filesystem", "fs-types-exclude", s.get("fs-types-exclude", DEFAULT_FS_EXCLUDE) or "^$")
        self.timeout = float(s.get("mount-timeout", 5))
        self._pool: ThreadPoolExecutor | None = None
        self._stuck: set[str] = set()
        self._lock = threading.Lock()
        self._labels = LabelCache(*LABELS)
        self._table: tuple[str, list[tuple]] | None = None  # (mount table text, what _wanted() made of it)

    def _mounts(self):
        if not LINUX:
            import psutil

            return [(p.device, p.mountpoint, p.fstype, p.opts) for p in psutil.disk_partitions(all=True)]
        for p in self.mounts_paths:
            try:
                return parse_mounts(read(p))
            except OSError:
                continue
        return []

    def _wanted(self) -> list[tuple]:
        """The filesystems to report: (labels, path to statvfs, remote, read-only), from the mount table.

        On Linux the table is a pure function of /proc/<pid>/mounts' text (and the fixed settings): while that
        text is unchanged (almost every scrape) the list is the one worked out last time.
        """
        raw = None
        if LINUX:
            for p in self.mounts_paths:
                try:
                    raw = read(p)
                    break
                except OSError:
                    continue
            cached = self._table
            if raw is not None and cached is not None and cached[0] == raw:
                return cached[1]
        out = []
        seen: set[tuple[str, str, str]] = set()
        for device, mountpoint, fstype, options in (parse_mounts(raw) if raw is not None else
                                                    [] if LINUX else self._mounts()):
            if self.mount_exclude.match(mountpoint) or self.fs_exclude.match(fstype):
                continue
            labels = (device, fstype, mountpoint)
            if labels in seen:
                continue
            seen.add(labels)
            path = os.path.join(self.rootfs, mountpoint.lstrip("/")) if self.rootfs != "/" else mountpoint
            out.append((self._labels(*labels), path, bool(REMOTE.match(fstype)),
                        1.0 if "ro" in options.split(",") else 0.0))
        if raw is not None:
            self._table = (raw, out)
        return out

    def _statvfs_remote(self, path: str):
        with self._lock:
            if path in self._stuck:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="statvfs")
        fut = self._pool.submit(os.statvfs, path)
        try:
            return fut.result(timeout=self.timeout)
        except FutureTimeout:
            with self._lock:
                self._stuck.add(path)
            fut.add_done_callback(lambda _f: self._unstick(path))
            return None

    def _unstick(self, path: str) -> None:
        with self._lock:
            self._stuck.discard(path)

    def collect(self):
        fams = [family(f"node_filesystem_{n}", doc, "gauge", []) for n, doc in FAMILIES]
        err = family("node_filesystem_device_error",
                     "Whether an error occurred while getting statistics for the given device.", "gauge", [])
        ro = family("node_filesystem_readonly", "Filesystem read-only status.", "gauge", [])
        for lv, path, remote, readonly in self._wanted():
            try:
                st = self._statvfs_remote(path) if remote else os.statvfs(path)
            except OSError:
                st = None
            ro.samples.append(Sample("node_filesystem_readonly", lv, readonly, None, None))
            if st is None:
                err.samples.append(Sample("node_filesystem_device_error", lv, 1, None, None))
                continue
            err.samples.append(Sample("node_filesystem_device_error", lv, 0, None, None))
            bs = st.f_frsize or st.f_bsize
            for fam, v in zip(fams, (st.f_blocks * bs, st.f_bfree * bs, st.f_bavail * bs, st.f_files, st.f_ffree)):
                fam.samples.append(Sample(fam.name, lv, float(v), None, None))
        yield from fams
        yield err
        yield ro
