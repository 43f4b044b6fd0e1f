"""The container image under test: a Debian base made with debootstrap (cached per day), the image built from it
by deploy/container/build-image, and podman invoked the way this kind of machine needs (runc, cgroupfs, limits)."""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.procs import need_binary

from .conftest import DEPLOY

CACHE = Path(os.environ.get("PERFADVISOR_TEST_CACHE", "/var/cache/perfadvisor-test"))
MIRROR = os.environ.get("PERFADVISOR_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_REPO = "localhost/perfadvisor-test-base"
ENGINE_FLAGS = ["--runtime", "runc", "--cgroup-manager=cgroupfs"]  # crun fails on this hybrid cgroup layout
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def podman() -> list[str]:
    need_binary("runc")
    return [need_binary("podman"), *ENGINE_FLAGS]


def _run(argv: list[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {r.returncode}:\n{(r.stdout + r.stderr)[-3000:]}")
    return r


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two test runs at once build the base once
        yield


def _remove_rootfs(rootfs: Path) -> None:
    """Delete a debootstrap folder; a run that died may have left /proc or /sys mounted inside it."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m == str(rootfs) or m.startswith(f"{rootfs}/")), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(rootfs, ignore_errors=True)


def base_image() -> str:
    """Debian bookworm minbase + python3 + python3-venv as a podman image, rebuilt once a day.

    The rootfs tarball is kept in CACHE too, so a cleared podman store costs an import (~10 s), not a
    debootstrap (~2 min)."""
    pm = podman()
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    tag = f"{BASE_REPO}:bookworm-{day}"
    with _locked(CACHE / "base.lock"):
        if subprocess.run([*pm, "image", "exists", tag]).returncode == 0:
            return tag
        tar = CACHE / f"bookworm-python3-{day}.tar"
        if not tar.exists():
            debootstrap = need_binary("debootstrap", "/usr/sbin/debootstrap")
            rootfs = CACHE / f"rootfs-{day}"
            _remove_rootfs(rootfs)
            _run([debootstrap, "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(rootfs), MIRROR],
                 timeout=900)
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (rootfs / junk).glob("*"):
                    if p.is_file():
                        p.unlink()
            _run(["tar", "--one-file-system", "-C", str(rootfs), "-cf", f"{tar}.part", "."])
            os.replace(f"{tar}.part", tar)
            _remove_rootfs(rootfs)
        _run([*pm, "import", "--change", 'CMD ["/bin/bash"]', str(tar), tag])
        for old in CACHE.glob("bookworm-python3-*.tar"):  # yesterday's
            if old != tar:
                old.unlink()
        listed = _run([*pm, "images", "--format", "{{.Repository}}:{{.Tag}}", BASE_REPO]).stdout.split()
        for old in listed:
            if old != tag:
                subprocess.run([*pm, "rmi", old], capture_output=True)
    return tag


def build_image(base: str, tag: str) -> None:
    """deploy/container/build-image with the local base: wheels made on this host, no network in the build."""
    env = {**os.environ, "ENGINE_FLAGS": " ".join(ENGINE_FLAGS), "LIMIT_FLAGS": " ".join(LIMITS),
           "PYTHON": sys.executable, "CONTAINER_ENGINE": need_binary("podman")}
    _run([str(DEPLOY / "container" / "build-image"), "--base", base, "--tag", tag], timeout=900, env=env)
