"""filefd: node_filefd_allocated and node_filefd_maximum from /proc/sys/fs/file-nr."""
from __future__ import annotations

import os


from ..linux.procfs import parse_file_nr, read
from ..linux import LINUX
from ..families import single
from ..registry import CollectorContext, Family, register


@register("filefd", default=True, help="File descriptor statistics from /proc/sys/fs/file-nr.")
class FilefdCollector:
    families = (
        Family("node_filefd_allocated", "gauge"),
        Family("node_filefd_maximum", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "sys", "fs", "file-nr")

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        allocated, maximum = parse_file_nr(read(self.path))
        yield single("node_filefd_allocated", "File descriptor statistics: allocated.", "gauge", allocated)
        yield single("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge", maximum)
