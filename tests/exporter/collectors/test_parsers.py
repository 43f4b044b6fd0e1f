"""Parsers on fixture strings: the shapes of /proc files, including the awkward ones."""
from __future__ import annotations

from perfadvisor.exporter.linux import pids, procfs

STAT = """cpu  100 5 50 1000 3 0 2 1 0 0
cpu0 60 5 30 500 2 0 1 1 7 3
cpu1 40 0 20 500 1 0 1 0 0 0
intr 145433 0 9 0 0
ctxt 311125
btime 1795762632
processes 6178
procs_running 3
procs_blocked 1
softirq 1 2 3
"""


def test_parse_stat_cpus_and_counters():
    cpus, other = procfs.parse_stat(STAT)
    assert sorted(cpus) == ["0", "1"]
    assert cpus["0"] == [60, 5, 30, 500, 2, 0, 1, 1, 7, 3]
    assert other == {"intr": 145433, "ctxt": 311125, "btime": 1795762632, "processes": 6178,
                     "procs_running": 3, "procs_blocked": 1}


def test_parse_meminfo_names_like_node_exporter():
    m = procfs.parse_meminfo("MemTotal:       24684084 kB\nActive(anon):       1560 kB\nHugePages_Total:       0\n")
    assert m == {"MemTotal_bytes": 24684084 * 1024.0, "Active_anon_bytes": 1560 * 1024.0, "HugePages_Total": 0.0}


def test_parse_loadavg():
    assert procfs.parse_loadavg("0.21 0.37 0.39 1/719 19737\n") == (0.21, 0.37, 0.39)


def test_parse_diskstats_short_and_long_rows():
    rows = procfs.parse_diskstats(
        " 254 0 vda 32842 9519 2698082 7079 10328 20921 1960864 3651 0 6488 10981 4308 44 87912 204 1509 47\n"
        "   8 1 sda1 1 2 3 4 5 6 7 8 9 10 11\n"
    )
    assert rows[0][:3] == ("254", "0", "vda") and len(rows[0][3]) == 17 and rows[0][3][9] == 6488
    assert rows[1][2] == "sda1" and len(rows[1][3]) == 11


def test_parse_mounts_unescapes_octal():
    rows = procfs.parse_mounts("/dev/sdb1 /media/my\\040disk ext4 ro,relatime 0 0\n")
    assert rows == [("/dev/sdb1", "/media/my disk", "ext4", "ro,relatime")]


def test_parse_net_dev():
    text = ("Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n"
            "    lo:   63072      66    0    0    0     0          0         0    63072      66    0    0    0     0       0          0\n"
            "  eth0: 83392784    2386    1    2    3     4          5         6   184799    1492    7    8    9    10      11         12\n")
    d = procfs.parse_net_dev(text)
    assert d["eth0"][0] == 83392784 and d["eth0"][7] == 6 and d["eth0"][15] == 12 and "lo" in d


def test_parse_netstat_and_snmp6():
    n = procfs.parse_netstat("Tcp: RtoAlgorithm RetransSegs CurrEstab\nTcp: 1 17 2\n"
                             "TcpExt: ListenDrops\nTcpExt: 4\n")
    assert n == {"Tcp_RtoAlgorithm": "1", "Tcp_RetransSegs": "17", "Tcp_CurrEstab": "2", "TcpExt_ListenDrops": "4"}
    assert procfs.parse_snmp6("Ip6InOctets                     128\nUdpLite6InErrors 0\n") == {
        "Ip6_InOctets": "128", "UdpLite6_InErrors": "0"}


def test_parse_sockstat_vmstat_pressure_filenr():
    assert procfs.parse_sockstat("sockets: used 229\nTCP: inuse 3 orphan 0 tw 1 alloc 5 mem 2\n") == [
        ("sockets", "used", 229), ("TCP", "inuse", 3), ("TCP", "orphan", 0), ("TCP", "tw", 1),
        ("TCP", "alloc", 5), ("TCP", "mem", 2)]
    assert procfs.parse_vmstat("pgfault 10\noom_kill 0\n") == [("pgfault", "10"), ("oom_kill", "0")]
    assert procfs.parse_pressure("some avg10=0.01 avg60=0.13 avg300=0.24 total=4247660\n"
                                 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n") == {"some": 4.24766, "full": 0.0}
    assert procfs.parse_file_nr("565\t0\t2466170\n") == (565, 2466170)


def test_parse_os_release_quotes():
    r = procfs.parse_os_release('NAME="Debian GNU/Linux"\nVERSION_ID="12"\n# comment\nID=debian\n')
    assert r == {"NAME": "Debian GNU/Linux", "VERSION_ID": "12", "ID": "debian"}


def test_parse_tcp_states():
    counts: dict[str, int] = {}
    procfs.parse_tcp_states(
        "  sl  local_address rem_address   st tx_queue\n"
        "   0: 0100007F:0CBC 00000000:0000 0A 00000000:00000000\n"
        "   1: 0100007F:0CBC 0100007F:A0B2 01 00000000:00000000\n"
        "   2: 0100007F:0CBC 0100007F:A0B4 01 00000000:00000000\n", counts)
    assert counts == {"listen": 1, "established": 2}


def test_parse_pid_stat_with_hostile_comm():
    comm, f = pids.parse_stat(b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 3 0 12 34 0 0 20 0 2 0 "
                              b"555 1048576 300 18446744073709551615\n")
    assert comm == "a) b (c)"
    assert f[pids.STATE] == b"S" and int(f[pids.UTIME]) == 12 and int(f[pids.STIME]) == 34
    assert int(f[pids.MINFLT]) == 100 and int(f[pids.MAJFLT]) == 3
    assert int(f[pids.NUM_THREADS]) == 2 and int(f[pids.STARTTIME]) == 555
    assert int(f[pids.VSIZE]) == 1048576 and int(f[pids.RSS]) == 300


def test_parse_pid_status_io_limits():
    status = (b"Name:\tx\nVmRSS:\t  100 kB\nVmSwap:\t      12 kB\nThreads:\t1\n"
              b"voluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n")
    assert pids.parse_status(status) == (7, 3, 12 * 1024)
    assert pids.parse_status(b"Name:\tkthreadd\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t0\n") == (5, 0, 0)
    io = b"rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 99\n"
    assert pids.parse_io(io) == (4096, 8192)
    limits = ("Limit                     Soft Limit           Hard Limit           Units\n"
              "Max open files            1024                 524288               files\n")
    assert pids.parse_max_fds(limits) == 1024


def test_parse_smaps_rollup():
    data = b"55-7f ---p 00000000 00:00 0 [rollup]\nRss:  1736 kB\nPss:  192 kB\nPss_Anon:  112 kB\nSwapPss:  8 kB\n"
    assert pids.parse_smaps_rollup(data) == (192 * 1024, 8 * 1024)
