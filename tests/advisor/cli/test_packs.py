"""``advisor packs``: list and show, with parameters from --set and the config file."""
from tests.advisor.conftest import advisor


def test_packs_list_and_show():
    r = advisor("packs", "list")
    assert r.exit_code == 0
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == ["host", "process", "scaling", "cache", "database", "network", "loadbalancer", "runtime"]
    r = advisor("packs", "show", "host", "--set", "cpu_high=0.75")
    assert r.exit_code == 0
    assert "cpu_high (number) = 0.75  (overridden)" in r.stdout
    assert "host-filesystem-fill-up" in r.stdout
    r = advisor("packs", "show", "nosuch")
    assert r.exit_code == 2 and "unknown pack 'nosuch'" in r.stderr


def test_config_file_parameters_and_errors(tmp_path):
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text("parameters:\n  cpu_high: 0.7\n  host:\n    lookback: 2h\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert "cpu_high (number) = 0.7  (overridden)" in r.stdout and "lookback (duration) = 2h" in r.stdout
    cfg.write_text("parameters:\n  host:\n    bogus: 1\n")
    r = advisor("packs", "show", "host", "--config", str(cfg))
    assert r.exit_code == 2 and f"{cfg}: parameters.host: unknown parameter 'bogus'" in r.stderr
    cfg.write_text("prometheus: {url: x\n")
    r = advisor("run", "--config", str(cfg))
    assert r.exit_code == 2 and f"{cfg}:" in r.stderr and "invalid YAML" in r.stderr
