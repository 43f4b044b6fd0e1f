"""haproxy: the stats CSV (``/stats;csv`` page or ``show stat`` on the stats socket), exposed under the names
of HAProxy's built-in Prometheus exporter (``haproxy_{frontend,backend,server}_*`` with ``proxy``/``server``
labels, ``*_status{state}`` and ``haproxy_server_check_status{state}`` one-hot, times in seconds).

Beyond the built-in exporter: ``perfadvisor_haproxy_up`` (the stats could be read), a ``target`` label on every series,
since one scrape reads several HAProxy instances, and ``perfadvisor_haproxy_backend_info{algorithm}`` (the
``balance`` algorithm, which the built-in exporter does not publish). Series whose CSV field is empty are not emitted, as the
built-in exporter does for fields that do not apply to a proxy type.
"""
from __future__ import annotations

import csv
import io
import socket
from typing import Any, Iterable, Mapping


from ._probe import (SECRET_SCHEMA, TIMEOUT_SCHEMA, Families, ProbeCollector, on_deadline, redact_url,
                     resolve_secret, shutdown_socket, targets_schema)
from ..registry import Family, register

_KINDS = {"0": "frontend", "1": "backend", "2": "server"}  # 3 = listener: not exposed by the built-in exporter
_MS = 0.001

# CSV field -> (metric suffix, type, scale). Names as in HAProxy 2.6's prometheus-exporter service.
FIELDS: dict[str, tuple[str, str, float]] = {
    "qcur": ("current_queue", "gauge", 1), "qmax": ("max_queue", "gauge", 1),
    "scur": ("current_sessions", "gauge", 1), "smax": ("max_sessions", "gauge", 1),
    "slim": ("limit_sessions", "gauge", 1), "stot": ("sessions_total", "counter", 1),
    "bin": ("bytes_in_total", "counter", 1), "bout": ("bytes_out_total", "counter", 1),
    "dreq": ("requests_denied_total", "counter", 1), "dresp": ("responses_denied_total", "counter", 1),
    "ereq": ("request_errors_total", "counter", 1), "econ": ("connection_errors_total", "counter", 1),
    "eresp": ("response_errors_total", "counter", 1), "wretr": ("retry_warnings_total", "counter", 1),
    "wredis": ("redispatch_warnings_total", "counter", 1), "weight": ("weight", "gauge", 1),
    "uweight": ("uweight", "gauge", 1), "act": ("active_servers", "gauge", 1),
    "bck": ("backup_servers", "gauge", 1), "chkfail": ("check_failures_total", "counter", 1),
    "chkdown": ("check_up_down_total", "counter", 1), "lastchg": ("check_last_change_seconds", "gauge", 1),
    "downtime": ("downtime_seconds_total", "counter", 1), "qlimit": ("queue_limit", "gauge", 1),
    "throttle": ("current_throttle", "gauge", 1), "lbtot": ("loadbalanced_total", "counter", 1),
    "rate_lim": ("limit_session_rate", "gauge", 1), "rate_max": ("max_session_rate", "gauge", 1),
    "check_code": ("check_code", "gauge", 1), "check_duration": ("check_duration_seconds", "gauge", _MS),
    "req_rate_max": ("http_requests_rate_max", "gauge", 1), "req_tot": ("http_requests_total", "counter", 1),
    "cli_abrt": ("client_aborts_total", "counter", 1), "srv_abrt": ("server_aborts_total", "counter", 1),
    "comp_in": ("http_comp_bytes_in_total", "counter", 1), "comp_out": ("http_comp_bytes_out_total", "counter", 1),
    "comp_byp": ("http_comp_bytes_bypassed_total", "counter", 1),
    "comp_rsp": ("http_comp_responses_total", "counter", 1), "lastsess": ("last_session_seconds", "gauge", 1),
    "qtime": ("queue_time_average_seconds", "gauge", _MS), "ctime": ("connect_time_average_seconds", "gauge", _MS),
    "rtime": ("response_time_average_seconds", "gauge", _MS), "ttime": ("total_time_average_seconds", "gauge", _MS),
    "conn_rate_max": ("connections_rate_max", "gauge", 1), "conn_tot": ("connections_total", "counter", 1),
    "intercepted": ("intercepted_requests_total", "counter", 1), "dcon": ("denied_connections_total", "counter", 1),
    "dses": ("denied_sessions_total", "counter", 1), "wrew": ("failed_header_rewriting_total", "counter", 1),
    "connect": ("connection_attempts_total", "counter", 1), "reuse": ("connection_reuses_total", "counter", 1),
    "cache_lookups": ("http_cache_lookups_total", "counter", 1), "cache_hits": ("http_cache_hits_total", "counter", 1),
    "srv_icur": ("idle_connections_current", "gauge", 1), "src_ilim": ("idle_connections_limit", "gauge", 1),
    "qtime_max": ("max_queue_time_seconds", "gauge", _MS), "ctime_max": ("max_connect_time_seconds", "gauge", _MS),
    "rtime_max": ("max_response_time_seconds", "gauge", _MS), "ttime_max": ("max_total_time_seconds", "gauge", _MS),
    "eint": ("internal_errors_total", "counter", 1), "idle_conn_cur": ("unsafe_idle_connections_current", "gauge", 1),
    "safe_conn_cur": ("safe_idle_connections_current", "gauge", 1),
    "used_conn_cur": ("used_connections_current", "gauge", 1), "need_conn_est": ("need_connections_current", "gauge", 1),
}
# Fields the CSV fills for a type where the built-in exporter has no such metric.
_NOT_FOR = {"server": {"act", "bck", "req_tot"}, "frontend": set(), "backend": set()}
_CODES = ("1xx", "2xx", "3xx", "4xx", "5xx", "other")
SERVER_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")
PROXY_STATES = ("DOWN", "UP")
CHECK_STATES = ("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP",
                "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK")


# `show info` field -> (haproxy_process_* suffix, type); names as the built-in exporter's.
INFO_FIELDS: dict[str, tuple[str, str]] = {
    "Nbthread": ("nbthread", "gauge"), "Uptime_sec": ("uptime_seconds", "gauge"),
    "Start_time_sec": ("start_time_seconds", "gauge"), "Ulimit-n": ("max_fds", "gauge"),
    "Maxsock": ("max_sockets", "gauge"), "Maxconn": ("max_connections", "gauge"),
    "Hard_maxconn": ("hard_max_connections", "gauge"), "CurrConns": ("current_connections", "gauge"),
    "CumConns": ("connections_total", "counter"), "CumReq": ("requests_total", "counter"),
    "MaxSslConns": ("max_ssl_connections", "gauge"), "CurrSslConns": ("current_ssl_connections", "gauge"),
    "CumSslConns": ("ssl_connections_total", "counter"), "ConnRate": ("current_connection_rate", "gauge"),
    "ConnRateLimit": ("limit_connection_rate", "gauge"), "MaxConnRate": ("max_connection_rate", "gauge"),
    "SessRate": ("current_session_rate", "gauge"), "SessRateLimit": ("limit_session_rate", "gauge"),
    "MaxSessRate": ("max_session_rate", "gauge"), "SslRate": ("current_ssl_rate", "gauge"),
    "MaxSslRate": ("max_ssl_rate", "gauge"), "Tasks": ("current_tasks", "gauge"),
    "Run_queue": ("current_run_queue", "gauge"), "Idle_pct": ("idle_time_percent", "gauge"),
    "Stopping": ("stopping", "gauge"), "Jobs": ("jobs", "gauge"), "Listeners": ("listeners", "gauge"),
    "DroppedLogs": ("dropped_logs_total", "counter"), "FailedResolutions": ("failed_resolutions", "untyped"),
    "TotalBytesOut": ("bytes_out_total", "counter"), "BytesOutRate": ("bytes_out_rate", "gauge"),
    "PoolAlloc_bytes": ("pool_allocated_bytes", "gauge"), "PoolUsed_bytes": ("pool_used_bytes", "gauge"),
    "PoolFailed": ("pool_failures_total", "counter"), "Memmax_bytes": ("max_memory_bytes", "gauge"),
}


def parse_info(text: str) -> dict[str, str]:
    """``show info`` output (``Name: value`` lines) as a dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def info_families(info: Mapping[str, str], lab: Mapping[str, str]) -> Families:
    f = Families()
    for field, (suffix, typ) in INFO_FIELDS.items():
        try:
            value = float(info[field])
        except (KeyError, ValueError):
            continue
        # failed_resolutions is a counter without _total in HAProxy's exporter: untyped keeps the exact name
        add = {"counter": f.counter, "gauge": f.gauge, "untyped": f.untyped}[typ]
        add(f"haproxy_process_{suffix}", f"HAProxy show info {field}.", lab, value)
    if "Version" in info:
        f.gauge("haproxy_process_build_info", "HAProxy build info.", {**lab, "version": info["Version"]}, 1)
    return f


def parse_csv(text: str) -> list[dict[str, str]]:
    """Rows of HAProxy's stats CSV (header line ``# pxname,svname,...``)."""
    text = text.lstrip()
    if not text.startswith("# pxname"):
        raise ValueError("response is not HAProxy stats CSV")
    rows = csv.DictReader(io.StringIO(text[2:]))
    return [r for r in rows if r.get("pxname")]


def server_state(status: str) -> str:
    """The built-in exporter's state for a CSV status: "UP 1/3" is still UP, "MAINT (via x)" is MAINT."""
    word = status.split(" ", 1)[0].split("(", 1)[0].upper()
    if word in ("UP", "NOLB", "DRAIN", "MAINT", "DOWN"):
        return word
    return "UP" if word in ("NO", "OPEN") else "DOWN"  # "no check" means running


def families_from_rows(rows: Iterable[Mapping[str, str]], base: Mapping[str, str]) -> Families:
    f = Families()
    for r in rows:
        kind = _KINDS.get(r.get("type", ""))
        if kind is None:
            continue
        lab = {**base, "proxy": r["pxname"]}
        if kind == "server":
            lab["server"] = r["svname"]
        for field, (suffix, typ, scale) in FIELDS.items():
            raw = r.get(field, "")
            if raw in ("", None) or field in _NOT_FOR[kind]:
                continue
            try:
                value = float(raw) * scale
            except ValueError:
                continue
            name = f"haproxy_{kind}_{suffix}"
            (f.counter if typ == "counter" else f.gauge)(name, f"HAProxy stats field {field}.", lab, value)
        for code in _CODES:
            raw = r.get(f"hrsp_{code}", "")
            if raw not in ("", None):
                f.counter(f"haproxy_{kind}_http_responses_total", "HTTP responses by status class.",
                          {**lab, "code": code}, float(raw))
        status = r.get("status", "")
        if status:
            state = server_state(status)
            if kind != "server":
                state = "UP" if state == "UP" else "DOWN"
            for s in SERVER_STATES if kind == "server" else PROXY_STATES:
                f.gauge(f"haproxy_{kind}_status", "Current status of the service, per state label value.",
                        {**lab, "state": s}, 1 if s == state else 0)
        algo = r.get("algo", "").strip()
        if kind == "backend" and algo:
            # HAProxy's exporter leaves the algorithm out; the CSV shows it on the stats socket (level operator
            # or admin) and on a stats page with `stats show-legends`. `random` reads "unknown" in 2.6.
            f.gauge("perfadvisor_haproxy_backend_info", "The backend's load-balancing algorithm (balance), always 1.",
                    {**lab, "algorithm": algo}, 1)
        check = r.get("check_status", "").lstrip("* ").strip()
        if kind == "server" and check and check not in ("INI", "UNK"):
            for s in CHECK_STATES:
                f.gauge("haproxy_server_check_status", "Status of last health check, per state label value.",
                        {**lab, "state": s}, 1 if s == check else 0)
    return f


def _socket_command(path: str, command: bytes, timeout: float) -> str:
    if path.startswith("/") or path.startswith("unix@"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr: Any = path.removeprefix("unix@")
    else:
        host, _, port = path.removeprefix("ipv4@").rpartition(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        addr = (host or "127.0.0.1", int(port))
    on_deadline(lambda: shutdown_socket(s))
    with s:
        s.settimeout(timeout)
        s.connect(addr)
        s.sendall(command)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def target_label(target: Mapping[str, Any]) -> str:
    return redact_url(target["url"]) if target.get("url") else str(target.get("socket"))


def _down(target: Mapping[str, Any], why: str) -> Families:
    f = Families()
    f.gauge("perfadvisor_haproxy_up", "Whether the HAProxy stats could be read (1) or not (0).", {"target": target_label(target)}, 0)
    return f


def probe(target: Mapping[str, Any], timeout: float) -> Families:
    """Read one HAProxy's stats and turn every frontend/backend/server row into metrics."""
    if target.get("url"):
        user = target.get("username")
        auth = (user, resolve_secret(target) or "") if user else None
        import requests  # only when a URL target is probed: requests + urllib3 are ~6 MB of RSS

        r = requests.get(target["url"], timeout=timeout, auth=auth, allow_redirects=False,
                         verify=target.get("ca_file", True))
        r.raise_for_status()
        text = r.text
        info = None
    else:
        # the socket also answers `show info`: process-wide connections, limits, idle time (one connection each,
        # as a stats socket closes after answering unless put in interactive mode)
        text = _socket_command(str(target["socket"]), b"show stat\n", timeout)
        info = parse_info(_socket_command(str(target["socket"]), b"show info\n", timeout))
    rows = parse_csv(text)
    lab = {"target": target_label(target)}
    f = Families()
    f.gauge("perfadvisor_haproxy_up", "Whether the HAProxy stats could be read (1) or not (0).", lab, 1)
    if info:
        f.merge(info_families(info, lab))
    f.merge(families_from_rows(rows, lab))
    return f


@register("haproxy", default=False, help="HAProxy stats CSV (names of HAProxy's built-in Prometheus exporter).",
          config_schema=targets_schema({
              "url": {"type": "string", "description": "Stats CSV URL, e.g. http://127.0.0.1:8404/stats;csv"},
              "socket": {"type": "string", "description": "Stats socket: a unix path or host:port."},
              "timeout": TIMEOUT_SCHEMA,
              "username": {"type": "string", "description": "Basic auth user for the stats page."},
              "ca_file": {"type": "string", "description": "CA bundle for https."},
              **SECRET_SCHEMA}, one_of=[["url"], ["socket"]]))
class HaproxyCollector(ProbeCollector):
    families = (
        Family("perfadvisor_haproxy_up", "gauge", ("target",)),
        Family("haproxy_{frontend,backend,server}_<stat>", "gauge/counter", ("target", "proxy", "[server]")),
        Family("", "", note="every stats-CSV field under HAProxy's exporter name: current_sessions, sessions_total,"
                            " current_queue, weight, connection_errors_total, response_errors_total,"
                            " *_time_average_seconds, ..."),
        Family("haproxy_{frontend,backend,server}_http_responses_total", "counter",
               ("target", "proxy", "[server]", "code")),
        Family("haproxy_{frontend,backend}_status", "gauge", ("target", "proxy", "state")),
        Family("haproxy_server_status", "gauge", ("target", "proxy", "server", "state")),
        Family("haproxy_server_check_status", "gauge", ("target", "proxy", "server", "state")),
        Family("perfadvisor_haproxy_backend_info", "gauge", ("target", "proxy", "algorithm"),
               "the `balance` algorithm (roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr,"
               " ...); only where the CSV shows it: socket targets, or a stats page with `stats show-legends`"),
        Family("haproxy_process_<info>", "gauge/counter", ("target",),
               "socket targets: show info, e.g. current_connections, max_connections, idle_time_percent,"
               " requests_total"),
        Family("haproxy_process_build_info", "gauge", ("target", "version"), "socket targets"),
    )

    name = "haproxy"
    label = staticmethod(target_label)
    probe = staticmethod(probe)
    down = staticmethod(_down)
