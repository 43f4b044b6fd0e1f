"""Leak detection over several windows (noise, daily cycles, sawtooths), projections capped at the limit,
related findings (a thread leak explains the memory growth), and confidence that reaches "high"."""
import json
import math
import random

import pytest

from .conftest import advisor

MiB = 2 ** 20
HOST_MEM = 24 * 2 ** 30


def write(tmp_path, series: dict[str, list[tuple[float, float]]]) -> str:
    """Prometheus text format with millisecond timestamps."""
    lines = []
    for name, pts in series.items():
        lines += [f"{name} {v!r} {int(t * 1000)}" for t, v in pts]
    f = tmp_path / "data.prom"
    f.write_text("\n".join(lines) + "\n")
    return str(f)


def rss(fn, hours: float, step: float = 60.0, seed: int = 1):
    rnd = random.Random(seed)
    n = int(hours * 3600 / step)
    return [(i * step, fn(i * step, rnd)) for i in range(n + 1)]


def memory(tmp_path, pts, threads=None, available=HOST_MEM):
    s = {'namedprocess_namegroup_memory_bytes{instance="a",groupname="app",memtype="resident"}': pts,
         'node_memory_MemAvailable_bytes{instance="a"}': [(t, available) for t, _ in pts],
         'namedprocess_namegroup_num_threads{instance="a",groupname="app"}':
             threads or [(t, 10.0) for t, _ in pts]}
    return write(tmp_path, s)


def run(path, end, *rules, sets=()):
    args = ["run", "--format", "json", "--load", path, "--time", str(end)]
    for r in rules:
        args += ["--rule", r]
    for s in sets:
        args += ["--set", s]
    r = advisor(*args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def by_rule(rep, rule):
    return [f for f in rep["findings"] if f["rule_id"] == rule]


def slow_leak(t, rnd):   # 20 MiB/h with 0.25 % noise on 2 GiB
    return 2048 * MiB + 20 * MiB * t / 3600 + rnd.gauss(0, 0.0025 * 2048 * MiB)


def test_slow_noisy_leak_is_found_over_one_hour(tmp_path):
    """Least squares gave R² 0.5 < 0.8 over the default 1 h and missed it; Theil-Sen + Mann-Kendall find it."""
    path = memory(tmp_path, rss(slow_leak, 1))
    (f,) = by_rule(run(path, 3600, "process-memory-leak"), "process-memory-leak")
    assert f["projection"]["slope"] * 3600 / MiB == pytest.approx(20, rel=0.25)
    assert "over the last 1h" in f["description"]
    assert f["window"][1] - f["window"][0] == pytest.approx(3600, abs=120)
    assert f["confidence"]["level"] != "high"   # less than a day: a daily cycle cannot be ruled out


def daily_cycle(t, rnd):  # a healthy service: +300 MiB during the day, back at night, no growth
    return 1024 * MiB + 300 * MiB * (1 - math.cos(2 * math.pi * t / 86400)) / 2 + rnd.gauss(0, 2 * MiB)


def test_a_daily_rise_is_not_a_leak_with_three_days_of_history(tmp_path):
    """Over 6 h the morning rise looks like a leak; the daily baselines of 3 days do not grow."""
    pts = rss(daily_cycle, 72, step=300)
    path = memory(tmp_path, pts)
    end = 72 * 3600 - 6 * 3600   # mid-rise: the last 6 h climb steeply
    rep = run(path, end, "process-memory-leak")
    assert not by_rule(rep, "process-memory-leak")


def test_a_leak_under_a_daily_cycle_is_found_on_daily_baselines_with_high_confidence(tmp_path):
    pts = rss(lambda t, rnd: daily_cycle(t, rnd) + 20 * MiB * t / 3600, 72, step=300)
    path = memory(tmp_path, pts)
    (f,) = by_rule(run(path, 72 * 3600, "process-memory-leak"), "process-memory-leak")
    assert "daily baselines of 3d" in f["description"]
    assert f["projection"]["basis"] == "daily baselines"
    assert f["projection"]["slope"] * 3600 / MiB == pytest.approx(20, rel=0.2)
    assert f["confidence"]["level"] == "high", f["confidence"]["explanation"]


def test_a_sawtooth_is_not_a_leak(tmp_path):
    pts = rss(lambda t, rnd: 100e6 + 3e6 * ((t // 60) % 30), 2)
    rep = run(memory(tmp_path, pts), 7200, "process-memory-leak")
    assert not by_rule(rep, "process-memory-leak")


def test_projection_stops_at_the_limit_and_says_when(tmp_path):
    """"now 558.9 MiB, 75.5 GiB in 1d" on a 24 GiB host: the projection is capped at the host's memory."""
    pts = rss(lambda t, rnd: 500 * MiB + 3 * 2 ** 30 * t / 3600, 1)   # 3 GiB/h
    path = memory(tmp_path, pts, available=HOST_MEM - 3.5 * 2 ** 30)
    (f,) = by_rule(run(path, 3600, "process-memory-leak"), "process-memory-leak")
    p = f["projection"]
    assert p["capped"] and p["projected"] == p["limit"] <= HOST_MEM
    assert "in 1d" not in f["recommendation"]
    assert "it uses up the host's available memory in 6h 50m, at 24.0 GiB resident" in f["recommendation"]


def test_thread_leak_is_named_as_the_cause_of_memory_growth(tmp_path):
    pts = rss(lambda t, rnd: 500 * MiB + 50 * MiB * t / 3600, 2)
    threads = [(t, 10 + t / 60) for t, _ in pts]
    rep = run(memory(tmp_path, pts, threads=threads), 7200, "process-memory-leak", "process-thread-leak")
    (mem,) = by_rule(rep, "process-memory-leak")
    assert mem["cause"] == "thread growth (process-thread-leak)"
    assert "heap profile" not in mem["recommendation"]
    assert mem["recommendation"].count("thread growth (process-thread-leak)") == 1
    assert by_rule(rep, "process-thread-leak")


def test_memory_leak_without_thread_growth_keeps_the_heap_advice(tmp_path):
    pts = rss(lambda t, rnd: 500 * MiB + 50 * MiB * t / 3600, 2)
    (mem,) = by_rule(run(memory(tmp_path, pts), 7200, "process-memory-leak", "process-thread-leak"),
                     "process-memory-leak")
    assert mem["cause"] is None and "heap profile" in mem["recommendation"]


def test_cpu_saturation_with_three_days_of_data_is_high_confidence(tmp_path):
    """It scored 0.04 (lookback ÷ preferred history); with 3 days present, full coverage and a clear margin,
    "high" — and the explanation shows the inputs."""
    n = 72 * 60
    busy, total = [], 0.0
    for i in range(n + 1):
        busy.append((i * 60.0, total))
        total += 60 * (0.97 + 0.02 * ((i % 7) / 7))   # 97–99 % busy
    idle = [(t, t - v) for t, v in busy]
    path = write(tmp_path, {
        'node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"}': busy,
        'node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"}': idle})
    (f,) = by_rule(run(path, n * 60, "host-cpu-saturation"), "host-cpu-saturation")
    c = f["confidence"]
    assert c["level"] == "high" and c["score"] >= 0.75, c["explanation"]
    assert c["explanation"].startswith("high (") and "of history (preferred 1d)" in c["explanation"]
    assert c["gaps"] == 0 and c["margin"] > 3


def test_confidence_is_low_on_minutes_of_history(tmp_path):
    n = 20
    busy = [(i * 60.0, i * 60.0) for i in range(n + 1)]
    idle = [(t, 0.0) for t, _ in busy]
    path = write(tmp_path, {
        'node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="user"}': busy,
        'node_cpu_seconds_total{job="node",instance="a",cpu="0",mode="idle"}': idle})
    rep = run(path, n * 60, "host-cpu-saturation")
    (f,) = by_rule(rep, "host-cpu-saturation") or [p for p in rep["pending"] if p["rule_id"] == "host-cpu-saturation"]
    assert f["confidence"]["level"] == "low"
