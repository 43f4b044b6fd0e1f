"""systemd: unit states, start times, restarts, tasks, timers, socket connections and system state from
systemd's D-Bus API (node_systemd_*). Off by default, as in node_exporter.

Talks to org.freedesktop.systemd1 on the system bus (``DBUS_SYSTEM_BUS_ADDRESS`` or the standard socket) with
jeepney, one connection per scrape, each call bounded by ``timeout``.
"""
from __future__ import annotations

import re

from ..families import NO_LABELS, Sample, family
from ..registry import CollectorContext, Family, register
from ._settings import regex

STATES = ("active", "activating", "deactivating", "inactive", "failed")
MIN_VERSION_SYSTEM_STATE = 212  # SystemState and timers' LastTriggerUSec exist from systemd 212 on
_VERSION = re.compile(r"[0-9]{3,}(\.[0-9]+)?")
_UNSET = 2**64 - 1  # systemd's "infinity" / not tracked
DEFAULT_EXCLUDE = r".+\.(automount|device|mount|scope|slice|target)"


def version_number(raw: str) -> float:
    """'252.6-1' -> 252.6; 0 when no version can be read."""
    m = _VERSION.search(raw)
    return float(m.group(0)) if m else 0.0


class _Bus:
    """The few systemd calls the collector makes, over one jeepney connection."""

    def __init__(self, timeout: float):
        from jeepney import DBusAddress
        from jeepney.io.blocking import open_dbus_connection

        self._conn = open_dbus_connection(bus="SYSTEM", auth_timeout=timeout)
        self._timeout = timeout
        self._manager = DBusAddress("/org/freedesktop/systemd1", bus_name="org.freedesktop.systemd1",
                                    interface="org.freedesktop.systemd1.Manager")

    def close(self) -> None:
        self._conn.close()

    def _call(self, msg):
        from jeepney.wrappers import unwrap_msg

        return unwrap_msg(self._conn.send_and_get_reply(msg, timeout=self._timeout))

    def manager_property(self, name: str):
        return self.property("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", name)

    def property(self, path: str, interface: str, name: str):
        """One property's value, or None when the object does not have it."""
        from jeepney import DBusAddress, DBusErrorResponse, Properties

        obj = DBusAddress(path, bus_name="org.freedesktop.systemd1", interface=interface)
        try:
            return self._call(Properties(obj).get(name))[0][1]
        except DBusErrorResponse:
            return None

    def list_units(self) -> list[tuple]:
        from jeepney import new_method_call

        return self._call(new_method_call(self._manager, "ListUnits"))[0]


@register(
    "systemd", default=False, help="systemd units and system state over D-Bus (node_systemd_*).",
    config_schema={"type": "object", "properties": {
        "unit-include": {"type": "string", "default": ".+",
                         "description": "Regexp of systemd units to include. Units must both match include and "
                                        "not match exclude to be included."},
        "unit-exclude": {"type": "string", "default": DEFAULT_EXCLUDE,
                         "description": "Regexp of systemd units to exclude. Units must both match include and "
                                        "not match exclude to be included."},
        "enable-task-metrics": {"type": "boolean", "default": False,
                                "description": "Enables service unit tasks metrics unit_tasks_current and "
                                               "unit_tasks_max."},
        "enable-restarts-metrics": {"type": "boolean", "default": False,
                                    "description": "Enables service unit metric service_restart_total."},
        "enable-start-time-metrics": {"type": "boolean", "default": False,
                                      "description": "Enables service unit metric unit_start_time_seconds."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 5,
                    "description": "Seconds to wait for each D-Bus call."},
    }, "additionalProperties": False},
)
class SystemdCollector:
    families = (
        Family("node_systemd_version", "gauge", ("version",)),
        Family("node_systemd_units", "gauge", ("state",), "units per active state, all units"),
        Family("node_systemd_unit_state", "gauge", ("name", "state", "type"),
               "1 for the unit's state; type: the service Type, empty for other units"),
        Family("node_systemd_system_running", "gauge", (), "1 when SystemState is running"),
        Family("node_systemd_unit_start_time_seconds", "gauge", ("name",),
               "enable-start-time-metrics; 0 if not active"),
        Family("node_systemd_unit_tasks_{current,max}", "gauge", ("name",), "enable-task-metrics; services"),
        Family("node_systemd_service_restart_total", "counter", ("name",), "enable-restarts-metrics"),
        Family("node_systemd_timer_last_trigger_seconds", "gauge", ("name",)),
        Family("node_systemd_socket_{accepted_connections_total,current_connections,refused_connections_total}",
               "counter/gauge", ("name",), "refused is a gauge, as upstream has it"),
    )

    def __init__(self, ctx: CollectorContext):
        s = ctx.settings
        include, exclude = s.get("unit-include", ".+"), s.get("unit-exclude", DEFAULT_EXCLUDE)
        regex("systemd", "unit-include", include)  # a bad pattern is reported as the user wrote it
        regex("systemd", "unit-exclude", exclude)
        self.include, self.exclude = re.compile(f"^(?:{include})$"), re.compile(f"^(?:{exclude})$")
        self.tasks = bool(s.get("enable-task-metrics", False))
        self.restarts = bool(s.get("enable-restarts-metrics", False))
        self.start_time = bool(s.get("enable-start-time-metrics", False))
        self.timeout = float(s.get("timeout", 5))

    def collect(self):
        bus = _Bus(self.timeout)
        try:
            yield from self._collect(bus)
        finally:
            bus.close()

    def _collect(self, bus: _Bus):
        raw_version = str(bus.manager_property("Version") or "").strip('"')
        version = version_number(raw_version)
        yield family("node_systemd_version", "Detected systemd version", "gauge",
                     [Sample("node_systemd_version", {"version": raw_version}, version, None, None)])
        units = bus.list_units()  # (name, description, load, active, sub, following, path, job id, type, job path)
        counts = dict.fromkeys(STATES, 0)
        for u in units:
            if u[3] in counts:
                counts[u[3]] += 1
        yield family("node_systemd_units", "Summary of systemd unit states", "gauge",
                     [Sample("node_systemd_units", {"state": st}, float(n), None, None) for st, n in counts.items()])
        units = [u for u in units if self.include.match(u[0]) and not self.exclude.match(u[0])]
        out: dict[str, tuple[str, str, list]] = {}

        def add(name, doc, typ, labels, value):
            sample = name + "_total" if typ == "counter" and not name.endswith("_total") else name
            key = name[:-6] if typ == "counter" and name.endswith("_total") else name
            out.setdefault(key, (doc, typ, []))[2].append(Sample(sample, labels, float(value), None, None))

        for name, _, _, active, _, _, path, *_ in units:
            is_service = name.endswith(".service")
            typ = (bus.property(path, "org.freedesktop.systemd1.Service", "Type") or "") if is_service else ""
            for st in STATES:
                add("node_systemd_unit_state", "Systemd unit", "gauge", {"name": name, "state": st, "type": typ},
                    1 if st == active else 0)
            if self.restarts and is_service:
                n = bus.property(path, "org.freedesktop.systemd1.Service", "NRestarts")
                if n is not None:
                    add("node_systemd_service_restart_total", "Service unit count of Restart triggers", "counter",
                        {"name": name}, n)
            if self.start_time:
                usec = bus.property(path, "org.freedesktop.systemd1.Unit", "ActiveEnterTimestamp") \
                    if active == "active" else 0
                if usec is not None:
                    add("node_systemd_unit_start_time_seconds", "Start time of the unit since unix epoch in seconds.",
                        "gauge", {"name": name}, usec / 1e6)
            if self.tasks and is_service:
                for prop, metric, doc in (
                        ("TasksCurrent", "node_systemd_unit_tasks_current", "Current number of tasks per Systemd unit"),
                        ("TasksMax", "node_systemd_unit_tasks_max", "Maximum number of tasks per Systemd unit")):
                    v = bus.property(path, "org.freedesktop.systemd1.Service", prop)
                    if v is not None and v != _UNSET:
                        add(metric, doc, "gauge", {"name": name}, v)
            if name.endswith(".timer") and version >= MIN_VERSION_SYSTEM_STATE:
                v = bus.property(path, "org.freedesktop.systemd1.Timer", "LastTriggerUSec")
                if v is not None:
                    add("node_systemd_timer_last_trigger_seconds", "Seconds since epoch of last trigger.", "gauge",
                        {"name": name}, v / 1e6)
            if name.endswith(".socket"):
                accepted = bus.property(path, "org.freedesktop.systemd1.Socket", "NAccepted")
                current = bus.property(path, "org.freedesktop.systemd1.Socket", "NConnections") \
                    if accepted is not None else None
                if accepted is not None:
                    add("node_systemd_socket_accepted_connections_total", "Total number of accepted socket connections",
                        "counter", {"name": name}, accepted)
                if current is not None:
                    add("node_systemd_socket_current_connections", "Current number of socket connections", "gauge",
                        {"name": name}, current)
                    refused = bus.property(path, "org.freedesktop.systemd1.Socket", "NRefused")
                    if refused is not None:
                        add("node_systemd_socket_refused_connections_total",
                            "Total number of refused socket connections", "gauge", {"name": name}, refused)
        for key, (doc, typ, samples) in sorted(out.items()):
            yield family(key, doc, typ, samples)
        if version >= MIN_VERSION_SYSTEM_STATE:
            state = bus.manager_property("SystemState")
            yield family("node_systemd_system_running",
                         "Whether the system is operational (see 'systemctl is-system-running')", "gauge",
                         [Sample("node_systemd_system_running", NO_LABELS, 1.0 if state == "running" else 0.0,
                                 None, None)])
