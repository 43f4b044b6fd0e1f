"""Scale: a source answering 1,000 series per query (a fleet of 1,000 targets) — the run's peak memory and wall
time are bounded in the harness (the child's rusage, a subprocess timeout), and the table stays readable: each
rule's worst --top targets plus 'and K more'. The 10,000-series figures are scripts/bench_scale.py's (a run takes
minutes on a shared 2-core machine, too long for the suite)."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fleet import Fleet

ADVISOR = str(Path(sys.executable).parent / "advisor")


# Runs the advisor as the only child of a small wrapper, so the peak RSS read is the advisor's own (the test
# process's RUSAGE_CHILDREN also holds every server the suite started before).
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_thousand_series_per_query_stay_bounded_and_readable(tmp_path):
    """A fleet of 1,000 targets answering every query: the run ends, within 200 MiB (it peaks near 120 MiB), with
    a readable table."""
    out = tmp_path / "report.txt"
    with Fleet(1_000) as fleet:
        r = subprocess.run([sys.executable, "-c", _PEAK, ADVISOR, "run", "--prometheus", fleet.url,
                            "--format", "table", "-o", str(out)], capture_output=True, text=True, timeout=240)
    assert r.returncode in (0, 1), r.stderr
    peak_mib = int(r.stdout.strip().splitlines()[-1]) / 1024
    text = out.read_text()
    assert "more targets (see --format json)" in text
    assert len(text) < 5_000_000
    assert peak_mib <= 200, peak_mib


def test_human_formats_show_the_top_n_per_rule_and_json_lists_every_finding():
    from .conftest import advisor
    import json
    with Fleet(40) as fleet:
        table = advisor("run", "--prometheus", fleet.url, "--top", "2", "--rule", "host-cpu-saturation")
        rep = json.loads(advisor("run", "--prometheus", fleet.url, "--top", "2", "--rule", "host-cpu-saturation",
                                 "--format", "json").stdout)
    found = rep["findings"] + rep["pending"]
    assert len(found) > 2
    detailed = [f for f in found if f["detailed"]]
    assert len(detailed) == 2 and all(f["series"] and f["description"] for f in detailed)
    assert all(not f["series"] and not f["description"] for f in found if not f["detailed"])
    # worst first: the detailed ones are the highest p95s
    assert min(f["value"] for f in detailed) >= max(f["value"] for f in found if not f["detailed"])
    assert f"host-cpu-saturation: and {len(found) - 2} more targets (see --format json)" in table.stdout
    assert table.stdout.count("host-cpu-saturation\n") <= 2 + 1
