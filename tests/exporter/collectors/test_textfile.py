"""textfile: node_exporter's semantics for good, bad and conflicting .prom files."""
from __future__ import annotations

import os

from .conftest import build, samples


def _write(d, name, text):
    p = d / name
    p.write_text(text)
    return str(p)


def test_good_file_exported_with_mtime(tmp_path):
    good = _write(tmp_path, "good.prom", "# HELP app_jobs Jobs.\n# TYPE app_jobs gauge\napp_jobs{queue=\"a\"} 3\n")
    _write(tmp_path, "ignored.txt", "not_read 1\n")
    reg, _ = build("textfile", {"directory": str(tmp_path)})
    assert reg.get_sample_value("app_jobs", {"queue": "a"}) == 3
    assert reg.get_sample_value("node_textfile_mtime_seconds", {"file": good}) == os.stat(good).st_mtime
    assert reg.get_sample_value("node_textfile_scrape_error") == 0
    assert reg.get_sample_value("not_read") is None


def test_bad_file_is_skipped_and_flagged_but_good_ones_stay(tmp_path):
    _write(tmp_path, "a.prom", "app_ok 5\n")
    bad = _write(tmp_path, "b.prom", "garbage{{{ 1\n")
    stamped = _write(tmp_path, "c.prom", "app_stamped 1 1700000000000\n")
    reg, _ = build("textfile", {"directory": str(tmp_path)})
    assert reg.get_sample_value("app_ok") == 5
    assert reg.get_sample_value("node_textfile_scrape_error") == 1
    assert reg.get_sample_value("app_stamped") is None
    files = {dict(k)["file"] for k in samples(reg, "node_textfile_mtime_seconds")}
    assert bad not in files and stamped not in files and len(files) == 1


def test_conflicting_help_or_type_keeps_the_first_definition(tmp_path):
    _write(tmp_path, "a.prom", "# HELP app_x Help one\n# TYPE app_x gauge\napp_x{a=\"1\"} 1\n")
    _write(tmp_path, "b.prom", "# HELP app_x Help two\n# TYPE app_x gauge\napp_x{a=\"2\"} 2\nother_y 3\n")
    _write(tmp_path, "c.prom", "# HELP app_x Help one\n# TYPE app_x gauge\napp_x{a=\"1\"} 9\napp_x{a=\"3\"} 3\n")
    reg, _ = build("textfile", {"directory": str(tmp_path)})
    fam = next(m for m in reg.collect() if m.name == "app_x")
    assert fam.documentation == "Help one"
    assert samples(reg, "app_x") == {(("a", "1"),): 1.0, (("a", "3"),): 3.0}
    assert reg.get_sample_value("other_y") == 3
    # node_exporter reports a conflict through its gatherer, not as a file read error
    assert reg.get_sample_value("node_textfile_scrape_error") == 0


def test_metric_without_help_names_its_file(tmp_path):
    path = _write(tmp_path, "a.prom", "app_ok 5\n")
    reg, _ = build("textfile", {"directory": str(tmp_path)})
    fam = next(m for m in reg.collect() if m.name == "app_ok")
    assert fam.documentation == f"Metric read from {path}"


def test_no_directory_only_reports_no_error():
    reg, _ = build("textfile")
    assert reg.get_sample_value("node_textfile_scrape_error") == 0
    assert not samples(reg, "node_textfile_mtime_seconds")


def test_missing_directory_is_a_scrape_error(tmp_path):
    reg, _ = build("textfile", {"directory": str(tmp_path / "nope")})
    assert reg.get_sample_value("node_textfile_scrape_error") == 1


def test_directory_glob(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", "x.prom", "app_a 1\n")
    _write(tmp_path / "b", "y.prom", "app_b 2\n")
    reg, _ = build("textfile", {"directory": str(tmp_path / "*")})
    assert (reg.get_sample_value("app_a"), reg.get_sample_value("app_b")) == (1, 2)
    assert reg.get_sample_value("node_textfile_scrape_error") == 0
