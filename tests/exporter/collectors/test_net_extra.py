"""netclass, softnet, conntrack, arp, udp_queues, entropy, selinux: parsers on fixture text and this machine."""
from __future__ import annotations

import os

import pytest

from perfadvisor.exporter.linux import procfs
from perfadvisor.exporter.linux.sysfs import AttrFiles

from .conftest import build, samples


def test_parsers():
    assert procfs.parse_softnet("0000a2d6 00000001 00000002\n00000010 0 0\n") == [[41686, 1, 2], [16, 0, 0]]
    assert procfs.parse_conntrack_stat("entries found drop\n0000000a 00000001 00000002\n00000000 00000003 0\n") == {
        "entries": 10, "found": 4, "drop": 2}
    assert procfs.parse_arp("IP address HW type Flags HW address Mask Device\n"
                            "192.0.2.1 0x1 0x2 02:fc:00:00:00:05 * eth0\n10.0.0.1 0x1 0x2 aa * eth0\n"
                            "10.1.0.1 0x1 0x2 bb * br0\n") == {"eth0": 2, "br0": 1}
    assert procfs.parse_udp_queues(
        "  sl  local_address rem_address   st tx_queue rx_queue tr\n"
        "  1: 00000000:0044 00000000:0000 07 00000010:00000200 00:00000000\n"
        "  2: 00000000:0045 00000000:0000 07 00000001:00000000 00:00000000\n") == (17, 512)


def _sys(name: str) -> str:
    with open(f"/sys/class/net/{name}") as f:
        return f.read().strip()


def test_netclass_matches_sysfs():
    reg, _ = build("netclass")
    devices = sorted(d for d in os.listdir("/sys/class/net") if d != "bonding_masters")
    up = {dict(k)["device"]: v for k, v in samples(reg, "node_network_up").items()}
    assert sorted(up) == devices
    for dev in devices:
        assert up[dev] == (1.0 if _sys(f"{dev}/operstate") == "up" else 0.0)
        assert reg.get_sample_value("node_network_mtu_bytes", {"device": dev}) == int(_sys(f"{dev}/mtu"))
        assert reg.get_sample_value("node_network_flags", {"device": dev}) == int(_sys(f"{dev}/flags"), 16)
    info = [dict(k) for k in samples(reg, "node_network_info")]
    assert {i["device"] for i in info} == set(devices)
    assert all(set(i) == {"address", "broadcast", "device", "duplex", "ifalias", "operstate"} for i in info)


def test_netclass_fixture_speed_and_missing_attributes(tmp_path):
    net = tmp_path / "class" / "net"
    (net / "eth9").mkdir(parents=True)
    for attr, value in {"operstate": "up", "speed": "1000", "mtu": "9000", "address": "aa:bb", "carrier_changes": "3",
                        "flags": "0x1003"}.items():
        (net / "eth9" / attr).write_text(value + "\n")
    reg, _ = build("netclass", sysfs=str(tmp_path))
    dev = {"device": "eth9"}
    assert reg.get_sample_value("node_network_up", dev) == 1
    assert reg.get_sample_value("node_network_speed_bytes", dev) == 125_000_000
    assert reg.get_sample_value("node_network_carrier_changes_total", dev) == 3
    assert reg.get_sample_value("node_network_flags", dev) == 4099
    assert reg.get_sample_value("node_network_dormant", dev) is None  # absent attribute: no series
    (net / "eth9" / "mtu").write_text("1500\n")  # kept-open descriptors still see new values
    assert reg.get_sample_value("node_network_mtu_bytes", dev) == 1500


def test_attr_files_close_devices_that_went_away(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("1\n")
    files = AttrFiles(str(tmp_path))
    assert files.read("a", "x") == "1" and files.read("a", "missing") is None
    assert files._count == 1
    files.keep_only(set())
    assert files._count == 0


def test_softnet_has_one_cpu_label_per_row():
    reg, _ = build("softnet")
    with open("/proc/net/softnet_stat") as f:
        rows = [l for l in f if l.strip()]
    assert {dict(k)["cpu"] for k in samples(reg, "node_softnet_processed_total")} == {str(i) for i in range(len(rows))}


def test_conntrack_fixture_and_absent(tmp_path):
    proc = tmp_path / "proc"
    (proc / "sys" / "net" / "netfilter").mkdir(parents=True)
    (proc / "net" / "stat").mkdir(parents=True)
    (proc / "sys" / "net" / "netfilter" / "nf_conntrack_count").write_text("12\n")
    (proc / "sys" / "net" / "netfilter" / "nf_conntrack_max").write_text("262144\n")
    (proc / "net" / "stat" / "nf_conntrack").write_text("entries found drop early_drop\n0 1 2 3\n0 1 0 0\n")
    reg, _ = build("conntrack", procfs=str(proc))
    assert reg.get_sample_value("node_nf_conntrack_entries") == 12
    assert reg.get_sample_value("node_nf_conntrack_entries_limit") == 262144
    assert reg.get_sample_value("node_nf_conntrack_stat_found") == 2
    assert reg.get_sample_value("node_nf_conntrack_stat_early_drop") == 3
    reg, _ = build("conntrack", procfs=str(tmp_path / "nothing"))
    assert list(reg.collect()) == []


def test_arp_udp_entropy_selinux_on_this_machine(tmp_path):
    reg, _ = build("arp")
    with open("/proc/net/arp") as f:
        assert sum(samples(reg, "node_arp_entries").values()) == len(f.readlines()) - 1
    reg, _ = build("udp_queues")
    assert {tuple(sorted(dict(k).items())) for k in samples(reg, "node_udp_queues")} >= {
        (("ip", "v4"), ("queue", "rx")), (("ip", "v4"), ("queue", "tx"))}
    reg, _ = build("entropy")
    assert reg.get_sample_value("node_entropy_pool_size_bits") == int(open("/proc/sys/kernel/random/poolsize").read())
    reg, _ = build("selinux", sysfs=str(tmp_path))
    assert reg.get_sample_value("node_selinux_enabled") == 0
    (tmp_path / "fs" / "selinux").mkdir(parents=True)
    (tmp_path / "fs" / "selinux" / "enforce").write_text("1\n")
    (tmp_path / "etc" / "selinux").mkdir(parents=True)
    (tmp_path / "etc" / "selinux" / "config").write_text("SELINUX=permissive\n")
    reg, _ = build("selinux", sysfs=str(tmp_path), rootfs=str(tmp_path))
    assert reg.get_sample_value("node_selinux_enabled") == 1
    assert reg.get_sample_value("node_selinux_config_mode") == 0
    assert reg.get_sample_value("node_selinux_current_mode") == 1


def test_timex_reads_the_kernel_clock_state():
    reg, _ = build("timex")
    assert reg.get_sample_value("node_timex_sync_status") in (0, 1)
    assert 0 < reg.get_sample_value("node_timex_tick_seconds") <= 0.02
    assert reg.get_sample_value("node_timex_frequency_adjustment_ratio") == pytest.approx(1, abs=0.01)
    assert reg.get_sample_value("node_timex_pps_jitter_total") >= 0


def test_schedstat_fixture_and_absent(tmp_path):
    proc = tmp_path / "proc"
    proc.mkdir()
    reg, _ = build("schedstat", procfs=str(proc))
    assert list(reg.collect()) == []  # kernel without schedstats: no series
    (proc / "schedstat").write_text("version 15\ntimestamp 4295\ncpu0 0 0 0 0 0 0 2500000000 1500000000 42\n"
                                    "domain0 3 1 2 3\ncpu1 0 0 0 0 0 0 1000000000 0 7\n")
    reg, _ = build("schedstat", procfs=str(proc))
    assert reg.get_sample_value("node_schedstat_running_seconds_total", {"cpu": "0"}) == 2.5
    assert reg.get_sample_value("node_schedstat_waiting_seconds_total", {"cpu": "0"}) == 1.5
    assert reg.get_sample_value("node_schedstat_timeslices_total", {"cpu": "1"}) == 7


def test_cpufreq_fixture(tmp_path):
    base = tmp_path / "devices" / "system" / "cpu"
    for n, cur in (("0", "2400000"), ("1", "800000")):
        d = base / f"cpu{n}" / "cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_cur_freq").write_text(cur + "\n")
        (d / "cpuinfo_max_freq").write_text("3600000\n")
        (d / "scaling_governor").write_text("powersave\n")
        (d / "scaling_available_governors").write_text("performance powersave\n")
    (base / "cpufreq").mkdir()  # not a cpuN directory
    reg, _ = build("cpufreq", sysfs=str(tmp_path))
    assert reg.get_sample_value("node_cpu_scaling_frequency_hertz", {"cpu": "1"}) == 800_000_000
    assert reg.get_sample_value("node_cpu_frequency_max_hertz", {"cpu": "0"}) == 3_600_000_000
    assert reg.get_sample_value("node_cpu_frequency_hertz", {"cpu": "0"}) is None  # unreadable/absent: no series
    assert reg.get_sample_value("node_cpu_scaling_governor", {"cpu": "0", "governor": "powersave"}) == 1
    assert reg.get_sample_value("node_cpu_scaling_governor", {"cpu": "0", "governor": "performance"}) == 0


def test_dmi_and_thermal_fixtures(tmp_path):
    dmi = tmp_path / "class" / "dmi" / "id"
    dmi.mkdir(parents=True)
    (dmi / "product_name").write_text("t3.large\n")
    (dmi / "sys_vendor").write_text("Amazon EC2\n")
    reg, _ = build("dmi", sysfs=str(tmp_path))
    assert samples(reg, "node_dmi_info") == {(("product_name", "t3.large"), ("system_vendor", "Amazon EC2")): 1.0}
    zone = tmp_path / "class" / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("x86_pkg_temp\n")
    (zone / "temp").write_text("45500\n")
    fan = tmp_path / "class" / "thermal" / "cooling_device3"
    fan.mkdir()
    (fan / "type").write_text("Fan\n")
    (fan / "cur_state").write_text("1\n")
    (fan / "max_state").write_text("4\n")
    reg, _ = build("thermal_zone", sysfs=str(tmp_path))
    assert reg.get_sample_value("node_thermal_zone_temp", {"type": "x86_pkg_temp", "zone": "0"}) == 45.5
    assert reg.get_sample_value("node_cooling_device_max_state", {"name": "3", "type": "Fan"}) == 4
    reg, _ = build("dmi", sysfs=str(tmp_path / "none"))
    assert list(reg.collect()) == []


MDSTAT = """Personalities : [raid1] [raid0] [raid6] [raid5] [raid4]
md3 : active raid6 sda1[8] sdh1[7] sdg1[6] sdf1[5] sde1[11] sdd1[3] sdc1[10] sdb1[9]
      5853468288 blocks super 1.2 level 6, 64k chunk, algorithm 2 [8/8] [UUUUUUUU]

md127 : active raid1 sdi2[0] sdj2[1]
      312319552 blocks [2/2] [UU]

md0 : active raid1 sdk[2](S) sdi1[0] sdj1[1](F)
      248896 blocks [2/1] [U_]
      [=>...................]  recovery =  8.5% (16320/248896) finish=0.2min speed=10880K/sec
      bitmap: 0/1 pages [0KB], 65536KB chunk

md8 : active raid0 sdb2[1] sda2[0]
      195310144 blocks 64k chunks

md9 : inactive sdb3[2](S)
      195310144 blocks super 1.2

unused devices: <none>
"""


def test_mdstat_parser_and_collector(tmp_path):
    arrays = {a["name"]: a for a in procfs.parse_mdstat(MDSTAT)}
    assert arrays["md3"] == {"name": "md3", "state": "active", "active": 8, "total": 8, "failed": 0, "spare": 0,
                             "down": 0, "blocks": 5853468288, "synced": 5853468288}
    assert arrays["md0"]["state"] == "recovering" and arrays["md0"]["synced"] == 16320
    assert (arrays["md0"]["failed"], arrays["md0"]["spare"], arrays["md0"]["down"]) == (1, 1, 1)
    assert (arrays["md8"]["active"], arrays["md8"]["total"]) == (2, 2)
    assert arrays["md9"]["state"] == "inactive"
    proc = tmp_path / "proc"
    proc.mkdir()
    reg, _ = build("mdadm", procfs=str(proc))
    assert list(reg.collect()) == []  # no md driver: no series
    (proc / "mdstat").write_text(MDSTAT)
    reg, _ = build("mdadm", procfs=str(proc))
    assert reg.get_sample_value("node_md_state", {"device": "md0", "state": "recovering"}) == 1
    assert reg.get_sample_value("node_md_state", {"device": "md0", "state": "active"}) == 0
    assert reg.get_sample_value("node_md_disks", {"device": "md0", "state": "failed"}) == 1
    assert reg.get_sample_value("node_md_disks_required", {"device": "md127"}) == 2
    assert reg.get_sample_value("node_md_blocks_synced", {"device": "md0"}) == 16320


def test_bonding_and_edac_fixtures(tmp_path):
    net = tmp_path / "class" / "net"
    (net / "bond0" / "bonding").mkdir(parents=True)
    (net / "bonding_masters").write_text("bond0\n")
    (net / "bond0" / "bonding" / "slaves").write_text("eth0 eth1\n")
    for slave, mii in (("eth0", "up"), ("eth1", "down")):
        d = net / "bond0" / f"lower_{slave}" / "bonding_slave"
        d.mkdir(parents=True)
        (d / "mii_status").write_text(mii + "\n")
    reg, _ = build("bonding", sysfs=str(tmp_path))
    assert reg.get_sample_value("node_bonding_slaves", {"master": "bond0"}) == 2
    assert reg.get_sample_value("node_bonding_active", {"master": "bond0"}) == 1
    mc = tmp_path / "devices" / "system" / "edac" / "mc" / "mc0"
    (mc / "csrow0").mkdir(parents=True)
    for name, value in (("ce_count", "3"), ("ue_count", "0"), ("ce_noinfo_count", "1"), ("ue_noinfo_count", "0")):
        (mc / name).write_text(value + "\n")
    (mc / "csrow0" / "ce_count").write_text("2\n")
    (mc / "csrow0" / "ue_count").write_text("0\n")
    reg, _ = build("edac", sysfs=str(tmp_path))
    assert reg.get_sample_value("node_edac_correctable_errors_total", {"controller": "0"}) == 3
    assert reg.get_sample_value("node_edac_csrow_correctable_errors_total", {"controller": "0", "csrow": "0"}) == 2
    assert reg.get_sample_value("node_edac_csrow_correctable_errors_total",
                                {"controller": "0", "csrow": "unknown"}) == 1
    reg, _ = build("bonding", sysfs=str(tmp_path / "none"))
    assert list(reg.collect()) == []
