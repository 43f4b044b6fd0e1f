"""URLs, headers and tokens are checked before any request: a bad one is exit 2 with one line naming where it
came from (flag, variable, FILE:LINE), the secret masked or left out — never a traceback quoting it."""
from __future__ import annotations

import pytest

from ..conftest import advisor

PASSWORD_START, PASSWORD_END = "s3cr", "tpw-42"


def one_line_exit_2(r, *needles: str, secrets: tuple[str, ...] = ()) -> None:
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("advisor: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.output
    for n in needles:
        assert n in r.stderr, r.stderr
    for s in secrets:
        assert s not in r.output, r.output


@pytest.mark.parametrize("sep", ["#", "/", "?"])
def test_a_password_with_a_reserved_character_is_masked_from_every_source(tmp_path, sep):
    password = f"{PASSWORD_START}{sep}{PASSWORD_END}"
    url = f"http://admin:{password}@127.0.0.1:9090"
    masked = "http://admin:***@127.0.0.1:9090"
    secrets = (PASSWORD_START, PASSWORD_END)

    one_line_exit_2(advisor("run", "--prometheus", url), "--prometheus", masked, "percent-encoded", secrets=secrets)
    one_line_exit_2(advisor("run", env={"PERFADVISOR_PROMETHEUS_URL": url}), "PERFADVISOR_PROMETHEUS_URL", masked,
                    secrets=secrets)
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text(f"concurrency: 2\nprometheus:\n  retries: 0\n  url: '{url}'\n")
    one_line_exit_2(advisor("run", "--config", str(cfg)), f"{cfg}:4: prometheus.url", masked, secrets=secrets)
    one_line_exit_2(advisor("query", "--prometheus", url, "up"), "--prometheus", masked, secrets=secrets)


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:99999", "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:0", "port must be a number from 1 to 65535"),
    ("http://[::zz]:9090", "malformed IPv6 address"),
    ("http://[::1:9090", "malformed IPv6 address"),
    ("http://admin:pw@127.0.0.1:90x0", "port is not a number"),
    ("http://127.0.0.1:9090/\nX-Injected: 1", "control character"),
])
def test_malformed_urls_are_usage_errors(url, reason):
    one_line_exit_2(advisor("run", "--prometheus", url), "--prometheus", reason, secrets=("pw@",))
    one_line_exit_2(advisor("query", "--prometheus", url, "up"), "--prometheus", reason)


def test_a_token_with_a_trailing_newline_is_sent_without_it(fake_api, tmp_path):
    """Kubernetes secrets put in variables or files often end with a newline."""
    api = fake_api("500")
    r = advisor("run", "--prometheus", api.url, env={"PERFADVISOR_PROMETHEUS_TOKEN": "tok-123\n"})
    assert r.exit_code == 3, r.output
    assert api.requests[-1][1]["Authorization"] == "Bearer tok-123"
    token = tmp_path / "token"
    token.write_bytes(b"tok-456\r\n")
    r = advisor("query", "--prometheus", api.url, "up", env={"PERFADVISOR_PROMETHEUS_TOKEN_FILE": str(token)})
    assert r.exit_code == 3, r.output
    assert api.requests[-1][1]["Authorization"] == "Bearer tok-456"
    assert "tok-" not in r.output


def test_a_token_with_a_line_break_inside_is_refused_unseen(tmp_path):
    secret = "tok-abc\nX-Evil: 1"
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9",
                            env={"PERFADVISOR_PROMETHEUS_TOKEN": secret}),
                    "PERFADVISOR_PROMETHEUS_TOKEN", "line break", secrets=("tok-abc", "X-Evil"))
    token = tmp_path / "token"
    token.write_text(secret + "\n")
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9",
                            env={"PERFADVISOR_PROMETHEUS_TOKEN_FILE": str(token)}),
                    f"bearer token file {token}", secrets=("tok-abc", "X-Evil"))
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text("prometheus:\n  url: http://127.0.0.1:9\n  bearer_token: \"tok-abc\\r\\nX-Evil: 1\"\n")
    one_line_exit_2(advisor("run", "--config", str(cfg)), f"{cfg}:3: prometheus.bearer_token",
                    secrets=("tok-abc", "X-Evil"))
    one_line_exit_2(advisor("query", "--prometheus", "http://127.0.0.1:9", "up",
                            env={"PERFADVISOR_PROMETHEUS_TOKEN": secret}),
                    "PERFADVISOR_PROMETHEUS_TOKEN", secrets=("tok-abc", "X-Evil"))


def test_headers_with_line_breaks_are_refused_unseen(tmp_path):
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9",
                            "--header", "Authorization: Bearer hdr-secret\r\n"),
                    "--header", "Authorization", "line break", secrets=("hdr-secret",))
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9",
                            "--header", "X-Scope-OrgID: team\r\nX-Evil: hdr-secret"),
                    "--header", "X-Scope-OrgID", secrets=("hdr-secret",))
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9", "--header", "Bearer hdr-secret"),
                    "--header", secrets=("hdr-secret",))
    one_line_exit_2(advisor("run", "--prometheus", "http://127.0.0.1:9", "--header", "Bad Name: x"),
                    "invalid header name")
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text("prometheus:\n  url: http://127.0.0.1:9\n  headers:\n    X-Scope-OrgID: team-a\n"
                   "    Authorization: \"Bearer hdr-secret\\n\"\n")
    one_line_exit_2(advisor("run", "--config", str(cfg)), f"{cfg}:5: prometheus.headers.Authorization",
                    secrets=("hdr-secret",))


def test_valid_inputs_still_reach_the_server(fake_api, tmp_path):
    api = fake_api("500")
    url = api.url.replace("http://", "http://ad%3Amin:p%23w%2Fd@")
    r = advisor("run", "--prometheus", url, "--header", "X-Scope-OrgID:  tenant-7 ")
    assert r.exit_code == 3, r.output
    headers = api.requests[-1][1]
    assert headers["X-Scope-OrgID"] == "tenant-7"
    import base64
    assert base64.b64decode(headers["Authorization"].split()[1]) == b"ad:min:p#w/d"
    assert "p%23w" not in r.output and "ad%3Amin" not in r.output
