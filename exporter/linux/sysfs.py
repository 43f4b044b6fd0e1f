"""Kept-open sysfs attribute files: an open of a sysfs file costs ~8 µs, a pread of an open one ~1 µs.

sysfs regenerates an attribute on every read from offset 0, so a descriptor kept open gives fresh values. A
descriptor of a device that went away fails with ENODEV; the device's descriptors are then reopened by name.
"""
from __future__ import annotations

import errno
import os
import threading

_open, _pread, _close, _O_RDONLY = os.open, os.pread, os.close, os.O_RDONLY


class AttrFiles:
    """Descriptors of `<root>/<device>/<attr>`, opened on first use (at most `limit` in total)."""

    def __init__(self, root: str, limit: int = 2048):
        self.root, self.limit = root, limit
        self._fds: dict[str, dict[str, int]] = {}
        self._count = 0
        self._lock = threading.RLock()  # two scrapes (different collect[] filters) may run one collector at once

    def keep_only(self, devices) -> None:
        """Close the descriptors of devices that are gone (or renamed)."""
        with self._lock:
            for dev in [d for d in self._fds if d not in devices]:
                self._drop(dev)

    def _drop(self, dev: str) -> None:
        with self._lock:
            for fd in self._fds.pop(dev, {}).values():
                if fd >= 0:
                    _close(fd)
                    self._count -= 1

    def read(self, dev: str, attr: str, _retry: bool = True) -> str | None:
        """The attribute's text, or None when the device does not have it or cannot report it now (EINVAL)."""
        # Under the lock: a descriptor closed by a concurrent scrape could otherwise be reused for another file.
        with self._lock:
            return self._open_and_read(dev, attr, _retry)

    def read_many(self, dev: str, attrs: tuple[str, ...]) -> list[str | None]:
        """``[read(dev, a) for a in attrs]`` under one lock, descriptors already open read with one pread each."""
        with self._lock:
            files = self._fds.get(dev)
            if files is None:
                return [self._open_and_read(dev, a, True) for a in attrs]
            out: list[str | None] = []
            append = out.append
            for a in attrs:
                fd = files.get(a)
                if fd is not None and fd >= 0:
                    try:
                        append(_pread(fd, 4096, 0).decode("utf-8", "replace").strip())
                        continue
                    except OSError as e:
                        if e.errno != errno.ENODEV:
                            append(None)  # e.g. EINVAL: the device cannot report it now
                            continue
                elif fd is not None:
                    append(None)  # the device does not have it
                    continue
                # not opened yet, or the device went away (reopened by name): the general path
                append(self._open_and_read(dev, a, True))
                files = self._fds.get(dev) or {}
            return out

    def _open_and_read(self, dev: str, attr: str, _retry: bool) -> str | None:
        files = self._fds.setdefault(dev, {})
        fd = files.get(attr)
        if fd is None:
            path = f"{self.root}/{dev}/{attr}"
            if self._count >= self.limit:  # too many devices to keep open: plain reads
                try:
                    fd = _open(path, _O_RDONLY)
                except OSError:
                    return None
                try:
                    return os.read(fd, 4096).decode("utf-8", "replace").strip()
                except OSError:
                    return None
                finally:
                    _close(fd)
            try:
                fd = _open(path, _O_RDONLY)
                self._count += 1
            except OSError:
                fd = -1
            files[attr] = fd
        if fd < 0:
            return None
        try:
            return _pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        except OSError as e:
            if e.errno == errno.ENODEV and _retry:  # the device was removed (maybe re-created under this name)
                self._drop(dev)
                return self.read(dev, attr, _retry=False)
            return None

    def close(self) -> None:
        for dev in list(self._fds):
            self._drop(dev)
