"""The HTML report loaded in headless Chromium: the charts are parsed as SVG and drawn."""
from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser

from perfadvisor.advisor.reports import render
from tests.advisor.reports.sample import full_report
from tests.support.procs import need_binary


class _Charts(HTMLParser):
    """The chart SVGs of a DOM dump: per chart, the tags inside it with their attributes."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, list[tuple[str, dict]]] = {}   # by the svg's aria-label
        self._current: list[tuple[str, dict]] = []
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "chart" in (a.get("class") or ""):
            self._current = self.charts.setdefault(a.get("aria-label", ""), [])
            self._depth = 1
        elif self._depth:
            self._current.append((tag, a))

    def handle_endtag(self, tag):
        if tag == "svg":
            self._depth = 0


def _chromium() -> str:
    return need_binary("chromium", "chromium-browser", "google-chrome", "/usr/lib/chromium/chromium",
                       hint="Debian package chromium; scripts/install-test-deps installs it")


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    # As root (CI, containers) Chromium needs --no-sandbox; a small /dev/shm makes it crash without the last flag.
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", "--disable-dev-shm-usage", *args],
                          capture_output=True, text=True, timeout=180)


def test_chromium_parses_every_chart_with_its_lines(tmp_path):
    browser = _chromium()
    report = full_report()
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"))
    dom = _run(browser, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Charts()
    parsed.feed(dom.stdout)
    shown = report.findings + report.pending
    assert len(parsed.charts) == len(shown) == 5
    for f in shown:
        tags = parsed.charts[f"{f.rule.id} — {f.target_text}"]
        series = [a for t, a in tags if t == "path" and a.get("class") == "series"]
        assert len(series) == 1
        assert len(re.findall(r"[ML]\d", series[0]["d"])) == len(f.series), f.rule.id
        classes = [a.get("class") for t, a in tags]
        assert ("projection" in classes) == (f.projection is not None), f.rule.id
        assert "window" in classes
    assert "<script" not in dom.stdout.split("<body", 1)[1]    # the hostile label stayed text


def test_chromium_draws_the_report(tmp_path):
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render(full_report(), "html"))
    shot = tmp_path / "report.png"
    r = _run(browser, f"--screenshot={shot}", "--window-size=1200,2600", "--hide-scrollbars", page.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
