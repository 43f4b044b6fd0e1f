"""textfile: metrics from *.prom files in a directory, with node_exporter's semantics.

A file that does not parse (or carries client-side timestamps) is skipped and sets node_textfile_scrape_error 1;
the other files are still exported. A metric family defined again in a later file with a different type or help
keeps the first definition: the later file's series of it are dropped (as node_exporter's gatherer does), and so
are series that repeat an exact label set.
"""
from __future__ import annotations

import glob
import logging
import os

from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from ..families import Sample, family, single
from ..registry import CollectorContext, Family, register

log = logging.getLogger(__name__)


def parse_file(path: str) -> list[Metric]:
    """Families of one .prom file; ValueError when it does not parse or uses timestamps."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fams = list(text_string_to_metric_families(text))
    for fam in fams:
        if any(s.timestamp is not None for s in fam.samples):
            raise ValueError("textfile contains unsupported client-side timestamps")
        if not fam.documentation:
            fam.documentation = f"Metric read from {path}"
    return fams


@register(
    "textfile", default=True, help="Metrics from *.prom files (node_textfile_*).",
    config_schema={"type": "object", "properties": {
        "directory": {"type": "string", "default": "",
                      "description": "Directory (or glob of directories) to read *.prom files from."},
    }, "additionalProperties": False},
)
class TextfileCollector:
    families = (
        Family("", "", note="every metric in *.prom files of `directory`"),
        Family("node_textfile_mtime_seconds", "gauge", ("file",)),
        Family("node_textfile_scrape_error", "gauge"),
    )

    def __init__(self, ctx: CollectorContext):
        self.directory = ctx.settings.get("directory", "") or ""

    def _files(self) -> tuple[list[str], int]:
        """*.prom files of the directory; like node_exporter the setting may be a glob of directories, and a
        directory that cannot be read counts as a scrape error."""
        error = 0
        if not self.directory:
            return [], 0
        dirs = sorted(glob.glob(self.directory)) or [self.directory]
        files = []
        for d in dirs:
            try:
                names = os.listdir(d)
            except OSError as e:
                log.error("failed to read textfile collector directory %s: %s", d, e)
                error = 1
                continue
            files += sorted(os.path.join(d, n) for n in names if n.endswith(".prom"))
        return files, error

    def collect(self):
        mtimes = family("node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.", "gauge", [])
        merged: dict[str, Metric] = {}
        seen: set[tuple] = set()
        files, error = self._files()
        for path in files:
            try:
                mtime = os.stat(path).st_mtime
                fams = parse_file(path)
            except (OSError, ValueError, UnicodeDecodeError) as e:
                log.error("failed to read textfile collector file %s: %s", path, e)
                error = 1
                continue
            for fam in fams:
                first = merged.get(fam.name)
                if first is None:
                    first = merged[fam.name] = family(fam.name, fam.documentation, fam.type, [], fam.unit)
                elif (first.type, first.documentation) != (fam.type, fam.documentation):
                    log.error("metric %s in %s has type/help that differs from an earlier file; dropped",
                              fam.name, path)
                    continue
                for s in fam.samples:
                    key = (s.name, tuple(sorted(s.labels.items())))
                    if key in seen:
                        log.error("metric %s%s in %s was already collected; dropped", s.name, s.labels, path)
                        continue
                    seen.add(key)
                    first.samples.append(s)
            mtimes.samples.append(Sample("node_textfile_mtime_seconds", {"file": path}, mtime, None, None))
        yield from merged.values()
        if mtimes.samples:
            yield mtimes
        yield single("node_textfile_scrape_error", "1 if there was an error opening or reading a file, 0 otherwise",
                     "gauge", error)
