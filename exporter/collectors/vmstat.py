"""vmstat: selected /proc/vmstat fields as node_vmstat_<field> (untyped, as node_exporter exports them)."""
from __future__ import annotations

import os
import re

from ..linux.procfs import parse_vmstat, read
from ..linux import LINUX
from ..registry import CollectorContext, Family, register
from ._settings import regex
from ..families import single

DEFAULT_FIELDS = r"^(oom_kill|pgpg|pswp|pg.*fault).*"


@register(
    "vmstat", default=True, help="Virtual memory statistics from /proc/vmstat (node_vmstat_*).",
    config_schema={"type": "object", "properties": {
        "fields": {"type": "string", "default": DEFAULT_FIELDS, "description": "Regexp of fields to return."},
    }, "additionalProperties": False},
)
class VmstatCollector:
    families = (
        Family("node_vmstat_<field>", "untyped",
               note="fields matching `fields`: oom_kill, pgpgin/out, pswpin/out, pgfault, pgmajfault"),
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "vmstat")
        self.fields = regex("vmstat", "fields", ctx.settings.get("fields") or DEFAULT_FIELDS)
        self._pick: re.Pattern | None = None  # the wanted lines, found in one pass once the field names are known

    def collect(self):
        if not LINUX:
            return
        text = read(self.path)
        if self._pick is None:
            keys = [k for k, _ in parse_vmstat(text) if self.fields.match(k)]
            self._pick = re.compile(r"^(%s) (\d+)$" % "|".join(map(re.escape, keys)) if keys else r"(?!)", re.M)
        for key, value in self._pick.findall(text):
            yield single(f"node_vmstat_{key}", f"/proc/vmstat information field {key}.", "unknown", float(value))
