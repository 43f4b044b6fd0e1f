"""The queries of the drop-in check: Node Exporter Full-style panel queries and the community node_exporter alerts.

PANELS follow the "Node Exporter Full" Grafana dashboard's panels (quick CPU/memory/disk gauges, CPU, memory and
meminfo, vmstat, system and process, timex, hardware, systemd, disks, filesystems, network, sockstat, netstat,
NFS, node_exporter's own), with $__rate_interval as 1m and the $node/$job selectors dropped (each Prometheus of the
check scrapes one exporter). ALERTS are the "Host and hardware" node_exporter rules of awesome-prometheus-alerts
as written; ALERT_SIGNALS are the same expressions without their thresholds, so each returns what it compares
whether or not the host is in trouble.
"""
from __future__ import annotations

_R = "1m"


def _rate(metric: str, by: str = "") -> str:
    return f"irate({metric}[{_R}])" if not by else f"sum by ({by}) (irate({metric}[{_R}]))"


PANELS = [
    # Quick CPU / Mem / Disk
    f'(sum by(instance) (irate(node_cpu_seconds_total{{mode!="idle"}}[{_R}])) / on(instance) group_left '
    f'sum by (instance)((irate(node_cpu_seconds_total[{_R}])))) * 100',
    'scalar(node_load1) * 100 / count(count(node_cpu_seconds_total) by (cpu))',
    'scalar(node_load5) * 100 / count(count(node_cpu_seconds_total) by (cpu))',
    'scalar(node_load15) * 100 / count(count(node_cpu_seconds_total) by (cpu))',
    '(1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)) * 100',
    '((node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes) / (node_memory_SwapTotal_bytes)) * 100',
    '100 - ((node_filesystem_avail_bytes{mountpoint="/",fstype!="rootfs"} * 100) / '
    'node_filesystem_size_bytes{mountpoint="/",fstype!="rootfs"})',
    'count(count(node_cpu_seconds_total) by (cpu))',
    'node_memory_MemTotal_bytes', 'node_memory_SwapTotal_bytes',
    'node_filesystem_size_bytes{mountpoint="/",fstype!="rootfs"}',
    'node_time_seconds - node_boot_time_seconds',
    'node_reboot_required',
    # CPU basic and detail
    *[f'sum(irate(node_cpu_seconds_total{{mode="{m}"}}[{_R}])) / scalar(count(count(node_cpu_seconds_total) by (cpu)))'
      for m in ("system", "user", "nice", "iowait", "irq", "softirq", "steal", "idle")],
    f'sum(irate(node_cpu_seconds_total{{mode!="idle",mode!="user",mode!="system",mode!="iowait",mode!="irq",'
    f'mode!="softirq"}}[{_R}])) / scalar(count(count(node_cpu_seconds_total) by (cpu)))',
    f'sum by(mode) (irate(node_cpu_guest_seconds_total[{_R}])) / on(instance) group_left '
    f'sum by (instance)((irate(node_cpu_seconds_total[{_R}])))',
    'node_cpu_scaling_frequency_hertz', 'node_cpu_scaling_frequency_max_hertz', 'node_cpu_frequency_max_hertz',
    # Memory basic and meminfo
    'node_memory_MemTotal_bytes - node_memory_MemFree_bytes - (node_memory_Cached_bytes + node_memory_Buffers_bytes '
    '+ node_memory_SReclaimable_bytes)',
    'node_memory_Cached_bytes + node_memory_Buffers_bytes + node_memory_SReclaimable_bytes',
    'node_memory_MemFree_bytes', '(node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes)',
    *[f'node_memory_{f}_bytes' for f in (
        "Active", "Inactive", "Committed_AS", "CommitLimit", "Inactive_file", "Active_file", "Inactive_anon",
        "Active_anon", "Writeback", "WritebackTmp", "Dirty", "Mapped", "Shmem", "ShmemHugePages", "ShmemPmdMapped",
        "KernelStack", "SUnreclaim", "SReclaimable", "Slab", "VmallocChunk", "VmallocTotal", "VmallocUsed", "Bounce",
        "AnonHugePages", "AnonPages", "Hugepagesize", "DirectMap1G", "DirectMap2M", "DirectMap4k", "Unevictable",
        "Mlocked", "NFS_Unstable", "PageTables", "HardwareCorrupted", "Percpu")],
    'node_memory_HugePages_Total', 'node_memory_HugePages_Free', 'node_memory_HugePages_Rsvd',
    'node_memory_HugePages_Surp',
    # vmstat
    *[_rate(f"node_vmstat_{f}") for f in ("pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault",
                                            "oom_kill")],
    f'irate(node_vmstat_pgfault[{_R}]) - irate(node_vmstat_pgmajfault[{_R}])',
    # System
    _rate("node_context_switches_total"), _rate("node_intr_total"), _rate("node_forks_total"),
    'node_load1', 'node_load5', 'node_load15', 'node_procs_running', 'node_procs_blocked',
    *[_rate(f"node_pressure_{f}") for f in ("cpu_waiting_seconds_total", "memory_waiting_seconds_total",
                                              "memory_stalled_seconds_total", "io_waiting_seconds_total",
                                              "io_stalled_seconds_total")],
    _rate("node_schedstat_running_seconds_total", "cpu"), _rate("node_schedstat_waiting_seconds_total", "cpu"),
    _rate("node_schedstat_timeslices_total", "cpu"),
    'node_entropy_available_bits', 'node_entropy_pool_size_bits',
    'node_filefd_maximum', 'node_filefd_allocated',
    # the exporter's own process, as node_exporter's Go client publishes it
    'process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_virtual_memory_max_bytes',
    _rate("process_cpu_seconds_total"), 'process_open_fds', 'process_max_fds', 'process_start_time_seconds',
    'time() - process_start_time_seconds',
    # timex
    'node_timex_estimated_error_seconds', 'node_timex_offset_seconds', 'node_timex_maxerror_seconds',
    'node_timex_loop_time_constant', 'node_timex_sync_status', 'node_timex_frequency_adjustment_ratio',
    'node_timex_tick_seconds', 'node_timex_tai_offset_seconds', 'node_timex_status',
    # Hardware
    'node_hwmon_temp_celsius', 'node_hwmon_temp_celsius * on(chip) group_left(chip_name) node_hwmon_chip_names',
    'node_hwmon_temp_crit_alarm_celsius * on(chip) group_left(chip_name) node_hwmon_chip_names',
    'node_hwmon_temp_crit_celsius * on(chip) group_left(chip_name) node_hwmon_chip_names',
    'node_hwmon_temp_max_celsius * on(chip) group_left(chip_name) node_hwmon_chip_names',
    'node_hwmon_temp_celsius * ignoring(label) group_left(label) node_hwmon_sensor_label',
    'node_hwmon_fan_rpm', 'node_hwmon_in_volts', 'node_hwmon_power_watt', 'node_hwmon_pwm',
    'node_thermal_zone_temp', 'node_cooling_device_cur_state', 'node_cooling_device_max_state',
    'node_power_supply_online', 'node_power_supply_capacity', 'node_power_supply_info',
    f'irate(node_rapl_package_joules_total[{_R}])', 'node_nvme_info', 'node_dmi_info',
    'node_edac_correctable_errors_total',
    # systemd
    *[f'node_systemd_units{{state="{s}"}}' for s in ("activating", "active", "deactivating", "failed", "inactive")],
    'node_systemd_unit_state{state="failed"} == 1', 'node_systemd_system_running',
    _rate("node_systemd_socket_accepted_connections_total"), 'node_systemd_socket_current_connections',
    'node_systemd_socket_refused_connections_total',
    # Storage disk
    *[_rate(f"node_disk_{f}") for f in ("reads_completed_total", "writes_completed_total", "read_bytes_total",
                                          "written_bytes_total", "io_time_seconds_total",
                                          "io_time_weighted_seconds_total", "reads_merged_total",
                                          "writes_merged_total", "discards_completed_total", "discards_merged_total")],
    f'irate(node_disk_read_time_seconds_total[{_R}]) / irate(node_disk_reads_completed_total[{_R}])',
    f'irate(node_disk_write_time_seconds_total[{_R}]) / irate(node_disk_writes_completed_total[{_R}])',
    'node_disk_io_now', 'node_disk_info', 'node_md_state', 'node_md_disks',
    # Storage filesystem
    *[f'node_filesystem_{f}{{device!~"rootfs"}}' for f in ("avail_bytes", "free_bytes", "size_bytes", "files_free",
                                                          "files", "readonly", "device_error")],
    '100 - ((node_filesystem_avail_bytes * 100) / node_filesystem_size_bytes)',
    'node_xfs_read_calls_total', 'node_btrfs_info', 'node_zfs_arc_size', 'node_bcache_dirty_data_bytes',
    # Network traffic
    *[_rate(f"node_network_{d}_{f}_total") for d in ("receive", "transmit")
      for f in ("bytes", "packets", "errs", "drop", "compressed", "multicast", "fifo")],
    _rate("node_network_receive_frame_total"), _rate("node_network_transmit_colls_total"),
    _rate("node_network_transmit_carrier_total"),
    f'irate(node_network_receive_bytes_total[{_R}])*8', f'irate(node_network_transmit_bytes_total[{_R}])*8',
    'node_arp_entries', 'node_network_mtu_bytes', 'node_network_speed_bytes', 'node_network_transmit_queue_length',
    'node_network_up', 'node_network_carrier', 'node_network_info', 'node_bonding_active', 'node_bonding_slaves',
    _rate("node_softnet_processed_total"), _rate("node_softnet_dropped_total"),
    _rate("node_softnet_times_squeezed_total"),
    'node_nf_conntrack_entries', 'node_nf_conntrack_entries_limit', 'node_infiniband_info',
    'node_fibrechannel_info', 'node_ipvs_connections_total',
    # sockstat
    *[f'node_sockstat_{f}' for f in ("TCP_alloc", "TCP_inuse", "TCP_mem", "TCP_orphan", "TCP_tw", "UDPLITE_inuse",
                                      "UDP_inuse", "UDP_mem", "FRAG_inuse", "RAW_inuse", "TCP_mem_bytes",
                                      "UDP_mem_bytes", "FRAG_memory", "sockets_used", "TCP6_inuse", "UDP6_inuse")],
    # netstat
    *[_rate(f"node_netstat_{f}") for f in (
        "IpExt_InOctets", "IpExt_OutOctets", "Ip_Forwarding", "Icmp_InMsgs", "Icmp_OutMsgs", "Icmp_InErrors",
        "Udp_InDatagrams", "Udp_OutDatagrams", "Udp_InErrors", "Udp_NoPorts", "UdpLite_InErrors", "Udp_RcvbufErrors",
        "Udp_SndbufErrors", "Tcp_InSegs", "Tcp_OutSegs", "TcpExt_ListenOverflows", "TcpExt_ListenDrops",
        "TcpExt_TCPSynRetrans", "Tcp_RetransSegs", "Tcp_InErrs", "Tcp_OutRsts", "TcpExt_SyncookiesFailed",
        "TcpExt_SyncookiesRecv", "TcpExt_SyncookiesSent", "Tcp_ActiveOpens", "Tcp_PassiveOpens", "Ip6_InOctets",
        "Ip6_OutOctets", "Icmp6_InMsgs", "Udp6_InDatagrams")],
    'node_netstat_Tcp_CurrEstab', 'node_netstat_Tcp_MaxConn', 'node_udp_queues',
    # NFS
    _rate("node_nfs_requests_total", "method"), _rate("node_nfsd_requests_total", "method"),
    _rate("node_nfs_rpcs_total"), 'node_nfsd_server_threads',
    # Node exporter's own
    'node_scrape_collector_duration_seconds', 'node_scrape_collector_success', 'node_textfile_scrape_error',
    'up',
]

_NODENAME = ' * on(instance) group_left (nodename) node_uname_info{nodename=~".+"}'

# (alert, expression as the rule file has it, the same expression without its threshold)
ALERT_RULES = [
    ("HostOutOfMemory", "(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < 10)",
     "(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100)"),
    ("HostMemoryUnderMemoryPressure", "(rate(node_vmstat_pgmajfault[1m]) > 1000)",
     "(rate(node_vmstat_pgmajfault[1m]))"),
    ("HostMemoryIsUnderutilized",
     "(100 - (avg_over_time(node_memory_MemAvailable_bytes[30m]) / node_memory_MemTotal_bytes * 100) < 20)",
     "(100 - (avg_over_time(node_memory_MemAvailable_bytes[30m]) / node_memory_MemTotal_bytes * 100))"),
    ("HostUnusualNetworkThroughputIn",
     "(sum by (instance) (rate(node_network_receive_bytes_total[2m])) / 1024 / 1024 > 100)",
     "(sum by (instance) (rate(node_network_receive_bytes_total[2m])) / 1024 / 1024)"),
    ("HostUnusualNetworkThroughputOut",
     "(sum by (instance) (rate(node_network_transmit_bytes_total[2m])) / 1024 / 1024 > 100)",
     "(sum by (instance) (rate(node_network_transmit_bytes_total[2m])) / 1024 / 1024)"),
    ("HostUnusualDiskReadRate", "(sum by (instance) (rate(node_disk_read_bytes_total[2m])) / 1024 / 1024 > 50)",
     "(sum by (instance) (rate(node_disk_read_bytes_total[2m])) / 1024 / 1024)"),
    ("HostUnusualDiskWriteRate", "(sum by (instance) (rate(node_disk_written_bytes_total[2m])) / 1024 / 1024 > 50)",
     "(sum by (instance) (rate(node_disk_written_bytes_total[2m])) / 1024 / 1024)"),
    ("HostOutOfDiskSpace",
     "((node_filesystem_avail_bytes * 100) / node_filesystem_size_bytes < 10 and ON (instance, device, mountpoint) "
     "node_filesystem_readonly == 0)",
     "((node_filesystem_avail_bytes * 100) / node_filesystem_size_bytes and ON (instance, device, mountpoint) "
     "node_filesystem_readonly == 0)"),
    ("HostDiskWillFillIn24Hours",
     "((node_filesystem_avail_bytes * 100) / node_filesystem_size_bytes < 10 and ON (instance, device, mountpoint) "
     'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs"}[1h], 24 * 3600) < 0 and ON (instance, device, '
     "mountpoint) node_filesystem_readonly == 0)",
     "((node_filesystem_avail_bytes * 100) / node_filesystem_size_bytes and ON (instance, device, mountpoint) "
     'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs"}[1h], 24 * 3600) and ON (instance, device, '
     "mountpoint) node_filesystem_readonly == 0)"),
    ("HostOutOfInodes",
     '(node_filesystem_files_free{fstype!="msdosfs"} / node_filesystem_files{fstype!="msdosfs"} * 100 < 10 and ON '
     "(instance, device, mountpoint) node_filesystem_readonly == 0)",
     '(node_filesystem_files_free{fstype!="msdosfs"} / node_filesystem_files{fstype!="msdosfs"} * 100 and ON '
     "(instance, device, mountpoint) node_filesystem_readonly == 0)"),
    ("HostFilesystemDeviceError", "node_filesystem_device_error == 1", "node_filesystem_device_error"),
    ("HostInodesWillFillIn24Hours",
     '(node_filesystem_files_free{fstype!="msdosfs"} / node_filesystem_files{fstype!="msdosfs"} * 100 < 10 and '
     'predict_linear(node_filesystem_files_free{fstype!="msdosfs"}[1h], 24 * 3600) < 0 and ON (instance, device, '
     'mountpoint) node_filesystem_readonly{fstype!="msdosfs"} == 0)',
     '(node_filesystem_files_free{fstype!="msdosfs"} / node_filesystem_files{fstype!="msdosfs"} * 100 and '
     'predict_linear(node_filesystem_files_free{fstype!="msdosfs"}[1h], 24 * 3600) and ON (instance, device, '
     'mountpoint) node_filesystem_readonly{fstype!="msdosfs"} == 0)'),
    ("HostUnusualDiskReadLatency",
     "(rate(node_disk_read_time_seconds_total[1m]) / rate(node_disk_reads_completed_total[1m]) > 0.1 and "
     "rate(node_disk_reads_completed_total[1m]) > 0)",
     "(rate(node_disk_read_time_seconds_total[1m]) / rate(node_disk_reads_completed_total[1m]))"),
    ("HostUnusualDiskWriteLatency",
     "(rate(node_disk_write_time_seconds_total[1m]) / rate(node_disk_writes_completed_total[1m]) > 0.1 and "
     "rate(node_disk_writes_completed_total[1m]) > 0)",
     "(rate(node_disk_write_time_seconds_total[1m]) / rate(node_disk_writes_completed_total[1m]))"),
    ("HostHighCpuLoad",
     '(sum by (instance) (avg by (mode, instance) (rate(node_cpu_seconds_total{mode!="idle"}[2m]))) > 0.8)',
     '(sum by (instance) (avg by (mode, instance) (rate(node_cpu_seconds_total{mode!="idle"}[2m]))))'),
    ("HostCpuIsUnderutilized", '(100 - (rate(node_cpu_seconds_total{mode="idle"}[30m]) * 100) < 20)',
     '(100 - (rate(node_cpu_seconds_total{mode="idle"}[30m]) * 100))'),
    ("HostCpuStealNoisyNeighbor", '(avg by(instance) (rate(node_cpu_seconds_total{mode="steal"}[5m])) * 100 > 10)',
     '(avg by(instance) (rate(node_cpu_seconds_total{mode="steal"}[5m])) * 100)'),
    ("HostCpuHighIowait", '(avg by (instance) (rate(node_cpu_seconds_total{mode="iowait"}[5m])) * 100 > 10)',
     '(avg by (instance) (rate(node_cpu_seconds_total{mode="iowait"}[5m])) * 100)'),
    ("HostUnusualDiskIo", "(rate(node_disk_io_time_seconds_total[1m]) > 0.5)",
     "(rate(node_disk_io_time_seconds_total[1m]))"),
    ("HostContextSwitchingHigh",
     '(rate(node_context_switches_total[15m])/count without(mode,cpu) (node_cpu_seconds_total{mode="idle"}))/'
     '(rate(node_context_switches_total[1d])/count without(mode,cpu) (node_cpu_seconds_total{mode="idle"})) > 2',
     '(rate(node_context_switches_total[15m])/count without(mode,cpu) (node_cpu_seconds_total{mode="idle"}))/'
     '(rate(node_context_switches_total[1d])/count without(mode,cpu) (node_cpu_seconds_total{mode="idle"}))'),
    ("HostSwapIsFillingUp", "((1 - (node_memory_SwapFree_bytes / node_memory_SwapTotal_bytes)) * 100 > 80)",
     "((1 - (node_memory_SwapFree_bytes / node_memory_SwapTotal_bytes)) * 100)"),
    ("HostSystemdServiceCrashed", '(node_systemd_unit_state{state="failed"} == 1)',
     '(node_systemd_unit_state{state="failed"})'),
    ("HostPhysicalComponentTooHot",
     '((node_hwmon_temp_celsius * ignoring(label) group_left(instance, job, node, sensor) '
     'node_hwmon_sensor_label{label!="tctl"} > 75))',
     '((node_hwmon_temp_celsius * ignoring(label) group_left(instance, job, node, sensor) '
     'node_hwmon_sensor_label{label!="tctl"}))'),
    ("HostNodeOvertemperatureAlarm", "((node_hwmon_temp_crit_alarm_celsius == 1) or (node_hwmon_temp_alarm == 1))",
     "((node_hwmon_temp_crit_alarm_celsius) or (node_hwmon_temp_alarm))"),
    ("HostRaidArrayGotInactive", '(node_md_state{state="inactive"} > 0)', '(node_md_state{state="inactive"})'),
    ("HostRaidDiskFailure", '(node_md_disks{state="failed"} > 0)', '(node_md_disks{state="failed"})'),
    ("HostKernelVersionDeviations",
     '(count(sum(label_replace(node_uname_info, "kernel", "$1", "release", "([0-9]+.[0-9]+.[0-9]+).*")) by (kernel)) '
     '> 1)',
     '(count(sum(label_replace(node_uname_info, "kernel", "$1", "release", "([0-9]+.[0-9]+.[0-9]+).*")) by (kernel)))'),
    ("HostOomKillDetected", "(increase(node_vmstat_oom_kill[1m]) > 0)", "(increase(node_vmstat_oom_kill[1m]))"),
    ("HostEdacCorrectableErrorsDetected", "(increase(node_edac_correctable_errors_total[1m]) > 0)",
     "(increase(node_edac_correctable_errors_total[1m]))"),
    ("HostEdacUncorrectableErrorsDetected", "(node_edac_uncorrectable_errors_total > 0)",
     "(node_edac_uncorrectable_errors_total)"),
    ("HostNetworkReceiveErrors",
     "(rate(node_network_receive_errs_total[2m]) / rate(node_network_receive_packets_total[2m]) > 0.01)",
     "(rate(node_network_receive_errs_total[2m]) / rate(node_network_receive_packets_total[2m]))"),
    ("HostNetworkTransmitErrors",
     "(rate(node_network_transmit_errs_total[2m]) / rate(node_network_transmit_packets_total[2m]) > 0.01)",
     "(rate(node_network_transmit_errs_total[2m]) / rate(node_network_transmit_packets_total[2m]))"),
    ("HostNetworkInterfaceSaturated",
     '((rate(node_network_receive_bytes_total{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"}[1m]) + '
     'rate(node_network_transmit_bytes_total{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"}[1m])) / '
     'node_network_speed_bytes{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"} > 0.8 < 10000)',
     '((rate(node_network_receive_bytes_total{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"}[1m]) + '
     'rate(node_network_transmit_bytes_total{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"}[1m])) / '
     'node_network_speed_bytes{device!~"^tap.*|^vnet.*|^veth.*|^tun.*"})'),
    ("HostNetworkBondDegraded", "((node_bonding_active - node_bonding_slaves) != 0)",
     "((node_bonding_active - node_bonding_slaves))"),
    ("HostConntrackLimit", "(node_nf_conntrack_entries / node_nf_conntrack_entries_limit > 0.8)",
     "(node_nf_conntrack_entries / node_nf_conntrack_entries_limit)"),
    ("HostClockSkew",
     "((node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or "
     "(node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0))",
     "((node_timex_offset_seconds and deriv(node_timex_offset_seconds[5m])))"),
    ("HostClockNotSynchronising",
     "(min_over_time(node_timex_sync_status[1m]) == 0 and node_timex_maxerror_seconds >= 16)",
     "(min_over_time(node_timex_sync_status[1m]) and node_timex_maxerror_seconds)"),
    ("HostRequiresReboot", "(node_reboot_required > 0)", "(node_reboot_required)"),
]
# Rules that carry no nodename join in the rule file
_NO_JOIN = {"HostFilesystemDeviceError", "HostContextSwitchingHigh"}
ALERTS = {name: expr + ("" if name in _NO_JOIN else _NODENAME) for name, expr, _ in ALERT_RULES}
ALERT_SIGNALS = {name: signal + ("" if name in _NO_JOIN else _NODENAME) for name, _, signal in ALERT_RULES}
