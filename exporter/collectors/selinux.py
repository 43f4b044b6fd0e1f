"""selinux: whether SELinux is enabled and its configured and current mode (node_selinux_*)."""
from __future__ import annotations

import os

from ..linux import LINUX
from ..linux.procfs import parse_os_release, read
from ..registry import CollectorContext, Family, register
from ..families import single

MODES = {"disabled": -1, "permissive": 0, "enforcing": 1}


@register("selinux", default=True, help="SELinux status (node_selinux_enabled, _config_mode, _current_mode).")
class SelinuxCollector:
    families = (
        Family("node_selinux_enabled", "gauge"),
        Family("node_selinux_config_mode", "gauge", note="-1 disabled, 0 permissive, 1 enforcing"),
        Family("node_selinux_current_mode", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.enforce = os.path.join(ctx.sysfs, "fs", "selinux", "enforce")
        self.config = os.path.join(ctx.rootfs, "etc", "selinux", "config")

    def collect(self):
        if not LINUX:
            return
        try:
            current = int(read(self.enforce))
        except (OSError, ValueError):
            yield single("node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", "gauge", 0)
            return
        yield single("node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", "gauge", 1)
        try:
            mode = parse_os_release(read(self.config, keep=False)).get("SELINUX", "disabled")
        except OSError:
            mode = "disabled"
        yield single("node_selinux_config_mode",
                     "Configured SELinux enforcement mode (-1 disabled, 0 permissive, 1 enforcing)", "gauge",
                     MODES.get(mode, -1))
        yield single("node_selinux_current_mode",
                     "Current SELinux enforcement mode (0 permissive, 1 enforcing)", "gauge", current)
