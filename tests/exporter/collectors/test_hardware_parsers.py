"""The hardware/filesystem collectors' parsers on plain strings and small trees, and what bad input gives."""
from __future__ import annotations

import pytest

from perfadvisor.exporter.collectors import _rpcstat, bcache, btrfs, fibrechannel, hwmon, infiniband, ipvs, rapl
from perfadvisor.exporter.collectors import systemd, zfs

from .conftest import build, samples


def test_hwmon_sensor_file_names_and_chip_names(tmp_path):
    assert hwmon.explode("temp1_crit_alarm") == ("temp", 1, "crit_alarm")
    assert hwmon.explode("in0_input") == ("in", 0, "input")
    assert hwmon.explode("beep_enable") == ("beep_enable", 0, "")
    assert hwmon.explode("pwm2") == ("pwm", 2, "")
    assert hwmon.clean("Package id 0") == "package_id_0"
    chip = tmp_path / "hwmon7"
    chip.mkdir()
    assert hwmon.chip_name(str(chip)) == "hwmon7"  # neither a device link nor a name file
    (chip / "name").write_text("k10temp\n")
    assert hwmon.chip_name(str(chip)) == "k10temp"
    (tmp_path / "pci0000:00" / "0000:00:18.3").mkdir(parents=True)
    (chip / "device").symlink_to(tmp_path / "pci0000:00" / "0000:00:18.3")
    assert hwmon.chip_name(str(chip)) == "pci0000:00_0000:00:18_3"  # the device path wins: stable across boots


def test_rapl_zone_index_from_name_or_count():
    seen = {"dram": 1}
    assert rapl.index_and_name(seen, "package-1") == (1, "package")
    assert rapl.index_and_name(seen, "dram") == (1, "dram")
    assert rapl.index_and_name(seen, "psys") == (0, "psys")


def test_bcache_human_sizes_and_writeback_debug():
    assert bcache.dehumanize("2.5M") == 2609152  # bch_hprint's .5 is 5/10.24 of the unit, as upstream reads it
    assert bcache.dehumanize("0") == 0 and bcache.dehumanize("1305") == 1305
    with pytest.raises(ValueError):
        bcache.dehumanize("")
    debug = bcache.parse_writeback_debug("rate:\t\t1.1M/sec\ndirty:\t\t0\ntarget:\t\t20.4G\nnext io:\t17ms\n")
    assert debug == {"rate": 1150976, "dirty": 0, "target": 21894266880}


def test_infiniband_fibrechannel_ipvs_btrfs_systemd_values():
    assert infiniband.parse_rate("40 Gb/sec (4X QDR)") == 5e9
    assert infiniband.parse_rate("2.5 Gb/sec (1X SDR)") == 312500000
    assert infiniband.parse_state("4: ACTIVE") == 4 and infiniband.parse_state("garbage") is None
    assert fibrechannel.parse_hex_counter("0x1f") == 31
    assert fibrechannel.parse_hex_counter("0xffffffffffffffff") is None  # "not supported by the adapter"
    assert ipvs._address("C0A80016:0CEA") == ("192.168.0.22", "3306")
    assert ipvs._address("[2620:0000:0000:0000:0000:0000:0000:0001]:0035") == ("2620::1", "53")
    assert btrfs.layout_ratio("raid5", 3) == 1.5 and btrfs.layout_ratio("dup", 1) == 2.0
    assert systemd.version_number("252.6-1") == 252.6 and systemd.version_number("") == 0


def test_zfs_kstat_and_pool_io():
    raw = "6 1 0x01 3 144 1 2\nname type data\nhits 4 10\ndataset_name 7 tank/home\nneg 3 -2\n"
    assert zfs.parse_kstat(raw, "x") == ([("hits", 10), ("neg", -2)], {"dataset_name": "tank/home"})
    with pytest.raises(ValueError, match="x:3"):
        zfs.parse_kstat("h\nname type data\nbroken\n", "x")
    assert zfs.parse_pool_io("7 3 0x00\nnread nwritten\n1 2\n", "io") == [("nread", 1), ("nwritten", 2)]


def test_nfs_counts_that_disagree_fail_the_collector_naming_the_file(tmp_path):
    assert _rpcstat.procedures(None, ("Null", "Read"), "f", "proc3") == [("Null", 0), ("Read", 0)]
    rpc = tmp_path / "net" / "rpc"
    rpc.mkdir(parents=True)
    (rpc / "nfs").write_text("net 1 0 1 0\nrpc 5 0 5\nproc3 22 1 2 3\n")
    reg, _ = build("nfs", procfs=str(tmp_path))
    with pytest.raises(ValueError, match=f"{rpc / 'nfs'}: proc3: says 22 values, has 3"):
        list(reg.collect())
    (rpc / "nfs").write_text("net 1 0 1 0\nrpc 5 0 5\n")  # only the lines this kernel writes: the rest count 0
    reg, _ = build("nfs", procfs=str(tmp_path))
    requests = samples(reg, "node_nfs_requests_total")
    assert len(requests) == 18 + 22 + 59 and set(requests.values()) == {0.0}
    assert reg.get_sample_value("node_nfs_rpcs_total") == 5


def test_collectors_publish_nothing_where_the_hardware_is_absent(tmp_path):
    for name in ("hwmon", "nvme", "rapl", "powersupplyclass", "infiniband", "fibrechannel", "tapestats", "bcache",
                 "nfs", "nfsd", "xfs", "btrfs", "zfs", "ipvs"):
        reg, _ = build(name, procfs=str(tmp_path), sysfs=str(tmp_path))
        assert list(reg.collect()) == [], name


def test_bad_settings_name_the_collector_and_setting():
    with pytest.raises(ValueError, match="ipvs: backend-labels: unknown label 'bogus'"):
        build("ipvs", {"backend-labels": "proto,bogus"})
    with pytest.raises(ValueError, match=r"systemd: unit-include: invalid regular expression '\('"):
        build("systemd", {"unit-include": "("})
