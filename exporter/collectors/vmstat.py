"""vmstat: selected /proc/vmstat fields as node_vmstat_<field> (untyped, as node_exporter exports them)."""
from __future__ import annotations

import os
import re

from ..linux.procfs import parse_vmstat, read
from ..linux import LINUX
from ..registry import CollectorContext, register
from ._families import single

DEFAULT_FIELDS = r"^(oom_kill|pgpg|pswp|pg.*fault).*"


@register(
    "vmstat", default=True, help="Virtual memory statistics from /proc/vmstat (node_vmstat_*).",
    config_schema={"type": "object", "properties": {
        "fields": {"type": "string", "default": DEFAULT_FIELDS, "description": "Regexp of fields to return."},
    }, "additionalProperties": False},
)
class VmstatCollector:
    # Families this collector exports (documentation; scripts/gen-docs renders them into README.md).
    families = (
        'node_vmstat_<field> untyped (fields matching `fields`: oom_kill, pgpgin/out, pswpin/out, pgfault, pgmajfault)',
    )

    def __init__(self, ctx: CollectorContext):
        self.path = os.path.join(ctx.procfs, "vmstat")
        self.fields = re.compile(ctx.settings.get("fields") or DEFAULT_FIELDS)
        self._match: dict[str, bool] = {}

    def collect(self):
        if not LINUX:
            return  # a Linux /proc source only
        match = self._match
        for key, value in parse_vmstat(read(self.path)):
            ok = match.get(key)
            if ok is None:
                ok = match[key] = bool(self.fields.match(key))
            if ok:
                yield single(f"node_vmstat_{key}", f"/proc/vmstat information field {key}.", "unknown", float(value))
