"""TLS and basic auth from an exporter-toolkit web config file, against a real server over https."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import bcrypt
import pytest
import requests

from perfadvisor.exporter import webconfig
from perfadvisor.exporter.webconfig import BasicAuth
from perfadvisor.exporter.yamlfile import FileError
from tests.support.procs import free_port, need_binary, stop, wait_http

from .core_support import make_specs, running

EXE = str(Path(sys.executable).with_name("perfadvisor-exporter"))
PASSWORD = "s3cret-pässword"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([need_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.crt",
            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "2", "-subj", "/CN=test-ca", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
            "-subj", "/CN=prometheus", cwd=d)
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "client.crt", "-days", "2", cwd=d)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (d / "web.yml").write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    (d / "mtls.yml").write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n"
        "  client_auth_type: RequireAndVerifyClientCert\n")
    return d


def test_https_with_basic_auth(pki):
    with running(make_specs(failing=False), web=webconfig.load(str(pki / "web.yml"))) as s:
        assert s.url.startswith("https://")
        ca = str(pki / "server.crt")
        r = requests.get(s.url + "/metrics", auth=("prometheus", PASSWORD), verify=ca)
        assert r.status_code == 200 and "test_static_value" in r.text
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        for auth in (("prometheus", "wrong"), ("nobody", PASSWORD), None):
            r = requests.get(s.url + "/metrics", auth=auth, verify=ca)
            assert r.status_code == 401
            assert r.headers["WWW-Authenticate"] == 'Basic realm="perfadvisor-exporter"'
            assert "test_static_value" not in r.text
        assert requests.get(s.url + "/health/live", verify=ca).status_code == 200  # probes need no password
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(s.url.replace("https", "http") + "/metrics", timeout=5)


def test_client_certificates(pki):
    with running(make_specs(failing=False), web=webconfig.load(str(pki / "mtls.yml"))) as s:
        ca = str(pki / "server.crt")
        r = requests.get(s.url + "/metrics", verify=ca, cert=(str(pki / "client.crt"), str(pki / "client.key")))
        assert r.status_code == 200
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(s.url + "/metrics", verify=ca, timeout=5)
        # a failed handshake does not take the server down
        assert requests.get(s.url + "/health/live", verify=ca,
                            cert=(str(pki / "client.crt"), str(pki / "client.key"))).status_code == 200


def test_console_script_with_web_config_never_logs_secrets(pki):
    port = free_port()
    proc = subprocess.Popen([EXE, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={pki / 'web.yml'}",
                             "--collector.disable-defaults", "--log.level=debug"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"https://127.0.0.1:{port}"
        wait_http(url + "/health/live", proc=proc, verify=str(pki / "server.crt"))
        r = requests.get(url + "/metrics?token=hunter2", auth=("prometheus", PASSWORD), verify=str(pki / "server.crt"))
        assert r.status_code == 200
        r = requests.get(url + "/metrics", auth=("prometheus", "wrong-one"), verify=str(pki / "server.crt"))
        assert r.status_code == 401
    finally:
        stop(proc)
    out = proc.stdout.read().decode()
    assert "path=/metrics status=200" in out and "status=401" in out
    secret = base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    for leaked in (PASSWORD, "wrong-one", secret, "hunter2", "Authorization"):
        assert leaked not in out


@pytest.mark.parametrize("text,expected", [
    ("tls_server_config:\n  cert_file: a.crt\n", "web.yml:2: tls_server_config: 'key_file' is a required property"),
    ("basic_auth_users:\n  alice: plaintext\n",
     "web.yml:2: basic_auth_users.alice: the password of user 'alice' is not a bcrypt hash (the value is not shown"),
    ("basic_auth_users:\n  alice: 12345\n", "web.yml:2: basic_auth_users.alice: the password of user 'alice' is not"),
    ("basic_auth_users: [hunter2]\n", "web.yml:1: basic_auth_users: must be a mapping of user name to bcrypt hash"),
    ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
     "web.yml:2: tls_server_config.cert_file: cannot load certificate/key: No such file or directory"),
    ("tls_config:\n  cert_file: a\n", "web.yml:1: tls_config: unknown field"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
     "web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file"),
])
def test_invalid_web_config_is_one_line(pki, tmp_path, text, expected):
    for name in ("server.crt", "server.key"):
        (tmp_path / name).write_bytes((pki / name).read_bytes())
    f = tmp_path / "web.yml"
    f.write_text(text)
    with pytest.raises(FileError) as e:
        webconfig.load(str(f))
    assert str(e.value).startswith(str(tmp_path) + "/") and expected in str(e.value)
    for secret in ("plaintext", "12345", "hunter2"):
        assert secret not in str(e.value)


def test_invalid_web_config_exits_2_without_echoing_the_password(tmp_path):
    f = tmp_path / "web.yml"
    f.write_text("basic_auth_users:\n  alice: plaintext-secret\n")
    r = subprocess.run([EXE, "--web.config.file", str(f), "--web.listen-address=127.0.0.1:0"], capture_output=True,
                       text=True, timeout=30, env={**os.environ})
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"{f}:2: basic_auth_users.alice: ")
    assert "'alice'" in r.stderr and "plaintext" not in r.stderr and "secret" not in r.stderr


def test_reload_with_a_plaintext_password_never_logs_it(tmp_path, caplog):
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prom: '{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}'\n")
    with running(make_specs(failing=False), web=webconfig.load(str(web))) as s:
        assert requests.get(s.url + "/health", auth=("prom", "pw")).status_code == 200
        web.write_text("basic_auth_users:\n  prom: plain-hunter2\n")
        assert _wait_until(lambda: requests.get(s.url + "/health", auth=("prom", "pw")).status_code == 200 and any(
            r.getMessage().startswith("web config not reloaded") for r in caplog.records))
    errors = [r.kv["err"] for r in caplog.records if r.getMessage().startswith("web config not reloaded")]
    assert errors[0].startswith(f"{web}:2: basic_auth_users.prom: the password of user 'prom' is not a bcrypt hash")
    assert not [r for r in caplog.records if "hunter2" in r.getMessage() or "hunter2" in str(getattr(r, "kv", ""))]


def test_wrong_password_flood_never_takes_the_authorised_scrapers_slot():
    """60 clients with a wrong password (each a real bcrypt check) while the authorised scraper scrapes with
    --web.max-requests=2: the check runs before the cap, so the scraper is never refused."""
    import http.client
    import threading

    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=10)).decode()
    web = webconfig.WebConfig(users={"prom": hashed.encode()})
    good = {"Authorization": "Basic " + base64.b64encode(b"prom:right").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"prom:wrong").decode()}
    with running(make_specs(failing=False), web=web, web_max_requests=2) as s:
        assert requests.get(s.url + "/metrics", headers=good).status_code == 200  # remembered from here on
        stop, flood_codes = threading.Event(), set()

        def flood() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            while not stop.is_set():
                try:
                    conn.request("GET", "/metrics", headers=bad)
                    r = conn.getresponse()
                    r.read()
                    flood_codes.add(r.status)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            conn.close()

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(60)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            with requests.Session() as scraper:
                codes = [scraper.get(s.url + "/metrics", headers=good, timeout=30).status_code for _ in range(40)]
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert codes == [200] * 40
        assert flood_codes and flood_codes <= {401, 429}
        assert not any(t.is_alive() for t in threads)


def test_bcrypt_checks_beyond_the_bound_are_refused_not_queued():
    auth = BasicAuth({"alice": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))})
    good = "Basic " + base64.b64encode(b"alice:pw").decode()
    assert auth.check(good) is True
    for _ in range(BasicAuth.MAX_CHECKING):  # every bcrypt slot taken by checks in progress
        assert auth._checking.acquire(blocking=False)
    with pytest.raises(webconfig.AuthBusy):
        auth.check("Basic " + base64.b64encode(b"alice:other").decode())
    assert auth.check(good) is True  # a remembered success needs no slot


def test_successful_checks_are_remembered_failures_are_not(monkeypatch):
    auth = BasicAuth({"alice": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))})
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(1) or real(p, h))
    good = "Basic " + base64.b64encode(b"alice:pw").decode()
    bad = "Basic " + base64.b64encode(b"alice:nope").decode()
    assert [auth.check(good) for _ in range(5)] == [True] * 5
    assert len(calls) == 1
    assert [auth.check(bad) for _ in range(3)] == [False] * 3
    assert len(calls) == 4
    assert auth.check("Basic !!notbase64") is False and auth.check("Bearer x") is False and auth.check(None) is False


def _wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_web_config_changes_apply_without_restart(pki, tmp_path, caplog):
    for name in ("server.crt", "server.key", "ca.crt", "ca.key"):
        (tmp_path / name).write_bytes((pki / name).read_bytes())
    web = tmp_path / "web.yml"

    def write(user_password: str, cert: str = "server.crt", key: str = "server.key") -> None:
        hashed = bcrypt.hashpw(user_password.encode(), bcrypt.gensalt(rounds=4)).decode()
        web.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
                       f"basic_auth_users:\n  prometheus: '{hashed}'\n")

    write("first")
    with running(make_specs(failing=False), web=webconfig.load(str(web))) as s:
        server_ca = str(pki / "server.crt")
        assert requests.get(s.url + "/metrics", auth=("prometheus", "first"), verify=server_ca).status_code == 200
        write("second")
        assert _wait_until(lambda: requests.get(s.url + "/metrics", auth=("prometheus", "second"),
                                                verify=server_ca).status_code == 200)
        assert requests.get(s.url + "/metrics", auth=("prometheus", "first"), verify=server_ca).status_code == 401
        # a broken file is logged and the config in force stays
        web.write_text("basic_auth_users: [not, a, map]\n")
        time.sleep(1.2)
        assert requests.get(s.url + "/metrics", auth=("prometheus", "second"), verify=server_ca).status_code == 200
        errors = [r.kv["err"] for r in caplog.records if r.getMessage().startswith("web config not reloaded")]
        assert errors and errors[0].startswith(f"{web}:1: basic_auth_users: ")
        # certificate rotation: new connections get the new certificate (signed here by the test CA)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "new.key", "-out", "new.csr", "-subj",
                "/CN=rotated", "-addext", "subjectAltName=IP:127.0.0.1", cwd=tmp_path)
        openssl("x509", "-req", "-in", "new.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-copy_extensions", "copy", "-out", "new.crt", "-days", "2", cwd=tmp_path)
        write("second", cert="new.crt", key="new.key")
        new_ca = str(tmp_path / "ca.crt")

        def rotated() -> bool:
            try:
                return requests.get(s.url + "/metrics", auth=("prometheus", "second"), verify=new_ca).status_code == 200
            except requests.exceptions.SSLError:
                return False

        assert _wait_until(rotated)
