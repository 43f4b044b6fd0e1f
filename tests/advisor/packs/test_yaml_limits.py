"""Hostile YAML in packs, rule-test files and the config file: one line ``FILE:LINE: …`` and exit 2, bounded."""
import json
import subprocess
import sys
import textwrap

import pytest

from tests.advisor.conftest import advisor
from tests.advisor.packs.test_loader import GOOD

# Runs the CLI in a child and prints that child's peak RSS: RUSAGE_CHILDREN of this wrapper covers only it.
_MEASURE = textwrap.dedent("""\
    import json, resource, subprocess, sys
    r = subprocess.run([sys.executable, "-c", "from perfadvisor.advisor.cli import main; main()", *sys.argv[1:]],
                       capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"code": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "peak_mib": peak}))
""")


def run_measured(*args: str, timeout: float = 60) -> dict:
    """The CLI in a subprocess under a wall-clock bound; its exit code, output and peak memory in MiB."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, timeout=timeout)
    return json.loads(out.stdout)


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("content, line, reason", [
    (GOOD.encode().replace(b"Targets up", b"Targets \xff up"), 8, "not UTF-8 text (byte 0xff)"),
    (GOOD.encode().replace(b"Targets up", b"Targets\x00up"), 8, "control character U+0000 is not allowed"),
    (GOOD.encode().replace(b"query: up", b"query: !!python/name:os.system up"), 12,
     "rules[0].query: tag '!!python/name:os.system' is not allowed"),
    (GOOD.encode().replace(b"query: up", b"query: !custom up"), 12, "rules[0].query: tag '!custom' is not allowed"),
    (GOOD.encode() + b"    references: &a [*a]\n", 15, "rules[0].references[0]: recursive alias"),
    (GOOD.encode().replace(b"    category: alert\n", b"    category: alert\n    title: Again\n"), 10,
     "rules[0]: duplicate key 'title' (first at line 8)"),
    (GOOD.encode().replace(b"metadata:", b"kind: RulePack\nmetadata:"), 3, "duplicate key 'kind' (first at line 2)"),
])
def test_hostile_pack_is_one_line_with_file_and_line(tmp_path, content, line, reason):
    pack = tmp_path / "evil.yaml"
    pack.write_bytes(content)
    r = advisor("packs", "validate", str(pack))
    assert r.exit_code == 2
    err = one_error_line(r.stderr)
    assert err.startswith(f"advisor: error: {pack}:{line}: "), err
    assert reason in err


def laughs(levels: int = 12, fan: int = 10) -> str:
    """The billion laughs: each anchor refers to the one before `fan` times (10**12 values expanded)."""
    out = ['a0: &a0 ["lol"]']
    out += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, levels + 1)]
    return "\n".join(out) + "\n"


def test_billion_laughs_is_refused_quickly_and_small(tmp_path):
    pack = tmp_path / "laughs.yaml"
    pack.write_text(GOOD + "x-" + laughs().replace("\na", "\nx-a"))
    r = run_measured("packs", "validate", str(pack), timeout=30)
    assert r["code"] == 2
    err = one_error_line(r["stderr"])
    assert err.startswith(f"advisor: error: {pack}:") and "more than 100 alias uses" in err
    assert r["peak_mib"] < 150, r


def test_moderate_aliases_are_fine(tmp_path):
    pack = tmp_path / "anchors.yaml"
    text = GOOD.replace("query: up", "query: &q up").replace("references", "x") + \
        "    evidence:\n" + "".join(f"      - {{title: e{i}, query: *q}}\n" for i in range(20))
    pack.write_text(text)
    r = advisor("packs", "validate", str(pack))
    assert r.exit_code == 0, r.output


def test_a_50_mb_pack_is_refused_without_reading_it(tmp_path):
    pack = tmp_path / "big.yaml"
    with pack.open("w") as f:
        f.write(GOOD)
        f.write("# padding\n" * 5_000_000)
    r = run_measured("packs", "validate", str(pack), timeout=30)
    assert r["code"] == 2
    assert one_error_line(r["stderr"]) == f"advisor: error: {pack}: larger than 1 MiB, the limit for a YAML file"
    assert r["peak_mib"] < 150, r


def test_a_pack_just_under_the_cap_loads_in_bounded_time_and_memory(tmp_path):
    head, rule = GOOD[:GOOD.index("  - id")], GOOD[GOOD.index("  - id"):]
    rules, size, i = [], len(head), 0
    while True:
        r = rule.replace("mine-up", f"mine-up-{i}")
        if size + len(r) > 1024 * 1024:
            break
        rules.append(r)
        size += len(r)
        i += 1
    pack = tmp_path / "many.yaml"
    pack.write_text(head + "".join(rules))
    r = run_measured("packs", "validate", str(pack), timeout=60)
    assert r["code"] == 0, r
    assert f"pack mine, {len(rules)} rules" in r["stdout"]
    assert r["peak_mib"] < 250, r


def test_rule_test_files_get_the_same_limits(tmp_path):
    t = tmp_path / "evil.test.yaml"
    t.write_text("rule_files: [host]\ntests:\n  - name: x\n    name: y\n")
    r = advisor("test", str(t))
    assert r.exit_code == 2
    assert one_error_line(r.stderr) == f"advisor: error: {t}:4: tests[0]: duplicate key 'name' (first at line 3)"
    t.write_bytes(b"rule_files: [host]\ntests: !!python/object/apply:os.system [echo]\n")
    r = advisor("test", str(t))
    assert r.exit_code == 2 and one_error_line(r.stderr).startswith(f"advisor: error: {t}:2: tests: tag ")
    t.write_text("rule_files: [host]\n" + laughs())
    r = run_measured("test", str(t), timeout=30)
    assert r["code"] == 2 and "more than 100 alias uses" in one_error_line(r["stderr"]), r
    assert r["peak_mib"] < 150, r


def test_config_file_gets_the_same_limits(tmp_path):
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text("parameters:\n  cpu_high: 0.7\n  cpu_high: 0.8\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert r.exit_code == 2
    assert one_error_line(r.stderr) == (f"advisor: error: {cfg}:3: parameters: duplicate key 'cpu_high' "
                                        "(first at line 2)")
    cfg.write_bytes(b"parameters: &a {x: *a}\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert r.exit_code == 2 and "recursive alias" in one_error_line(r.stderr)
