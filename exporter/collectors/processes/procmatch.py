"""Process-group rules in process-exporter's dialect: comm / exe / cmdline selectors and a name template.

    groups:
      - name: "{{.Comm}}"          # template: .Comm .ExeBase .ExeFull .Username .PID .Matches.<capture>
        comm: [bash, sh]
      - name: "java:{{.Matches.app}}"
        exe: [java]                # basename, or a full path when it contains "/"
        cmdline: ['-Dapp=(?P<app>\\w+)']   # every regex must match the space-joined command line

Within one rule all given selectors must match; the first matching rule names the process.
"""
from __future__ import annotations

import os
import pwd
import re
from dataclasses import dataclass
from typing import Any, Callable

_TEMPLATE = re.compile(r"\{\{\s*\.(\w+)(?:\.(\w+))?\s*\}\}")
_USERS: dict[int, str] = {}


def username(uid: int) -> str:
    if uid not in _USERS:
        try:
            _USERS[uid] = pwd.getpwuid(uid).pw_name
        except (KeyError, OverflowError):
            _USERS[uid] = str(uid)
    return _USERS[uid]


@dataclass(frozen=True)
class ProcInfo:
    """What a rule can look at; cmdline and uid are fetched lazily by the caller-provided functions."""

    pid: int
    comm: str
    get_cmdline: Callable[[], list[str]]
    get_uid: Callable[[], int]


@dataclass(frozen=True)
class GroupRule:
    name: str
    comm: frozenset[str] = frozenset()
    exe: tuple[str, ...] = ()
    cmdline: tuple[re.Pattern, ...] = ()

    @classmethod
    def from_config(cls, item: dict[str, Any], where: str = "groups") -> "GroupRule":
        patterns = []
        for i, p in enumerate(item.get("cmdline", ())):
            try:
                patterns.append(re.compile(p))
            except re.error as e:
                raise ValueError(f"{where}.cmdline[{i}]: invalid regular expression {p!r}: {e}") from None
        return cls(
            name=item.get("name", "{{.Comm}}"),
            comm=frozenset(item.get("comm", ())),
            exe=tuple(item.get("exe", ())),
            cmdline=tuple(patterns),
        )

    def match(self, p: ProcInfo) -> str | None:
        """The group name for p, or None when this rule does not select it."""
        if not (self.comm or self.exe or self.cmdline):
            return None
        if self.comm and p.comm not in self.comm:
            return None
        args: list[str] | None = None
        if self.exe:
            args = p.get_cmdline()
            full = args[0] if args else p.comm
            base = os.path.basename(full)
            if not any((e == full) if "/" in e else (e == base) for e in self.exe):
                return None
        matches: dict[str, str] = {}
        if self.cmdline:
            args = p.get_cmdline() if args is None else args
            line = " ".join(args)
            for rx in self.cmdline:
                m = rx.search(line)
                if m is None:
                    return None
                matches.update({k: v for k, v in m.groupdict().items() if v is not None})
        return self.render(p, args, matches)

    def render(self, p: ProcInfo, args: list[str] | None, matches: dict[str, str]) -> str:
        if "{{" not in self.name:
            return self.name

        def sub(m: re.Match) -> str:
            nonlocal args
            key, sub_key = m.group(1), m.group(2)
            if key == "Comm":
                return p.comm
            if key == "PID":
                return str(p.pid)
            if key == "Username":
                return username(p.get_uid())
            if key == "Matches":
                return matches.get(sub_key or "", "")
            if key in ("ExeBase", "ExeFull"):
                args = p.get_cmdline() if args is None else args
                full = args[0] if args else p.comm
                return os.path.basename(full) if key == "ExeBase" else full
            return m.group(0)

        return _TEMPLATE.sub(sub, self.name)


def first_match(rules: tuple[GroupRule, ...], p: ProcInfo) -> str | None:
    for r in rules:
        name = r.match(p)
        if name is not None:
            return name
    return None
