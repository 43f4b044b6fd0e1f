"""node_exporter parity: the real node_exporter and ours side by side on this machine, compared as a user would
see them in Prometheus — family names, TYPE, label names, series sets for the stable collectors, values that
cannot drift between two scrapes — and the drop-in check: Node Exporter Full-style panel queries and the community
node_exporter alerts run in a real Prometheus against each, none returning data on node_exporter only."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.exporter import exporter_binary
from tests.support.procs import free_port, need_binary, stop, wait_http
from tests.support.prometheus import start_prometheus

from .dropin_queries import ALERT_SIGNALS, ALERTS, PANELS
from .fake_systemd import private_bus

pytestmark = pytest.mark.slow

# Families both publish whose series sets must match exactly (the collectors the issue calls stable).
STABLE_PREFIXES = ("node_cpu_", "node_memory_", "node_filesystem_", "node_network_", "node_disk_", "node_load",
                   "node_uname_", "node_filefd_", "node_boot_time", "node_context_switches", "node_forks", "node_intr",
                   "node_procs_", "node_softnet_", "node_nf_conntrack_", "node_udp_queues", "node_entropy_",
                   "node_selinux_", "node_os_", "node_timex_")
# Families node_exporter publishes about itself, or per its own collector list: not comparable.
SELF = ("go_", "process_", "promhttp_", "node_scrape_collector_", "node_exporter_")
# The core set the issue names: these must exist on our side.
CORE = ("node_cpu_seconds", "node_cpu_guest_seconds", "node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes",
        "node_load1", "node_disk_io_time_seconds", "node_disk_read_bytes", "node_disk_io_now",
        "node_disk_io_time_weighted_seconds", "node_filesystem_size_bytes", "node_filesystem_avail_bytes",
        "node_network_receive_bytes", "node_netstat_Tcp_RetransSegs", "node_netstat_TcpExt_ListenOverflows",
        "node_sockstat_sockets_used", "node_filefd_allocated", "node_vmstat_pgmajfault", "node_uname_info",
        "node_os_info", "node_boot_time_seconds", "node_context_switches", "node_time_seconds",
        "node_textfile_scrape_error")


def _families(url: str) -> dict[str, tuple[str, dict[tuple, float]]]:
    text = requests.get(url, timeout=30).text
    return {
        f.name: (f.type, {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples})
        for f in text_string_to_metric_families(text)
        if not f.name.startswith(SELF)
    }


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory):
    """One scrape of each, taken back to back."""
    node_exporter = need_binary("prometheus-node-exporter")
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    textdir = tmp_path_factory.mktemp("textfile")
    ne_port, our_port = free_port(), free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(
            [node_exporter, f"--web.listen-address=127.0.0.1:{ne_port}", f"--collector.textfile.directory={textdir}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [ours, f"--web.listen-address=127.0.0.1:{our_port}", f"--collector.textfile.directory={textdir}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        ne_url, our_url = f"http://127.0.0.1:{ne_port}/metrics", f"http://127.0.0.1:{our_port}/metrics"
        wait_http(ne_url, proc=procs[0])
        wait_http(our_url, proc=procs[1])
        yield _families(ne_url), _families(our_url)
    finally:
        for p in procs:
            stop(p)


def test_core_families_present(scrapes):
    _, ours = scrapes
    missing = [n for n in CORE if n not in ours]
    assert not missing, f"core families missing: {missing}"


def test_common_families_have_same_type_and_label_names(scrapes):
    ne, ours = scrapes
    common = sorted(set(ne) & set(ours))
    assert len(common) > 100
    diffs = []
    for name in common:
        if ne[name][0] != ours[name][0]:
            diffs.append(f"{name}: TYPE {ne[name][0]} vs ours {ours[name][0]}")
        ne_labels = {tuple(k for k, _ in labels) for _, labels in ne[name][1]}
        our_labels = {tuple(k for k, _ in labels) for _, labels in ours[name][1]}
        if ne_labels != our_labels:
            diffs.append(f"{name}: label names {ne_labels} vs ours {our_labels}")
    assert not diffs, "\n".join(diffs)
    only_ne = sorted(set(ne) - set(ours))
    print(f"\nnode_exporter families we do not publish ({len(only_ne)}): {', '.join(only_ne)}")


def test_stable_collectors_have_identical_series_sets(scrapes):
    ne, ours = scrapes
    diffs = []
    for name in sorted(n for n in ne if n.startswith(STABLE_PREFIXES)):
        if name not in ours:
            diffs.append(f"{name}: missing")
            continue
        a, b = set(ne[name][1]), set(ours[name][1])
        if a != b:
            diffs.append(f"{name}: node_exporter only {sorted(a - b)[:3]}, ours only {sorted(b - a)[:3]}")
    assert not diffs, "\n".join(diffs)


def _value(fams, family, sample=None, **labels):
    series = fams[family][1]
    return series[(sample or family, tuple(sorted(labels.items())))]


def test_stable_values_agree(scrapes):
    ne, ours = scrapes
    assert _value(ours, "node_memory_MemTotal_bytes") == _value(ne, "node_memory_MemTotal_bytes")
    assert _value(ours, "node_memory_SwapTotal_bytes") == _value(ne, "node_memory_SwapTotal_bytes")
    assert abs(_value(ours, "node_boot_time_seconds") - _value(ne, "node_boot_time_seconds")) <= 1
    cpus = lambda f: {dict(k)["cpu"] for _, k in f["node_cpu_seconds"][1]}  # noqa: E731
    assert cpus(ours) == cpus(ne) and len(cpus(ne)) == os.cpu_count()
    assert set(ours["node_uname_info"][1]) == set(ne["node_uname_info"][1])
    assert _value(ours, "node_filefd_maximum") == _value(ne, "node_filefd_maximum")
    for key, size in ne["node_filesystem_size_bytes"][1].items():
        assert ours["node_filesystem_size_bytes"][1][key] == size, key
    assert set(ours["node_os_info"][1]) == set(ne["node_os_info"][1])
    for name in ("node_timex_status", "node_timex_tick_seconds", "node_timex_loop_time_constant",
                 "node_timex_tai_offset_seconds", "node_timex_sync_status"):
        assert _value(ours, name) == _value(ne, name), name


# --- process-exporter parity ------------------------------------------------------------------------------------

CHILD = ("import sys, time\nopen('/proc/self/comm', 'w').write(sys.argv[1])\nblob = bytearray(8 << 20)\n"
         "print('ready', flush=True)\nsys.stdin.read()\n")


@pytest.fixture(scope="module")
def process_scrapes(tmp_path_factory):
    """The same process group seen by the real process-exporter and by ours, scraped back to back."""
    pe_bin = need_binary("prometheus-process-exporter", "process-exporter")
    ours = os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")
    tmp = tmp_path_factory.mktemp("procparity")
    comm = f"pa-parity{os.getpid() % 10000}"
    (tmp / "pe.yml").write_text(f'process_names:\n  - name: "{{{{.Comm}}}}"\n    comm: [{comm}]\n')
    (tmp / "ours.yml").write_text(
        f'collectors_config:\n  processes:\n    groups:\n      - name: "{{{{.Comm}}}}"\n        comm: [{comm}]\n')
    child = subprocess.Popen([sys.executable, "-c", CHILD, comm], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    procs = []
    try:
        assert child.stdout.readline().strip() == b"ready"
        pe_port, our_port = free_port(), free_port()
        procs.append(subprocess.Popen(
            [pe_bin, "-config.path", str(tmp / "pe.yml"), "-web.listen-address", f"127.0.0.1:{pe_port}",
             "-threads=false", "-gather-smaps=false"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [ours, f"--web.listen-address=127.0.0.1:{our_port}", f"--config={tmp / 'ours.yml'}",
             "--collector.disable-defaults", "--collector.processes"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        pe_url, our_url = f"http://127.0.0.1:{pe_port}/metrics", f"http://127.0.0.1:{our_port}/metrics"
        wait_http(pe_url, proc=procs[0])
        wait_http(our_url, proc=procs[1])
        yield comm, child.pid, _families(pe_url), _families(our_url)
    finally:
        for p in procs:
            stop(p)
        child.stdin.close()
        child.wait(10)


def _named(fams):
    return {n: v for n, v in fams.items() if n.startswith("namedprocess_")}


def test_process_groups_match_process_exporter(process_scrapes):
    comm, pid, pe, ours = process_scrapes
    pe, ours = _named(pe), _named(ours)
    # threads_wchan needs a read per thread; we leave it out (README lists it)
    missing = sorted(set(pe) - set(ours) - {"namedprocess_namegroup_threads_wchan"})
    assert not missing, f"process-exporter families we do not publish: {missing}"
    print(f"\nprocess-exporter families we do not publish: {sorted(set(pe) - set(ours))}")
    for name in sorted(set(pe) & set(ours)):
        assert ours[name][0] == pe[name][0], f"{name}: TYPE {pe[name][0]} vs ours {ours[name][0]}"
        assert set(ours[name][1]) == set(pe[name][1]), f"{name}: series differ"
    g = (("groupname", comm),)
    for name in ("namedprocess_namegroup_num_procs", "namedprocess_namegroup_num_threads",
                 "namedprocess_namegroup_open_filedesc", "namedprocess_namegroup_worst_fd_ratio"):
        assert ours[name][1][(name, g)] == pe[name][1][(name, g)], name
    start = "namedprocess_namegroup_oldest_start_time_seconds"
    assert abs(ours[start][1][(start, g)] - pe[start][1][(start, g)]) <= 1
    mem = "namedprocess_namegroup_memory_bytes"
    for memtype in ("resident", "virtual"):
        key = (mem, (("groupname", comm), ("memtype", memtype)))
        assert abs(ours[mem][1][key] - pe[mem][1][key]) <= 1 << 20, memtype
    states = "namedprocess_namegroup_states"
    assert ours[states][1] == pe[states][1]


def test_process_counters_start_at_zero_like_process_exporter(process_scrapes):
    """Both count only what happens after they start; the child has been idle since, so both report 0."""
    comm, _, pe, ours = process_scrapes
    for name, extra in (("namedprocess_namegroup_cpu_seconds", ("mode", "user")),
                        ("namedprocess_namegroup_major_page_faults", None),
                        ("namedprocess_namegroup_read_bytes", None)):
        labels = tuple(sorted([("groupname", comm)] + ([extra] if extra else [])))
        sample = name + "_total"
        assert ours[name][1][(sample, labels)] == pe[name][1][(sample, labels)] == 0, name


# --- drop-in check: dashboards and alerts ------------------------------------------------------------------------


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
# The hardware view: the collectors this host has no hardware for, reading the fixture trees and the stand-in
# systemd, so their panels and alerts are checked too (uname for the alerts' nodename join).
FIXTURE_ARGS = (f"--path.sysfs={FIXTURES}/sys", f"--path.procfs={FIXTURES}/proc", f"--path.rootfs={FIXTURES}",
                "--collector.disable-defaults", "--collector.uname", "--collector.systemd",
                "--collector.systemd.enable-task-metrics", "--collector.systemd.enable-restarts-metrics",
                "--collector.systemd.enable-start-time-metrics",
                *[f"--collector.{c}" for c in ("hwmon", "nvme", "rapl", "powersupplyclass", "infiniband",
                                               "fibrechannel", "tapestats", "bcache", "nfs", "nfsd", "xfs", "btrfs",
                                               "zfs", "ipvs")])


@contextlib.contextmanager
def _serving(binary: str, env: dict, *args: str):
    """An exporter on a free port with its own environment; yields its host:port."""
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen([binary, f"--web.listen-address={address}", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://{address}/metrics", proc=proc)
        yield address
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def dropin(tmp_path_factory):
    """node_exporter and ours, each scraped every second by its own Prometheus, so the dashboard and alert queries
    run verbatim on each: on this host with the default collectors, and on the fixture trees with the hardware
    collectors; yields once both Prometheus servers hold 5 scrapes of each."""
    tmp = tmp_path_factory.mktemp("dropin")
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(private_bus(tmp / "bus"))
        proms = []
        for name, binary in (("ne", need_binary("prometheus-node-exporter")), ("ours", exporter_binary())):
            host = stack.enter_context(_serving(binary, env))
            hardware = stack.enter_context(_serving(binary, env, *FIXTURE_ARGS))
            proms.append(stack.enter_context(
                start_prometheus(tmp / f"prom-{name}", {"node": [host, hardware]}, metrics_path="/metrics")))
        for prom in proms:
            prom.wait_for_series("count_over_time(node_load1[1m]) >= 5", timeout=60)
            prom.wait_for_series("count_over_time(node_hwmon_chip_names[1m]) >= 5", timeout=60, min_results=3)
        yield proms


def _returns_data(prom, expr: str) -> bool:
    data = prom.query(expr)
    return bool(data["result"]) if data["resultType"] in ("vector", "matrix") else True


def _empty_on_ours(dropin, queries) -> tuple[list[str], int]:
    """The queries that return data on node_exporter and none on ours, and how many return data on node_exporter."""
    prom_ne, prom_ours = dropin
    with_data = [q for q in queries if _returns_data(prom_ne, q)]
    return [q for q in with_data if not _returns_data(prom_ours, q)], len(with_data)


def test_dashboard_panel_queries_that_show_data_on_node_exporter_show_data_on_ours(dropin):
    missing, with_data = _empty_on_ours(dropin, PANELS)
    print(f"\n{with_data} of {len(PANELS)} panel queries return data on node_exporter, {len(missing)} none on ours")
    assert with_data > 150, f"only {with_data} of {len(PANELS)} panel queries return data on node_exporter"
    assert not missing, "empty on ours:\n" + "\n".join(missing)


def test_node_exporter_alert_expressions_and_their_signals_behave_the_same(dropin):
    missing, _ = _empty_on_ours(dropin, list(ALERTS.values()))
    assert not missing, "alerts firing on node_exporter only:\n" + "\n".join(missing)
    missing, with_data = _empty_on_ours(dropin, list(ALERT_SIGNALS.values()))
    print(f"\n{with_data} of {len(ALERT_SIGNALS)} alert signals return data on node_exporter")
    assert with_data >= 20, f"only {with_data} alert signals return data on node_exporter"
    names = [n for n, q in ALERT_SIGNALS.items() if q in missing]
    assert not names, f"alerts whose inputs are empty on ours: {names}"
