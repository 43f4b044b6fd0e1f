"""The exporter's own process_* metrics: the same families prometheus_client writes, fds counted correctly."""
from __future__ import annotations

import os
import resource
import subprocess
import sys

from prometheus_client import ProcessCollector

from perfadvisor.exporter.selfmetrics import _AddressSpaceLimit, _OwnProcess


def _by_name(families):
    return {f.name: f for f in families}


def test_same_families_as_prometheus_client_and_fd_count_follows_open_files():
    ours, theirs = _by_name(_OwnProcess().collect()), _by_name(ProcessCollector(registry=None).collect())
    assert {n: (f.type, f.documentation) for n, f in ours.items()} == \
        {n: (f.type, f.documentation) for n, f in theirs.items()}
    before = ours["process_open_fds"].samples[0].value
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(20)]
    try:
        after = _by_name(_OwnProcess().collect())["process_open_fds"].samples[0].value
    finally:
        for fd in fds:
            os.close(fd)
    assert after - before == 20


LIMITED = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
from perfadvisor.exporter.selfmetrics import _AddressSpaceLimit
print(_AddressSpaceLimit().collect()[0].samples[0].value)
"""


def test_virtual_memory_max_bytes_is_the_address_space_limit_as_node_exporter_writes_it():
    [family] = _AddressSpaceLimit().collect()
    assert (family.name, family.type) == ("process_virtual_memory_max_bytes", "gauge")
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    assert family.samples[0].value == (float(2**64 - 1) if soft == resource.RLIM_INFINITY else soft)
    out = subprocess.run([sys.executable, "-c", LIMITED], capture_output=True, text=True, timeout=60, check=True)
    assert float(out.stdout) == 3 << 30
