"""Host collectors against this machine's /proc and /sys: the values a user would compare with the kernel's."""
from __future__ import annotations

import os
import platform
import time

import pytest

from .conftest import build, samples


def _proc(name: str) -> str:
    with open(f"/proc/{name}") as f:
        return f.read()


def test_meminfo_memtotal_and_swap_match_proc():
    reg, _ = build("meminfo")
    fields = {l.split(":")[0]: int(l.split()[1]) for l in _proc("meminfo").splitlines()}
    assert reg.get_sample_value("node_memory_MemTotal_bytes") == fields["MemTotal"] * 1024
    assert reg.get_sample_value("node_memory_SwapTotal_bytes") == fields["SwapTotal"] * 1024
    assert reg.get_sample_value("node_memory_Active_anon_bytes") is not None


def test_cpu_has_one_cpu_label_per_proc_stat_line_and_all_modes():
    reg, _ = build("cpu")
    cpus = {l.split()[0][3:] for l in _proc("stat").splitlines() if l.startswith("cpu") and l[3] != " "}
    series = samples(reg, "node_cpu_seconds_total")
    assert {dict(k)["cpu"] for k in series} == cpus
    assert {dict(k)["mode"] for k in series} == {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}
    assert reg.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "idle"}) > 0
    assert reg.get_sample_value("node_cpu_guest_seconds_total", {"cpu": "0", "mode": "user"}) is not None


def test_loadavg_matches_proc():
    reg, _ = build("loadavg")
    load1 = float(_proc("loadavg").split()[0])
    assert abs(reg.get_sample_value("node_load1") - load1) < 1.0


def test_stat_boot_time_and_counters():
    reg, _ = build("stat")
    btime = next(int(l.split()[1]) for l in _proc("stat").splitlines() if l.startswith("btime"))
    assert reg.get_sample_value("node_boot_time_seconds") == btime
    assert reg.get_sample_value("node_forks_total") > 0
    assert reg.get_sample_value("node_context_switches_total") > 0
    assert reg.get_sample_value("node_procs_running") >= 1


def test_filesystem_reports_root_and_excludes_pseudo_filesystems():
    reg, _ = build("filesystem")
    st = os.statvfs("/")
    roots = {k: v for k, v in samples(reg, "node_filesystem_size_bytes").items() if dict(k)["mountpoint"] == "/"}
    assert len(roots) == 1
    assert list(roots.values())[0] == st.f_blocks * st.f_frsize
    labels = dict(next(iter(roots)))
    assert reg.get_sample_value("node_filesystem_device_error", labels) == 0
    assert reg.get_sample_value("node_filesystem_readonly", labels) == 0
    mountpoints = {dict(k)["mountpoint"] for k in samples(reg, "node_filesystem_size_bytes")}
    assert not any(m.startswith(("/proc", "/sys", "/dev")) for m in mountpoints)


def test_filesystem_exclusion_flags(tmp_path):
    reg, _ = build("filesystem", {"mount-points-exclude": "^/$"})
    assert not [k for k in samples(reg, "node_filesystem_size_bytes") if dict(k)["mountpoint"] == "/"]


def test_filesystem_unreachable_mount_is_a_device_error(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mounts").write_text("server:/export /gone nfs4 rw 0 0\n/dev/vda / ext4 rw 0 0\n")
    reg, _ = build("filesystem", procfs=str(proc))
    lbl = {"device": "server:/export", "fstype": "nfs4", "mountpoint": "/gone"}
    assert reg.get_sample_value("node_filesystem_device_error", lbl) == 1
    assert reg.get_sample_value("node_filesystem_size_bytes", lbl) is None


def test_filesystem_follows_mount_table_changes_between_scrapes(tmp_path):
    """What the mount table says is worked out again as soon as its text changes: a remount read-only, a new
    mount, an unmount."""
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mounts").write_text("/dev/vda / ext4 rw 0 0\n")
    reg, _ = build("filesystem", procfs=str(proc))
    root = {"device": "/dev/vda", "fstype": "ext4", "mountpoint": "/"}
    assert reg.get_sample_value("node_filesystem_readonly", root) == 0
    assert reg.get_sample_value("node_filesystem_readonly", root) == 0  # unchanged table, same answer
    (proc / "mounts").write_text(f"/dev/vda / ext4 ro,relatime 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n")
    assert reg.get_sample_value("node_filesystem_readonly", root) == 1
    tmp = {"device": "tmpfs", "fstype": "tmpfs", "mountpoint": str(tmp_path)}
    assert reg.get_sample_value("node_filesystem_device_error", tmp) == 0
    (proc / "mounts").write_text("/dev/vda / ext4 rw 0 0\n")
    assert reg.get_sample_value("node_filesystem_device_error", tmp) is None
    assert reg.get_sample_value("node_filesystem_readonly", root) == 0


def test_netdev_excludes_loopback_and_counts_bytes():
    reg, _ = build("netdev")
    devs = {dict(k)["device"] for k in samples(reg, "node_network_receive_bytes_total")}
    assert "lo" not in devs
    expected = {l.split(":")[0].strip() for l in _proc("net/dev").splitlines()[2:]} - {"lo"}
    assert devs == expected
    reg_all, _ = build("netdev", {"device-exclude": ""})
    assert reg_all.get_sample_value("node_network_receive_bytes_total", {"device": "lo"}) >= 0


def test_diskstats_default_exclusions_with_fixture(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "diskstats").write_text(
        "   7 0 loop0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        "   8 0 sda 10 2 200 30 5 1 80 40 1 60 70 0 0 0 0 3 4\n"
        "   8 1 sda1 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )
    reg, _ = build("diskstats", procfs=str(proc), rootfs=str(tmp_path))
    assert {dict(k)["device"] for k in samples(reg, "node_disk_reads_completed_total")} == {"sda"}
    assert reg.get_sample_value("node_disk_read_bytes_total", {"device": "sda"}) == 200 * 512
    assert reg.get_sample_value("node_disk_io_time_seconds_total", {"device": "sda"}) == 0.06
    assert reg.get_sample_value("node_disk_io_now", {"device": "sda"}) == 1
    assert reg.get_sample_value("node_disk_flush_requests_total", {"device": "sda"}) == 3
    assert reg.get_sample_value("node_disk_info", {"device": "sda", "major": "8", "minor": "0", "model": "",
                                                   "path": "", "revision": "", "serial": "", "wwn": ""}) == 1


def test_netstat_default_fields_only():
    reg, _ = build("netstat")
    names = {m.name for m in reg.collect()}
    assert {"node_netstat_Tcp_RetransSegs", "node_netstat_Tcp_CurrEstab", "node_netstat_TcpExt_ListenOverflows",
            "node_netstat_TcpExt_ListenDrops"} <= names
    assert "node_netstat_Tcp_RtoAlgorithm" not in names
    assert all(m.type == "unknown" for m in reg.collect())


def test_sockstat_filefd_vmstat_pressure():
    reg, _ = build("sockstat")
    assert reg.get_sample_value("node_sockstat_sockets_used") > 0
    assert reg.get_sample_value("node_sockstat_TCP_mem_bytes") is not None
    reg, _ = build("filefd")
    assert reg.get_sample_value("node_filefd_maximum") == int(_proc("sys/fs/file-nr").split()[2])
    reg, _ = build("vmstat")
    assert {m.name for m in reg.collect()} >= {"node_vmstat_pgmajfault", "node_vmstat_pgpgin", "node_vmstat_pswpin"}
    assert "node_vmstat_nr_free_pages" not in {m.name for m in reg.collect()}
    if os.path.exists("/proc/pressure/cpu"):
        reg, _ = build("pressure")
        assert reg.get_sample_value("node_pressure_cpu_waiting_seconds_total") >= 0
        assert reg.get_sample_value("node_pressure_memory_stalled_seconds_total") >= 0


def test_tcpstat_counts_a_listening_socket():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        reg, _ = build("tcpstat")
        assert reg.get_sample_value("node_tcp_connection_states", {"state": "listen"}) >= 1


def test_uname_os_time():
    reg, _ = build("uname")
    u = platform.uname()
    series = samples(reg, "node_uname_info")
    labels = dict(next(iter(series)))
    assert (labels["sysname"], labels["release"], labels["machine"], labels["nodename"]) == (
        u.system, u.release, u.machine, u.node)
    reg, _ = build("time")
    assert abs(reg.get_sample_value("node_time_seconds") - time.time()) < 5
    if os.path.exists("/etc/os-release"):
        reg, _ = build("os")
        info = dict(next(iter(samples(reg, "node_os_info"))))
        assert info["id"] and info["pretty_name"]


def test_os_version_from_fixture(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n')
    reg, _ = build("os", rootfs=str(tmp_path))
    assert reg.get_sample_value("node_os_version", {"id": "ubuntu", "id_like": "debian", "name": "Ubuntu"}) == 22.04


@pytest.mark.parametrize("name", ["cpu", "meminfo", "diskstats", "netdev", "stat"])
def test_collectors_read_a_fixture_procfs(tmp_path, name):
    """--path.procfs is honoured: a fixture tree, not the host, is what gets reported."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "stat").write_text("cpu  1 0 0 0 0 0 0 0 0 0\ncpu0 100 0 0 0 0 0 0 0 0 0\nbtime 42\nprocesses 7\n")
    (proc / "meminfo").write_text("MemTotal:       1000 kB\n")
    (proc / "diskstats").write_text("   8 0 sdz 1 0 0 0 0 0 0 0 0 0 0\n")
    (proc / "net" / "dev").write_text("h1\nh2\n  eth9: 5 0 0 0 0 0 0 0 6 0 0 0 0 0 0 0\n")
    reg, _ = build(name, procfs=str(proc), sysfs=str(tmp_path / "sys"), rootfs=str(tmp_path))
    expect = {
        "cpu": ("node_cpu_seconds_total", {"cpu": "0", "mode": "user"}, 1.0),
        "meminfo": ("node_memory_MemTotal_bytes", None, 1024000.0),
        "diskstats": ("node_disk_reads_completed_total", {"device": "sdz"}, 1.0),
        "netdev": ("node_network_transmit_bytes_total", {"device": "eth9"}, 6.0),
        "stat": ("node_boot_time_seconds", None, 42.0),
    }[name]
    assert reg.get_sample_value(expect[0], expect[1]) == expect[2]


def test_hung_network_mount_does_not_stall_the_scrape(tmp_path, monkeypatch):
    """A statvfs that never returns (a dead NFS server) costs one mount-timeout, then the mount is skipped."""
    import threading

    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mounts").write_text("server:/export /mnt2/nfs nfs4 rw 0 0\n/dev/vda / ext4 rw 0 0\n")
    release = threading.Event()
    real = os.statvfs
    calls = []

    def statvfs(path):
        if path == "/mnt2/nfs":
            calls.append(path)
            release.wait(30)  # hangs like a hard NFS mount until the "server" comes back
            return real("/")
        return real(path)

    monkeypatch.setattr(os, "statvfs", statvfs)
    reg, _ = build("filesystem", {"mount-timeout": 0.2}, procfs=str(proc))
    nfs = {"device": "server:/export", "fstype": "nfs4", "mountpoint": "/mnt2/nfs"}
    try:
        # the scrape returns while the call is still hanging (release is not set yet)
        assert reg.get_sample_value("node_filesystem_device_error", nfs) == 1
        assert reg.get_sample_value("node_filesystem_size_bytes", {**nfs}) is None
        assert reg.get_sample_value("node_filesystem_size_bytes", {"device": "/dev/vda", "fstype": "ext4",
                                                                   "mountpoint": "/"}) > 0
        assert reg.get_sample_value("node_filesystem_device_error", nfs) == 1  # still hung: skipped, not asked again
        assert len(calls) == 1
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while reg.get_sample_value("node_filesystem_device_error", nfs) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reg.get_sample_value("node_filesystem_size_bytes", nfs) > 0


@pytest.mark.parametrize("name,settings,message", [
    ("netdev", {"device-exclude": "("}, "netdev: device-exclude: invalid regular expression '('"),
    ("filesystem", {"fs-types-exclude": "[a"}, "filesystem: fs-types-exclude: invalid regular expression '[a'"),
    ("processes", {"groups": [{"name": "x", "cmdline": ["ok", "(?P<"]}]},
     "processes: groups[0].cmdline[1]: invalid regular expression '(?P<'"),
])
def test_bad_regex_setting_names_the_setting(name, settings, message):
    with pytest.raises(ValueError) as e:
        build(name, settings)
    assert str(e.value).startswith(message)


def test_diskstats_udev_properties(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "diskstats").write_text("   8 0 sda 1 0 0 0 0 0 0 0 0 0 0\n 253 0 dm-0 1 0 0 0 0 0 0 0 0 0 0\n")
    udev = tmp_path / "run" / "udev" / "data"
    udev.mkdir(parents=True)
    (udev / "b8:0").write_text("S:disk/by-id/ata-X\nE:ID_ATA=1\nE:ID_MODEL=Disk_X\nE:ID_SERIAL=Disk_X_123\n"
                               "E:ID_SERIAL_SHORT=123\nE:ID_ATA_ROTATION_RATE_RPM=0\nE:ID_ATA_WRITE_CACHE=1\n"
                               "E:ID_FS_TYPE=LVM2_member\nE:ID_FS_USAGE=raid\nE:ID_FS_UUID=u1\nE:ID_FS_VERSION=LVM2 001\n")
    (udev / "b253:0").write_text("E:DM_NAME=vg-root\nE:DM_UUID=LVM-1\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\n")
    reg, _ = build("diskstats", procfs=str(proc), rootfs=str(tmp_path))
    info = {dict(k)["device"]: dict(k) for k in samples(reg, "node_disk_info")}
    assert info["sda"]["model"] == "Disk_X" and info["sda"]["serial"] == "123"
    assert reg.get_sample_value("node_disk_ata_rotation_rate_rpm", {"device": "sda"}) == 0
    assert reg.get_sample_value("node_disk_ata_write_cache", {"device": "sda"}) == 1
    assert reg.get_sample_value("node_disk_ata_write_cache_enabled", {"device": "sda"}) is None
    assert reg.get_sample_value("node_disk_filesystem_info", {"device": "sda", "type": "LVM2_member", "usage": "raid",
                                                              "uuid": "u1", "version": "LVM2 001"}) == 1
    assert reg.get_sample_value("node_disk_device_mapper_info", {"device": "dm-0", "name": "vg-root", "uuid": "LVM-1",
                                                                 "vg_name": "vg", "lv_name": "root",
                                                                 "lv_layer": ""}) == 1


def test_cpu_counters_never_go_backwards_but_follow_a_hotplug_reset(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    stat = proc / "stat"
    stat.write_text("cpu  0\ncpu0 100 0 50 100000 500 0 0 0 0 0\n")
    reg, _ = build("cpu", procfs=str(proc), sysfs=str(tmp_path))
    iowait = lambda: reg.get_sample_value("node_cpu_seconds_total", {"cpu": "0", "mode": "iowait"})  # noqa: E731
    assert iowait() == 5.0
    stat.write_text("cpu  0\ncpu0 110 0 50 100100 490 0 0 0 0 0\n")  # iowait dips (a kernel accounting quirk)
    assert iowait() == 5.0
    stat.write_text("cpu  0\ncpu0 1 0 1 10 2 0 0 0 0 0\n")  # idle fell by ~1000 s: hot-plugged, counters restart
    assert iowait() == 0.02


def test_cpu_thermal_throttles_fixture(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text("cpu  0\ncpu0 1 0 1 10 2 0 0 0 0 0\ncpu1 1 0 1 10 2 0 0 0 0 0\n")
    for n, core in (("0", "0"), ("1", "0")):  # two hyperthreads of one core
        d = tmp_path / "devices" / "system" / "cpu" / f"cpu{n}"
        (d / "topology").mkdir(parents=True)
        (d / "thermal_throttle").mkdir()
        (d / "topology" / "physical_package_id").write_text("0\n")
        (d / "topology" / "core_id").write_text(core + "\n")
        (d / "thermal_throttle" / "core_throttle_count").write_text("7\n")
        (d / "thermal_throttle" / "package_throttle_count").write_text("3\n")
    reg, _ = build("cpu", procfs=str(proc), sysfs=str(tmp_path))
    assert samples(reg, "node_cpu_core_throttles_total") == {(("core", "0"), ("package", "0")): 7.0}
    assert reg.get_sample_value("node_cpu_package_throttles_total", {"package": "0"}) == 3
