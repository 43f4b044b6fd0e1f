"""Per-device sizes and error counters of mounted Btrfs filesystems, read with the kernel's btrfs ioctls.

node_exporter publishes these (node_btrfs_device_errors_total, device_unused_bytes) for every filesystem it
finds mounted in /proc/1/mounts; sysfs does not carry the error counters. Layouts are include/uapi/linux/btrfs.h.
"""
from __future__ import annotations

import fcntl
import os
import struct
import uuid
from dataclasses import dataclass

_MAGIC = 0x94


def _iowr(nr: int, size: int, read_only: bool = False) -> int:
    return ((2 if read_only else 3) << 30) | (size << 16) | (_MAGIC << 8) | nr


FS_INFO = _iowr(31, 1024, read_only=True)  # struct btrfs_ioctl_fs_info_args
DEV_INFO = _iowr(30, 4096)  # struct btrfs_ioctl_dev_info_args
GET_DEV_STATS = _iowr(52, 1032)  # struct btrfs_ioctl_get_dev_stats
ERROR_TYPES = ("write", "read", "flush", "corruption", "generation")  # the kernel's order of the counters


@dataclass(frozen=True)
class Device:
    name: str  # basename of the device path: loop0, sda2
    uuid: str
    total_bytes: int
    used_bytes: int
    errors: tuple[int, ...]  # in ERROR_TYPES order


def _unescape(field: str) -> str:
    """Mount table fields escape space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit() and len(field[i + 1:i + 4]) == 3:
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def btrfs_mounts(procfs: str) -> list[tuple[str, str]]:
    """(device, mount point) of the btrfs mounts in PID 1's mount table (the host's, inside a container too)."""
    for name in ("1/mounts", "mounts"):
        try:
            with open(os.path.join(procfs, name)) as f:
                lines = f.read(1 << 20).splitlines()
            break
        except OSError:
            continue
    else:
        return []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "btrfs":
            out.append((parts[0], _unescape(parts[1])))
    return out


def filesystem_devices(mount_path: str) -> tuple[str, list[Device]]:
    """The filesystem's id (hex, no dashes) and its devices; OSError when the mount cannot be queried."""
    fd = os.open(mount_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        info = bytearray(1024)
        fcntl.ioctl(fd, FS_INFO, info)
        max_id, num_devices = struct.unpack_from("=QQ", info)
        fsid = bytes(info[16:32]).hex()
        devices: list[Device] = []
        for devid in range(max_id + 1):
            dev = bytearray(4096)
            struct.pack_into("=Q", dev, 0, devid)
            try:
                fcntl.ioctl(fd, DEV_INFO, dev)
            except OSError as e:
                if e.errno == 19:  # ENODEV: device ids need not be contiguous
                    continue
                raise
            dev_uuid = str(uuid.UUID(bytes=bytes(dev[8:24])))
            used, total = struct.unpack_from("=QQ", dev, 24)
            path = bytes(dev[3072:]).split(b"\0", 1)[0].decode("utf-8", "replace")
            stats = bytearray(1032)
            struct.pack_into("=QQQ", stats, 0, devid, len(ERROR_TYPES), 0)
            fcntl.ioctl(fd, GET_DEV_STATS, stats)
            errors = struct.unpack_from(f"={len(ERROR_TYPES)}Q", stats, 24)
            devices.append(Device(os.path.basename(path), dev_uuid, total, used, tuple(errors)))
            if len(devices) == num_devices:
                break
        return fsid, devices
    finally:
        os.close(fd)


def all_filesystems(procfs: str, rootfs: str) -> dict[str, list[Device]]:
    """{fsid hex: devices} of every btrfs filesystem mounted; a mount that cannot be queried is passed over."""
    out: dict[str, list[Device]] = {}
    done: set[str] = set()
    for device, mountpoint in btrfs_mounts(procfs):
        if device in done:
            continue
        try:
            fsid, devices = filesystem_devices(os.path.join(rootfs, mountpoint.lstrip("/")))
        except OSError:
            continue
        if fsid in out:
            continue
        done.add(device)
        out[fsid] = devices
    return out
