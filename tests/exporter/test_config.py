"""Config resolution: precedence, collector enablement, per-collector settings, and FILE:LINE errors."""
from __future__ import annotations

import textwrap

import pytest

from perfadvisor.exporter.config import build_config, file_schema
from perfadvisor.exporter.yamlfile import FileError

from .core_support import make_specs

SPECS = make_specs()


def write(tmp_path, text: str):
    p = tmp_path / "exporter.yml"
    p.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(p)


def error(tmp_path, text: str, **explicit) -> str:
    with pytest.raises(FileError) as e:
        build_config(SPECS, explicit, write(tmp_path, text))
    return str(e.value)


def test_defaults():
    c = build_config(SPECS)
    assert (c.listen_address, c.telemetry_path, c.max_requests) == (":3018", "/api/metrics", 40)
    assert c.collectors == ("static", "failing")  # registry defaults
    assert dict(c.collector_settings["static"]) == {"label": "plain", "strict": False}
    assert c.context_for("static").settings["label"] == "plain"
    assert c.host_port == ("", 3018)


def test_file_then_explicit_precedence(tmp_path):
    f = write(tmp_path, """
        web:
          listen_address: 127.0.0.1:9000
          max_requests: 5
        collectors:
          counting: true
          failing: false
        collectors_config:
          static:
            label: from-file
            enabled_paths: [/a, /b]
    """)
    c = build_config(SPECS, {}, f)
    assert (c.listen_address, c.max_requests) == ("127.0.0.1:9000", 5)
    assert c.collectors == ("static", "counting")
    assert c.collector_settings["static"]["label"] == "from-file"
    assert c.collector_settings["static"]["enabled_paths"] == ["/a", "/b"]
    c = build_config(SPECS, {"web_max_requests": 0, "collectors_config_static_label": "from-flag",
                             "collectors_failing": True}, f)
    assert c.max_requests == 0 and c.collector_settings["static"]["label"] == "from-flag"
    assert "failing" in c.collectors


def test_disable_defaults_keeps_explicitly_enabled(tmp_path):
    c = build_config(SPECS, {"disable_default_collectors": True, "collectors_host": True})
    assert c.collectors == ("host",)
    f = write(tmp_path, "disable_default_collectors: true\ncollectors: {static: true}\n")
    assert build_config(SPECS, {}, f).collectors == ("static",)


def test_debug_forces_debug_logging():
    assert build_config(SPECS, {"log_level": "error"}, debug=True).log_level == "debug"


@pytest.mark.parametrize("text,expected", [
    ("web:\n  listen_address: ':1'\n  max_requests: -1\n", "exporter.yml:3: web.max_requests: -1 is less than the minimum of 0"),
    ("web:\n  max_requests: lots\n", "exporter.yml:2: web.max_requests: 'lots' is not of type 'integer'"),
    ("log:\n  level: chatty\n", "exporter.yml:2: log.level: 'chatty' is not one of ['debug', 'info', 'warn', 'error']"),
    ("# top\n# comment\nweb:\n  listen_adress: ':1'\n", "exporter.yml:4: web.listen_adress: unknown field"),
    ("collectors:\n  static: true\n  gpu: true\n",
     "exporter.yml:3: collectors.gpu: unknown collector 'gpu' (known: static, counting, failing, gate, host)"),
    ("collectors_config:\n  nvme: {}\n", "exporter.yml:2: collectors_config.nvme: unknown collector 'nvme'"),
    ("collectors_config:\n  static:\n    limit: 0\n", "exporter.yml:3: collectors_config.static.limit: 0 is less than the minimum of 1"),
    ("collectors_config:\n  static:\n    enabled_paths: [/a, 3]\n",
     "exporter.yml:3: collectors_config.static.enabled_paths[1]: 3 is not of type 'string'"),
    ("web: [1, 2\n", "exporter.yml:2: invalid YAML"),
    ("- just\n- a list\n", "exporter.yml:1: the config file must be a mapping"),
    ("web:\n  listen_address: nowhere\n", "exporter.yml:2: web.listen_address: 'nowhere' is not HOST:PORT"),
])
def test_file_errors_name_file_line_and_field(tmp_path, text, expected):
    message = error(tmp_path, text)
    assert message.startswith(str(tmp_path / "exporter.yml").replace("exporter.yml", "")) and "\n" not in message
    assert expected in message


def test_missing_file(tmp_path):
    with pytest.raises(FileError) as e:
        build_config(SPECS, {}, str(tmp_path / "absent.yml"))
    assert str(e.value) == f"{tmp_path / 'absent.yml'}: cannot read: No such file or directory"


def test_flag_errors_name_the_flag():
    with pytest.raises(FileError) as e:
        build_config(SPECS, {"web_max_requests": -3})
    assert str(e.value) == "--web.max-requests: -3 is less than the minimum of 0"
    with pytest.raises(FileError) as e:
        build_config(SPECS, {"collectors_config_static_limit": 0})
    assert str(e.value) == "--collector.static.limit: 0 is less than the minimum of 1"
    with pytest.raises(FileError) as e:
        build_config(SPECS, {"web_telemetry_path": "metrics"})
    assert str(e.value) == "--web.telemetry-path: must start with /"
    with pytest.raises(FileError) as e:
        build_config(SPECS, {"web_telemetry_path": "/health"})
    assert str(e.value) == "--web.telemetry-path: /health is one of the exporter's own endpoints"


def test_schema_is_assembled_from_collectors():
    schema = file_schema(SPECS)
    assert set(schema["properties"]["collectors"]["properties"]) == set(SPECS)
    assert schema["properties"]["collectors_config"]["properties"]["static"]["properties"]["limit"]["minimum"] == 1


def test_web_config_path_in_file_is_relative_to_the_file(tmp_path):
    f = write(tmp_path, "web:\n  config_file: web.yml\n")
    assert build_config(SPECS, {}, f).web_config_file == str(tmp_path / "web.yml")
    assert build_config(SPECS, {"web_config_file": "web.yml"}, f).web_config_file == "web.yml"  # flags: as given


def test_several_listen_addresses(tmp_path):
    f = write(tmp_path, "web:\n  listen_address:\n    - 127.0.0.1:9100\n    - '[::1]:9100'\n")
    assert build_config(SPECS, {}, f).listen_addresses == ("127.0.0.1:9100", "[::1]:9100")
    c = build_config(SPECS, {"web_listen_address": ("127.0.0.1:1", "127.0.0.1:2")}, f)
    assert c.listen_addresses == ("127.0.0.1:1", "127.0.0.1:2") and c.listen_address == "127.0.0.1:1"
    f = write(tmp_path, "web:\n  listen_address:\n    - 127.0.0.1:9100\n    - nowhere\n")
    assert error(tmp_path, "web:\n  listen_address:\n    - 127.0.0.1:9100\n    - nowhere\n").endswith(
        "exporter.yml:4: web.listen_address[1]: 'nowhere' is not HOST:PORT")
    assert error(tmp_path, "web:\n  listen_address: []\n").endswith(
        "exporter.yml:2: web.listen_address: [] should be non-empty")
