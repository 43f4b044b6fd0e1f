"""os: node_os_info and node_os_version from /etc/os-release (re-read only when the file changes)."""
from __future__ import annotations

import os
import re

from ..families import Sample, family
from ..linux.procfs import parse_os_release, read
from ..registry import CollectorContext, Family, register

INFO_KEYS = ("build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name", "variant",
             "variant_id", "version", "version_codename", "version_id")


def os_version(version_id: str) -> float:
    """node_exporter's value: the major.minor part of VERSION_ID as a number (0 when absent)."""
    m = re.match(r"^(\d+)(\.\d+)?", version_id)
    return float(m.group(0)) if m else 0.0


@register("os", default=True, help="OS release information from /etc/os-release (node_os_info, node_os_version).")
class OsCollector:
    families = (
        Family("node_os_info", "gauge",
               ("build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name", "variant", "variant_id", "version", "version_codename", "version_id")),
        Family("node_os_version", "gauge", ("id", "id_like", "name")),
    )

    def __init__(self, ctx: CollectorContext):
        self.paths = [os.path.join(ctx.rootfs, "etc", "os-release"),
                      os.path.join(ctx.rootfs, "usr", "lib", "os-release")]
        self._cache: tuple[tuple[str, float], dict[str, str]] | None = None

    def _release(self) -> dict[str, str] | None:
        for p in self.paths:
            try:
                key = (p, os.stat(p).st_mtime)
            except OSError:
                continue
            if self._cache is None or self._cache[0] != key:
                self._cache = (key, parse_os_release(read(p, keep=False)))
            return self._cache[1]
        return None

    def collect(self):
        rel = self._release()
        if rel is None:
            return
        yield family("node_os_info", "A metric with a constant '1' value labeled by " + ", ".join(INFO_KEYS) + ".",
                     "gauge", [Sample("node_os_info", {k: rel.get(k.upper(), "") for k in INFO_KEYS}, 1, None, None)])
        labels = {"id": rel.get("ID", ""), "id_like": rel.get("ID_LIKE", ""), "name": rel.get("NAME", "")}
        yield family("node_os_version", "Metric containing the major.minor part of the OS version.", "gauge",
                     [Sample("node_os_version", labels, os_version(rel.get("VERSION_ID", "")), None, None)])
