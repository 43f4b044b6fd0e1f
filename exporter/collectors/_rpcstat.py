"""The NFS procedure tables and line parser shared by the nfs (client) and nfsd (server) collectors.

Field order is the kernel's in /proc/net/rpc/nfs{,d}: each ``procN`` line starts with the count of values.
"""
from __future__ import annotations

V2 = ("Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write", "Create", "Remove",
      "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat")
V3 = ("Null", "GetAttr", "SetAttr", "Lookup", "Access", "ReadLink", "Read", "Write", "Create", "MkDir", "SymLink",
      "MkNod", "Remove", "RmDir", "Rename", "Link", "ReadDir", "ReadDirPlus", "FsStat", "FsInfo", "PathConf", "Commit")
CLIENT_V4 = (
    "Null", "Read", "Write", "Commit", "Open", "OpenConfirm", "OpenNoattr", "OpenDowngrade", "Close", "Setattr",
    "FsInfo", "Renew", "SetClientID", "SetClientIDConfirm", "Lock", "Lockt", "Locku", "Access", "Getattr", "Lookup",
    "LookupRoot", "Remove", "Rename", "Link", "Symlink", "Create", "Pathconf", "StatFs", "ReadLink", "ReadDir",
    "ServerCaps", "DelegReturn", "GetACL", "SetACL", "FsLocations", "ReleaseLockowner", "Secinfo", "FsidPresent",
    "ExchangeID", "CreateSession", "DestroySession", "Sequence", "GetLeaseTime", "ReclaimComplete", "LayoutGet",
    "GetDeviceInfo", "LayoutCommit", "LayoutReturn", "SecinfoNoName", "TestStateID", "FreeStateID", "GetDeviceList",
    "BindConnToSession", "DestroyClientID", "Seek", "Allocate", "DeAllocate", "LayoutStats", "Clone")
# Server NFSv4 operations: (name, position among the proc4ops values, counting from 1)
SERVER_V4_OPS = (
    ("Access", 4), ("Close", 5), ("Commit", 6), ("Create", 7), ("DelegPurge", 8), ("DelegReturn", 9),
    ("GetAttr", 10), ("GetFH", 11), ("Link", 12), ("Lock", 13), ("Lockt", 14), ("Locku", 15), ("Lookup", 16),
    ("LookupRoot", 17), ("Nverify", 18), ("Open", 19), ("OpenAttr", 20), ("OpenConfirm", 21), ("OpenDgrd", 22),
    ("PutFH", 23), ("Read", 26), ("ReadDir", 27), ("ReadLink", 28), ("Remove", 29), ("Rename", 30), ("Renew", 31),
    ("RestoreFH", 32), ("SaveFH", 33), ("SecInfo", 34), ("SetAttr", 35), ("Verify", 36), ("Write", 37),
    ("RelLockOwner", 38))


def parse(raw: str, path: str) -> dict[str, list[int]]:
    """'net 1 2 3 4\\nproc3 22 ...' -> {'net': [1, 2, 3, 4], 'proc3': [22, ...]}; the thread line keeps 2 values.

    ValueError names the file and the line that is not numbers.
    """
    out = {}
    for n, line in enumerate(raw.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        values = parts[1:3] if parts[0] == "th" else parts[1:]
        try:
            out[parts[0]] = [int(v) for v in values]
        except ValueError:
            raise ValueError(f"{path}:{n}: {parts[0]}: not a list of counters") from None
    return out


def procedures(values: list[int] | None, names: tuple[str, ...], path: str, line: str,
               minimum: int = 0, pad: bool = False) -> list[tuple[str, int]]:
    """The (procedure, count) pairs of a procN line whose first value is the number of values that follow."""
    if not values:
        return [(name, 0) for name in names]
    count, rest = values[0], values[1:]
    if len(rest) != count or count < minimum:
        raise ValueError(f"{path}: {line}: says {count} values, has {len(rest)}")
    if pad:
        rest = rest + [0] * (len(names) - len(rest))
    if len(rest) < len(names):
        raise ValueError(f"{path}: {line}: {len(rest)} values, {len(names)} expected")
    return list(zip(names, rest))


def fields(values: list[int] | None, n: int, path: str, line: str) -> list[int]:
    """A fixed-width line's values (zeros when the kernel does not write the line)."""
    if values is None:
        return [0] * n
    if len(values) != n:
        raise ValueError(f"{path}: {line}: {len(values)} values, {n} expected")
    return values
