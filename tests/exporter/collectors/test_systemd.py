"""systemd collector against node_exporter, both reading the same units over D-Bus.

The test environment has no system bus and no systemd, so a private dbus-daemon runs with a stand-in for
systemd's D-Bus API (tests/exporter/fake_systemd.py, units from fixtures/systemd/units.json); both exporters
connect to it through DBUS_SYSTEM_BUS_ADDRESS, the way they find the system bus on a host.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.procs import free_port, need_binary, stop, wait_http

from ..fake_systemd import private_bus

OPTIONAL = ("--collector.systemd.enable-task-metrics", "--collector.systemd.enable-restarts-metrics",
            "--collector.systemd.enable-start-time-metrics")


def _scrape(url: str) -> dict[str, tuple[str, str, dict]]:
    text = requests.get(url, timeout=30).text
    return {f.name: (f.type, f.documentation, {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples})
            for f in text_string_to_metric_families(text)}


def _exporter(binary: str, env: dict, *flags: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                             "--collector.systemd", *flags], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_http(url, proc=proc)
    return proc, url


@pytest.fixture(scope="module")
def bus(tmp_path_factory):
    with private_bus(tmp_path_factory.mktemp("bus")) as env:
        yield env


def _both(env: dict, *flags: str) -> list[dict]:
    """One scrape of node_exporter and one of ours, with the same systemd flags."""
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    scrapes = []
    for binary in (need_binary("prometheus-node-exporter"), ours):
        proc, url = _exporter(binary, env, *flags)
        try:
            scrapes.append(_scrape(url))
        finally:
            stop(proc)
    return scrapes


@pytest.fixture(scope="module")
def both(bus):
    return _both(bus, *OPTIONAL)


def _systemd(fams):
    return {n: f for n, f in fams.items() if n.startswith("node_systemd_")}


def test_systemd_families_series_and_values_match_node_exporter(both):
    ne, ours = map(_systemd, both)
    assert len(ne) == 12  # every family the collector has, with the optional metrics enabled
    assert sorted(ours) == sorted(ne)
    for name, (typ, doc, series) in ne.items():
        assert (ours[name][0], ours[name][1]) == (typ, doc), name
        assert ours[name][2] == series, name


def test_default_flags_leave_out_the_same_optional_families(bus):
    ne, ours = map(_systemd, _both(bus))
    assert sorted(ours) == sorted(ne)
    assert "node_systemd_unit_tasks_current" not in ours and "node_systemd_unit_state" in ours
    for name in ne:
        assert ours[name][2] == ne[name][2], name


def test_what_a_user_reads_from_the_fixture(both):
    _, ours = both
    state = ours["node_systemd_unit_state"][2]
    failed = ("node_systemd_unit_state", (("name", "backup.service"), ("state", "failed"), ("type", "oneshot")))
    assert state[failed] == 1
    assert not [k for k in state if dict(k[1])["name"].endswith((".mount", ".slice", ".device", ".target"))]
    assert ours["node_systemd_units"][2][("node_systemd_units", (("state", "active"),))] == 6  # all units counted
    assert ours["node_systemd_system_running"][2][("node_systemd_system_running", ())] == 0  # "degraded"
    restarts = ours["node_systemd_service_restart"][2]
    assert restarts[("node_systemd_service_restart_total", (("name", "worker@1.service"),))] == 12


def test_without_a_bus_the_collector_fails_and_the_exporter_still_answers(tmp_path):
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    proc, url = _exporter(ours, env)
    try:
        fams = _scrape(url)
    finally:
        stop(proc)
    assert fams["node_scrape_collector_success"][2][("node_scrape_collector_success", (("collector", "systemd"),))] == 0
    assert not _systemd(fams)
