"""btrfs on a mounted filesystem: the per-device sizes and error counters node_exporter reads with ioctls.

A small Btrfs image is made with mkfs.btrfs and loop-mounted for the module (root is needed, as for mounting
anything); node_exporter and ours then run side by side and must publish the same node_btrfs_* series for it.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.procs import free_port, need_binary, stop, wait_http


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def mounted(tmp_path_factory):
    """(uuid, mount point) of a fresh 160 MiB Btrfs filesystem on a loop device."""
    mkfs = need_binary("mkfs.btrfs", "/usr/sbin/mkfs.btrfs", "/sbin/mkfs.btrfs", hint="install btrfs-progs")
    tmp = tmp_path_factory.mktemp("btrfs")
    image, mnt = tmp / "image", tmp / "mnt"
    with open(image, "wb") as f:
        f.truncate(160 << 20)
    _run(mkfs, "-q", "-L", "perfadvisor-test", str(image))
    mnt.mkdir()
    _run("mount", "-o", "loop", str(image), str(mnt))
    try:
        (mnt / "data").write_bytes(os.urandom(1 << 20))
        os.sync()
        out = subprocess.run(["findmnt", "-no", "UUID", str(mnt)], capture_output=True, text=True, timeout=30)
        uuid = out.stdout.strip() or next(d for d in os.listdir("/sys/fs/btrfs") if "-" in d)
        yield uuid, str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=60)


def _btrfs(url: str, uuid: str) -> dict:
    fams = text_string_to_metric_families(requests.get(url, timeout=30).text)
    return {f.name: (f.type, f.documentation, {(s.name, tuple(sorted(s.labels.items()))): s.value
                                               for s in f.samples if s.labels.get("uuid") == uuid})
            for f in fams if f.name.startswith("node_btrfs_")}


def test_mounted_filesystem_matches_node_exporter(mounted):
    uuid, _ = mounted
    scrapes = []
    for binary in (need_binary("prometheus-node-exporter"),
                   os.path.join(os.path.dirname(sys.executable), "perfadvisor-exporter")):
        port = free_port()
        proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                                 "--collector.btrfs"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/metrics", proc=proc)
            scrapes.append(_btrfs(f"http://127.0.0.1:{port}/metrics", uuid))
        finally:
            stop(proc)
    ne, ours = scrapes
    assert sorted(ours) == sorted(ne)
    for name in ne:
        assert ours[name] == ne[name], name
    errors = ours["node_btrfs_device_errors"][2]
    assert sorted(dict(k[1])["type"] for k in errors) == ["corruption", "flush", "generation", "read", "write"]
    assert set(errors.values()) == {0.0}
    [(size_key, size)] = ours["node_btrfs_device_size_bytes"][2].items()
    assert size == 160 << 20 and dict(size_key[1])["device"].startswith("loop")
    [unused] = ours["node_btrfs_device_unused_bytes"][2].values()
    assert 0 < unused < size
