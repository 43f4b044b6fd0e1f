"""Problems induced on this host for the scenario suite: child processes that burn a core or leak descriptors or
threads, a steady process, a small filesystem that fills up, and one dropped connection at a full accept queue.

Each child renames itself (/proc/self/comm) so the exporter's process groups can match it by name; names come
from ``group_name`` and are unique to the test run, since an exporter sees every process on the host.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from .procs import IN_CI, need_binary, stop

_NAME = 'import sys; open("/proc/self/comm", "w").write(sys.argv[1])\n'

BUSY_LOOP = _NAME + """
while True:
    pass
"""

FD_LEAKER = _NAME + """
import time
held = []
while True:
    held.append(open("/dev/null"))     # never closed
    time.sleep(float(sys.argv[2]))
"""

THREAD_LEAKER = _NAME + """
import threading, time
never = threading.Event()
while True:
    threading.Thread(target=never.wait, daemon=True).start()   # never joined, never ends
    time.sleep(float(sys.argv[2]))
"""

STEADY = _NAME + """
import time
ballast = b"x" * 30_000_000    # written bytes, so they are resident; allocated once
while True:
    sum(range(2000))           # a little work, a steady few percent of a core at most
    time.sleep(0.1)
"""


def group_name(suffix: str) -> str:
    """A process name unique to this test run, at most 15 characters (the kernel's limit for comm)."""
    return f"sc{os.getpid() % 10**6}{suffix}"[:15]


@contextlib.contextmanager
def child(script: str, name: str, *args: str, realtime: bool = False) -> Iterator[subprocess.Popen]:
    """Run `script` in a Python child named `name` (yielded once it carries the name); stop it after."""
    proc = subprocess.Popen([sys.executable, "-c", script, name, *args])
    try:
        if realtime and os.geteuid() == 0:
            try:  # round-robin real-time: a full core whatever else runs (the kernel's RT throttling leaves 5 %)
                os.sched_setscheduler(proc.pid, os.SCHED_RR, os.sched_param(1))
            except OSError:  # a sandbox without CAP_SYS_NICE for real-time: the highest normal priority instead
                os.setpriority(os.PRIO_PROCESS, proc.pid, -20)
        # process-exporter groups a PID when it first sees it and keeps that choice: name it before anyone looks.
        comm, deadline = Path(f"/proc/{proc.pid}/comm"), time.monotonic() + 60
        while comm.read_text().strip() != name[:15]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"child {name!r} did not take its name (exit code {proc.poll()})")
            time.sleep(0.02)
        yield proc
    finally:
        stop(proc)


def busy_loop(name: str):
    """A single-threaded busy loop: one full core, by construction.

    On a host shared with the rest of the test suite a nice-0 loop got 0.4–0.8 of a core (and 0.85 at nice -15
    under a load of 11), which is not the workload the scenario describes; run as root (as CI does) it is a
    real-time round-robin task, so it really keeps one core busy whatever else runs, while staying a single
    thread (it can never take more than one of the host's cores).
    """
    return child(BUSY_LOOP, name, realtime=True)


def fd_leaker(name: str, every: float = 0.2):
    """Opens a descriptor every `every` seconds and never closes it."""
    return child(FD_LEAKER, name, str(every))


def thread_leaker(name: str, every: float = 0.25):
    """Starts a thread every `every` seconds that never ends; its memory grows by the threads' stacks."""
    return child(THREAD_LEAKER, name, str(every))


def steady_process(name: str):
    """A healthy service: 30 MB resident from the start, a little CPU, no growth."""
    return child(STEADY, name)


def can_mount() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def loop_filesystem(directory: Path, size_mib: int) -> Iterator[Path]:
    """An ext4 filesystem of `size_mib` in a loop-mounted image under `directory`; unmounted and removed after.

    ext4, not tmpfs: the host pack ignores tmpfs (fs_exclude). No reserved blocks (-m 0), so available and free
    space are the same and a test can fill it to an exact share. Mounting needs root: locally without it the
    test skips, in CI it fails.
    """
    if not can_mount():
        msg = "mounting a loop filesystem needs root"
        pytest.fail(msg) if IN_CI else pytest.skip(msg)
    mkfs = need_binary("mkfs.ext4", "/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4")
    directory.mkdir(parents=True, exist_ok=True)
    image, mountpoint = directory / "fs.img", directory / "mnt"
    mountpoint.mkdir()
    with image.open("wb") as f:
        f.truncate(size_mib * 1024 * 1024)
    subprocess.run([mkfs, "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)], check=True, capture_output=True)
    try:
        yield mountpoint
    finally:
        # lazy: a writer thread that has not noticed the end yet must not keep the mount (and loop device) alive
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        image.unlink(missing_ok=True)


def fill_to(mountpoint: Path, used_share: float) -> None:
    """Allocate one file so that `used_share` of the filesystem's blocks are in use."""
    st = os.statvfs(mountpoint)
    want = int(st.f_blocks * used_share) - (st.f_blocks - st.f_bavail)
    if want > 0:
        fd = os.open(mountpoint / "ballast", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            os.posix_fallocate(fd, 0, want * st.f_frsize)
        finally:
            os.close(fd)


class Appender:
    """Appends `chunk` bytes to a file every call (a log nobody rotates); fsync so the space is taken now."""

    def __init__(self, path: Path, chunk: int):
        self.path, self.block = path, b"log line\n" * (chunk // 9)

    def __call__(self) -> None:
        with self.path.open("ab") as f:
            f.write(self.block)
            f.flush()
            os.fsync(f.fileno())


def listen_overflows() -> int:
    """The host's TcpExt ListenOverflows counter (connections dropped at a full accept queue)."""
    with open("/proc/net/netstat") as f:
        header, values = [line.split() for line in f if line.startswith("TcpExt:")][:2]
    return int(values[header.index("ListenOverflows")])


def drop_one_connection() -> int:
    """Drop exactly one connection at a listener whose accept queue is full; returns how many the kernel counted.

    With backlog 0 the queue holds one connection: the first client fills it, the second client's SYN is dropped.
    It is closed before its SYN is retransmitted (1 s), so it counts once.
    """
    before = listen_overflows()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        address = server.getsockname()
        with socket.create_connection(address, timeout=2), socket.socket() as second:
            second.setblocking(False)
            second.connect_ex(address)
            time.sleep(0.5)
    return listen_overflows() - before
