"""Every metric a built-in pack reads is one the exporter publishes (or a documented external convention).

A misspelt name (say `open_filedescs` for `open_filedesc`) would make a rule report "no data" forever on every
real stack while its unit tests, written with the same misspelling, stay green. This checks the packs against the
families the collectors declare (the same lists the README's metric reference is generated from).
"""
from __future__ import annotations

import re

from perfadvisor.advisor.evaluate import metric_names
from perfadvisor.advisor.packs import load_builtin
from perfadvisor.exporter.registry import all_collectors

# Metrics the packs read that come from somewhere else than our collectors, each with where it is documented.
EXTERNAL = {
    "cache_requests_total": "application cache convention (README, Service packs)",
}


def _pattern(name: str) -> re.Pattern:
    """A documented family name as a regex: `{a,b}` alternatives, `<field>` any name part, `[_x|_y]` optional."""
    out, i = "", 0
    for m in re.finditer(r"\{([^}]*)\}|<[^>]*>|\[([^\]]*)\]", name):
        out += re.escape(name[i:m.start()])
        if m.group(0).startswith("{"):
            out += "(?:" + "|".join(re.escape(a) for a in m.group(1).split(",")) + ")"
        elif m.group(0).startswith("<"):
            out += ".+"
        else:
            out += "(?:" + "|".join(re.escape(a) for a in m.group(2).split("|")) + ")?"
        i = m.end()
    return re.compile("^" + out + re.escape(name[i:]) + "$")


def _published() -> list[re.Pattern]:
    """Family names from every collector, as the README's metric reference documents them."""
    return [_pattern(line.split(" ", 1)[0]) for spec in all_collectors().values()
            for line in getattr(spec.factory, "families", ()) if not line.startswith("(")]


def test_every_metric_a_pack_reads_is_published_by_the_exporter():
    published = _published()
    missing = {}
    for pack in load_builtin():
        for rule in pack.resolved():
            for query in [rule.query, rule.limit_query or "", *(e.query for e in rule.evidence)]:
                if not query:
                    continue
                names = metric_names(query)
                assert names or "vector(" in query, f"{rule.rule.id}: no metric found in {query!r}"
                for name in names:
                    if name not in EXTERNAL and not any(p.match(name) for p in published):
                        missing.setdefault(name, []).append(rule.rule.id)
    assert not missing, f"metrics read by packs that no collector publishes: {missing}"


def test_the_check_catches_a_misspelt_name():
    published = _published()
    assert any(p.match("namedprocess_namegroup_open_filedesc") for p in published)
    assert not any(p.match("namedprocess_namegroup_open_filedescs") for p in published)
    assert _pattern("node_filesystem_{size,free,avail}_bytes").match("node_filesystem_avail_bytes")
    assert _pattern("pg_settings_<name>[_bytes|_seconds]").match("pg_settings_work_mem_bytes")
