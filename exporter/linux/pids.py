"""Per-process readers for /proc/<pid>: one pass of os-level reads per process, parsed with bytes.find.

This is the hot loop of the processes collector (hundreds of pids per scrape), so it avoids Python file
objects, text decoding and dicts: each reader returns a tuple, and anything that does not change while a process
lives (its name, group match, fd limit) is cached by the caller under (pid, starttime).
"""
from __future__ import annotations

import os

_O_RDONLY = os.O_RDONLY
_open, _read, _close, _listdir, _stat, _pread = os.open, os.read, os.close, os.listdir, os.stat, os.pread

# Indexes into the fields after "comm)" in /proc/<pid>/stat (field 3 of proc(5) is index 0).
STATE, MINFLT, MAJFLT, UTIME, STIME, NUM_THREADS, STARTTIME, VSIZE, RSS = 0, 7, 9, 11, 12, 17, 19, 20, 21


def read_bytes(path: str, size: int = 4096) -> bytes:
    fd = _open(path, _O_RDONLY)
    try:
        return _read(fd, size)
    finally:
        _close(fd)


def parse_stat(data: bytes) -> tuple[str, list[bytes]]:
    """/proc/<pid>/stat → (comm, fields after the comm). comm may itself contain spaces and parentheses."""
    end = data.rfind(b")")
    return data[data.find(b"(") + 1:end].decode("utf-8", "replace"), data[end + 2:].split()


def _field(data: bytes, key: bytes, default: int = 0) -> int:
    i = data.find(key)
    if i < 0:
        return default
    i += len(key)
    j = data.find(b"\n", i)
    return int(data[i:j] if j >= 0 else data[i:])


def parse_status(data: bytes) -> tuple[int, int, int]:
    """/proc/<pid>/status → (voluntary ctx switches, nonvoluntary ctx switches, swapped bytes)."""
    swap = data.find(b"\nVmSwap:")
    swapped = int(data[swap + 8:data.find(b"kB", swap)]) * 1024 if swap >= 0 else 0
    return (_field(data, b"\nvoluntary_ctxt_switches:"), _field(data, b"\nnonvoluntary_ctxt_switches:"), swapped)


def parse_io(data: bytes) -> tuple[int, int]:
    """/proc/<pid>/io → (read_bytes, write_bytes) — the storage-layer counters process-exporter reports."""
    return _field(data, b"\nread_bytes:"), _field(data, b"\nwrite_bytes:")


def parse_max_fds(text: str) -> int:
    """/proc/<pid>/limits → soft limit of open files (0 when unlimited or unknown)."""
    for line in text.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files"):].split()[0]
            return int(soft) if soft.isdigit() else 0
    return 0


def max_fds(base: str) -> int:
    try:
        return parse_max_fds(read_bytes(base + "/limits", 8192).decode())
    except (OSError, ValueError):
        return 0


def count_fds(base: str, in_size: bool = False) -> int:
    """Open descriptors (-1 when the fd directory cannot be read: another user's process without privileges).

    Since Linux 6.2 stat() of /proc/<pid>/fd reports the count as st_size, one syscall instead of a listing.
    """
    try:
        return _stat(base + "/fd").st_size if in_size else len(_listdir(base + "/fd"))
    except OSError:
        return -1


def fd_count_in_size(procfs: str) -> bool:
    """Whether this procfs reports fd counts as st_size (a fixture tree or an older kernel does not)."""
    try:
        return os.stat(os.path.join(procfs, "self", "fd")).st_size > 0  # this process always has fds open
    except OSError:
        return False


FILES = ("/stat", "/schedstat", "/status", "/io")  # OpenFiles slots, in this order
SIZES = (1024, 256, 8192, 1024)
PF_KTHREAD = 0x00200000


class OpenFiles:
    """A process' /proc files kept open and re-read with pread: saves an open and a close per file per scrape.

    The descriptors pin the task, so after exit (or pid reuse) reads fail and the caller drops them. A file that
    cannot be opened (io of another user's process without privileges, schedstat without CONFIG_SCHED_INFO) is
    remembered as unreadable (-2) and fails at once, without a syscall per scrape. Only the first ``keep`` files
    (in FILES order) are kept open; the others are opened for each read.
    """

    __slots__ = ("fds",)

    def __init__(self, base: str, keep: int = len(FILES)):
        fds = []
        for i, name in enumerate(FILES):
            if i >= keep:
                fds.append(-1)
                continue
            try:
                fds.append(_open(base + name, _O_RDONLY))
            except OSError:
                if i == 0:
                    raise
                fds.append(-2)
        self.fds = fds

    def read(self, slot: int, base: str) -> bytes:
        fd = self.fds[slot]
        if fd >= 0:
            return _pread(fd, SIZES[slot], 0)
        if fd == -2:
            raise PermissionError(13, "not readable", base + FILES[slot])
        return read_bytes(base + FILES[slot], SIZES[slot])

    def close(self) -> None:
        for fd in self.fds:
            if fd >= 0:
                _close(fd)
        self.fds = [-1, -1, -1, -1]


def read_slot(files: OpenFiles | None, slot: int, base: str) -> bytes:
    return files.read(slot, base) if files is not None else read_bytes(base + FILES[slot], SIZES[slot])


def schedstat_works(procfs: str) -> bool:
    """Whether /proc/<pid>/schedstat counts schedule-ins (its third field); this process has surely run."""
    try:
        return int(read_bytes(os.path.join(procfs, "self", "schedstat")).split()[2]) > 0
    except (OSError, ValueError, IndexError):
        return False


def parse_smaps_rollup(data: bytes) -> tuple[int, int]:
    """/proc/<pid>/smaps_rollup → (Pss, SwapPss) in bytes."""
    return _kb(data, b"\nPss:"), _kb(data, b"\nSwapPss:")


def _kb(data: bytes, key: bytes) -> int:
    i = data.find(key)
    if i < 0:
        return 0
    i += len(key)
    return int(data[i:data.find(b"kB", i)]) * 1024


def smaps_rollup(base: str) -> tuple[int, int]:
    try:
        return parse_smaps_rollup(read_bytes(base + "/smaps_rollup", 4096))
    except (OSError, ValueError):
        return 0, 0


def cmdline(base: str) -> list[str]:
    try:
        data = read_bytes(base + "/cmdline", 65536)
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in data.rstrip(b"\0").split(b"\0")] if data else []


def uid(base: str) -> int:
    try:
        return os.stat(base).st_uid
    except OSError:
        return -1


def boot_time(procfs: str) -> float:
    with open(os.path.join(procfs, "stat"), "rb") as f:
        for line in f:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    return 0.0
