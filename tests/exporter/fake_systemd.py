"""A stand-in for systemd's D-Bus API (org.freedesktop.systemd1), serving the units of a JSON fixture.

``private_bus(tmp)`` starts a private dbus-daemon with this script on it (``python fake_systemd.py BUS_ADDRESS
FIXTURE.json``), which answers the calls a monitoring client makes (Manager.ListUnits*, GetUnit,
Properties.Get/GetAll) once it prints "ready". There is no system bus (and no systemd) in the test environment;
this lets node_exporter and our exporter read the same units through the real D-Bus protocol, pointed at it by
DBUS_SYSTEM_BUS_ADDRESS as they would find the system bus on a host.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

ROOT = "/org/freedesktop/systemd1"
# D-Bus signatures of the properties the fixture may set
SIGNATURES = {"Version": "s", "SystemState": "s", "Virtualization": "s", "Type": "s", "NRestarts": "u",
              "TasksCurrent": "t", "TasksMax": "t", "ActiveEnterTimestamp": "t", "LastTriggerUSec": "t",
              "NAccepted": "u", "NConnections": "u", "NRefused": "u", "ActiveState": "s", "SubState": "s",
              "Id": "s", "LoadState": "s"}


def escape(name: str) -> str:
    """systemd's object path escaping of a unit name ('ssh.socket' -> 'ssh_2esocket')."""
    return "".join(c if (c.isascii() and c.isalnum() and not (i == 0 and c.isdigit())) else f"_{ord(c):02x}"
                   for i, c in enumerate(name))


def main(address: str, fixture: str) -> None:
    data = json.load(open(fixture))
    units = {f"{ROOT}/unit/{escape(u['name'])}": u for u in data["units"]}
    rows = [(u["name"], u["name"], "loaded", u["active"], u["sub"], "", path, 0, "", "/")
            for path, u in units.items()]
    conn = open_dbus_connection(bus=address)
    conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.systemd1"))
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        fields = msg.header.fields
        path, member = fields.get(HeaderFields.path), fields.get(HeaderFields.member)
        iface = fields.get(HeaderFields.interface, "")

        def props(interface: str) -> dict:
            if path == ROOT:
                return data["manager"] if interface == "org.freedesktop.systemd1.Manager" else {}
            unit = units.get(path, {})
            section = interface.rsplit(".", 1)[-1]
            if section == "Unit":
                return {"Id": unit["name"], "ActiveState": unit["active"], "SubState": unit["sub"],
                        "LoadState": "loaded", **unit.get("Unit", {})}
            return unit.get(section, {})

        if member in ("ListUnits", "ListUnitsFiltered", "ListUnitsByPatterns", "ListUnitsByNames"):
            conn.send(new_method_return(msg, "a(ssssssouso)", (rows,)))
        elif member == "GetUnit":
            name = msg.body[0]
            match = [p for p, u in units.items() if u["name"] == name]
            conn.send(new_method_return(msg, "o", (match[0],)) if match else
                      new_error(msg, "org.freedesktop.systemd1.NoSuchUnit", "s", (f"Unit {name} not loaded.",)))
        elif iface == "org.freedesktop.DBus.Properties" and member == "Get":
            interface, name = msg.body
            values = props(interface)
            if name in values:
                conn.send(new_method_return(msg, "v", ((SIGNATURES[name], values[name]),)))
            else:
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s",
                                    (f"Unknown property {name}",)))
        elif iface == "org.freedesktop.DBus.Properties" and member == "GetAll":
            values = props(msg.body[0])
            conn.send(new_method_return(msg, "a{sv}", ({k: (SIGNATURES[k], v) for k, v in values.items()},)))
        elif iface == "org.freedesktop.DBus.Peer" and member == "Ping":
            conn.send(new_method_return(msg))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"{iface}.{member}",)))


UNITS = os.path.join(os.path.dirname(__file__), "fixtures", "systemd", "units.json")


@contextlib.contextmanager
def private_bus(tmp: Path, units: str = UNITS) -> Iterator[dict]:
    """A private dbus-daemon with the stand-in systemd on it; yields os.environ pointing the system bus at it."""
    from tests.support.procs import need_binary, stop

    daemon = need_binary("dbus-daemon")
    tmp.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([daemon, "--session", "--nofork", "--print-address", f"--address=unix:path={tmp}/bus"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)]
    try:
        address = procs[0].stdout.readline().strip()
        if not address.startswith("unix:"):
            raise RuntimeError(f"dbus-daemon did not print its address: {address!r}")
        procs.append(subprocess.Popen([sys.executable, __file__, address, units], stdout=subprocess.PIPE, text=True))
        if procs[1].stdout.readline().strip() != "ready":
            raise RuntimeError("the stand-in systemd did not start")
        yield {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
    finally:
        for p in reversed(procs):
            stop(p)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
