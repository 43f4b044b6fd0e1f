"""The exporter's own process_* metrics: the same families prometheus_client writes, fds counted correctly."""
from __future__ import annotations

import os

from prometheus_client import ProcessCollector

from perfadvisor.exporter.selfmetrics import _OwnProcess


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
