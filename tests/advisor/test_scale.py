"""Scale: a source answering 10,000 series per query (a fleet of 10,000 targets) — the run's peak memory and
wall time are bounded in the harness (the child's rusage, a subprocess timeout), and the table stays readable:
each rule's worst --top targets plus 'and K more'."""
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fleet import Fleet

ADVISOR = str(Path(sys.executable).parent / "advisor")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.xfail(reason="not met yet: 10,000 series take ~130-170 s and 3-4 GB (docs/performance.md, Scale)",
                   strict=False)
def test_ten_thousand_series_per_query(tmp_path):
    out = tmp_path / "report.txt"
    with Fleet(10_000) as fleet:
        r = subprocess.run([ADVISOR, "run", "--prometheus", fleet.url, "--format", "table", "-o", str(out)],
                           capture_output=True, text=True, timeout=120)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert r.returncode in (0, 1), r.stderr
    text = out.read_text()
    assert "more targets (see --format json)" in text
    assert peak_mib <= 500, peak_mib
