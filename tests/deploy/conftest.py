"""Helpers for the deploy/ tests: reading systemd units and environment files, the manifests, `advisor serve`."""
from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent  # the venv the tests run in: perfadvisor-exporter and advisor live here
INSTALLED_BIN = "/opt/perfadvisor/bin/"  # where the units and docs/deploy.md install the programs



def unit(name: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file as {section: [(key, value), ...]} (keys repeat, e.g. SystemCallFilter)."""
    out: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, [])
        else:
            k, _, v = line.partition("=")
            out[section].append((k.strip(), v.strip()))
    return out


def setting(u: dict, section: str, key: str) -> str | None:
    vals = [v for k, v in u.get(section, []) if k == key]
    return vals[-1] if vals else None


def env_file(name: str) -> dict[str, str]:
    """An EnvironmentFile as systemd reads it: KEY=VALUE lines, comments, optional quotes."""
    env = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        k, _, v = line.partition("=")
        env[k.strip()] = " ".join(shlex.split(v)) if v.strip() else ""
    return env


def exec_start(u: dict, env: dict[str, str]) -> list[str]:
    """ExecStart's argv as systemd builds it: `$VAR` alone splits into words, `${VAR}` is one word; the
    installed path /opt/perfadvisor/bin/ is this venv's bin."""
    argv: list[str] = []
    for word in shlex.split(setting(u, "Service", "ExecStart")):
        if m := re.fullmatch(r"\$(\w+)", word):
            argv += env.get(m.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    argv[0] = argv[0].replace(INSTALLED_BIN, f"{BIN}/")
    return argv


def manifests() -> dict[str, list[dict]]:
    """deploy/kubernetes/*.yaml: file name -> its YAML documents."""
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d]
            for p in sorted((DEPLOY / "kubernetes").glob("*.yaml"))}


def objects(kind: str) -> list[dict]:
    return [d for docs in manifests().values() for d in docs if d.get("kind") == kind]
