"""deploy/container/: the image built here from a local Debian base and a host-made wheelhouse (no network in the
build) runs the exporter as the DaemonSet's pod spec does, reporting the same host values as the exporter run on
the host, runs `advisor run` against a real Prometheus, and runs as a non-root user."""
from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.exporter import exporter_binary, start_exporter
from tests.support.procs import free_port, wait_http
from tests.support.prometheus import start_prometheus

from .conftest import REPO, objects
from .image import LIMITS, base_image, build_image, podman

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def image() -> str:
    tag = f"localhost/perfadvisor:test-{uuid.uuid4().hex[:8]}"
    build_image(base_image(), tag)
    yield tag
    subprocess.run([*podman(), "rmi", "-f", tag], capture_output=True)


@contextlib.contextmanager
def container(*args: str):
    """podman run -d …; the container is removed afterwards."""
    name = f"perfadvisor-test-{uuid.uuid4().hex[:8]}"
    r = subprocess.run([*podman(), "run", "-d", "--name", name, *LIMITS, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        yield name
    finally:
        subprocess.run([*podman(), "rm", "-f", "-t", "5", name], capture_output=True)


def daemonset_run_args(address: str) -> tuple[list[str], list[str]]:
    """The exporter DaemonSet's pod spec as podman flags, and its container args with the listen address moved."""
    (ds,) = objects("DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    flags = []
    for m in c["volumeMounts"]:
        opts = "ro" if m.get("readOnly") else "rw"
        opts += ",rslave" if m.get("mountPropagation") == "HostToContainer" else ""
        flags += ["-v", f"{host[m['name']]}:{m['mountPath']}:{opts}"]
    if spec.get("hostPID"):
        flags.append("--pid=host")
    if spec.get("hostNetwork"):
        flags.append("--network=host")
    sc, csc = spec["securityContext"], c["securityContext"]
    flags += ["--user", f"{sc['runAsUser']}:{sc['runAsGroup']}"]
    if csc.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    flags += [f"--cap-drop={cap}" for cap in csc["capabilities"]["drop"]]
    if csc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    args = [a if not a.startswith("--web.listen-address=") else f"--web.listen-address={address}" for a in c["args"]]
    return flags, args


@pytest.fixture(scope="module")
def exporter_container(image):
    address = f"127.0.0.1:{free_port()}"
    flags, args = daemonset_run_args(address)
    with container(*flags, image, *args) as name:
        try:
            wait_http(f"http://{address}/health/ready", timeout=60)
        except TimeoutError:
            logs = subprocess.run([*podman(), "logs", name], capture_output=True, text=True)
            raise AssertionError(f"exporter container did not get ready:\n{logs.stdout}{logs.stderr}") from None
        yield name, address


def _samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def _scrape(address: str) -> dict[tuple, float]:
    return _samples(requests.get(f"http://{address}/api/metrics", timeout=20).text)


def _one(samples: dict, name: str, **labels) -> float:
    hits = [v for (n, ls), v in samples.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items())]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def _label_values(samples: dict, name: str, label: str) -> set[str]:
    return {dict(ls)[label] for (n, ls) in samples if n == name and label in dict(ls)}


def test_exporter_in_the_container_reports_the_hosts_values(exporter_container, tmp_path):
    _, address = exporter_container
    with start_exporter(tmp_path / "host", exporter_binary(), "--no-collector.textfile",
                        metrics_path="/api/metrics") as host_exporter:
        ours, host = _scrape(address), _scrape(host_exporter.address)
    assert _one(ours, "node_memory_MemTotal_bytes") == _one(host, "node_memory_MemTotal_bytes")
    assert abs(_one(ours, "node_boot_time_seconds") - _one(host, "node_boot_time_seconds")) <= 1
    cpus = _label_values(host, "node_cpu_seconds_total", "cpu")
    assert cpus and _label_values(ours, "node_cpu_seconds_total", "cpu") == cpus
    # the host's root filesystem through --path.rootfs, under its own mountpoint
    assert _one(ours, "node_filesystem_size_bytes", mountpoint="/") == _one(host, "node_filesystem_size_bytes",
                                                                            mountpoint="/")
    # host network: the host's interfaces, not a container's veth
    assert _label_values(ours, "node_network_receive_bytes_total", "device") == \
        _label_values(host, "node_network_receive_bytes_total", "device")
    assert _one(ours, "node_uname_info")  # present
    assert {dict(ls)["release"] for (n, ls) in ours if n == "node_uname_info"} == \
        {dict(ls)["release"] for (n, ls) in host if n == "node_uname_info"}
    # hostPID: the host's processes are grouped (the container alone has one process)
    assert sum(v for (n, _), v in ours.items() if n == "namedprocess_namegroup_num_procs") > 20
    failed = [dict(ls)["collector"] for (n, ls), v in ours.items() if n == "node_scrape_collector_success" and v == 0]
    host_failed = [dict(ls)["collector"] for (n, ls), v in host.items()
                   if n == "node_scrape_collector_success" and v == 0]
    assert sorted(failed) == sorted(host_failed)


def test_container_runs_as_the_non_root_user(image, exporter_container):
    name, _ = exporter_container
    pm = podman()
    user = subprocess.run([*pm, "image", "inspect", "--format", "{{.Config.User}}", image],
                          capture_output=True, text=True).stdout.strip()
    assert user == "perfadvisor"
    pid = subprocess.run([*pm, "inspect", "--format", "{{.State.Pid}}", name], capture_output=True, text=True).stdout
    status = Path(f"/proc/{int(pid)}/status").read_text()  # as the host sees the exporter process
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == ["10001"] * 4
    r = subprocess.run([*pm, "run", "--rm", *LIMITS, image, "id", "-u"], capture_output=True, text=True)
    assert r.stdout.strip() == "10001"  # without the pod spec's --user too


def test_healthcheck_reports_the_exporter_healthy(exporter_container):
    name, _ = exporter_container
    r = subprocess.run([*podman(), "healthcheck", "run", name], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_healthcheck_fails_when_the_server_does_not_answer(image):
    """The healthcheck can fail: with the server stopped (SIGSTOP, the process still there) it reports unhealthy."""
    address = f"127.0.0.1:{free_port()}"
    with container("--network=host", image, "exporter", f"--web.listen-address={address}",
                   "--no-collector.processes") as name:
        wait_http(f"http://{address}/health/live", timeout=60)
        assert subprocess.run([*podman(), "healthcheck", "run", name], capture_output=True).returncode == 0
        # SIGSTOP the server (PID 1 in the container) from the host: the process exists, nothing answers.
        pid = subprocess.run([*podman(), "inspect", "--format", "{{.State.Pid}}", name],
                             capture_output=True, text=True).stdout.strip()
        subprocess.run(["kill", "-STOP", pid], check=True)
        try:
            r = subprocess.run([*podman(), "healthcheck", "run", name], capture_output=True, text=True)
            assert r.returncode != 0 and "unhealthy" in r.stdout + r.stderr
        finally:
            subprocess.run(["kill", "-CONT", pid])


def test_advisor_run_in_the_container_against_prometheus(image, exporter_container, tmp_path):
    _, address = exporter_container
    with start_prometheus(tmp_path / "prom", {"perfadvisor": [address]}) as prom:
        prom.wait_for_series('rate(node_cpu_seconds_total{job="perfadvisor"}[5s])')
        r = subprocess.run([*podman(), "run", "--rm", *LIMITS, "--network=host", image, "advisor", "run",
                            "--prometheus", prom.url, "--rule", "host-*", "--format", "json"],
                           capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["source"]["url"] == prom.url
    assert report["summary"]["rules_total"] > 0
    ids = [f["rule_id"] for f in report["findings"]] + [n["rule_id"] for n in report["not_evaluated"]]
    assert ids and all(i.startswith("host-") for i in ids)


def test_image_carries_the_packs_dashboards_and_alert_rules(image):
    pm = [*podman(), "run", "--rm", *LIMITS, "--network=none", image]
    packs = subprocess.run([*pm, "advisor", "packs", "list"], capture_output=True, text=True)
    assert packs.returncode == 0 and "host" in packs.stdout
    for rel in ("alerting/host.rules.yaml", "alerting/alertmanager.yml", "grafana/dashboards/host.json"):
        r = subprocess.run([*pm, "cat", f"/usr/share/perfadvisor/{rel}"], capture_output=True, text=True)
        assert r.stdout == (REPO / rel).read_text(), rel
    listed = subprocess.run([*pm, "ls", "/usr/share/perfadvisor/grafana/dashboards"], capture_output=True, text=True)
    assert sorted(listed.stdout.split()) == sorted(p.name for p in (REPO / "grafana" / "dashboards").glob("*.json"))


def test_entrypoint_chooses_the_program(image):
    pm = [*podman(), "run", "--rm", *LIMITS, "--network=none", image]
    adv = subprocess.run([*pm, "advisor", "--version"], capture_output=True, text=True)
    assert adv.returncode == 0 and "0.1.0" in adv.stdout
    exp = subprocess.run([*pm, "exporter", "--help"], capture_output=True, text=True)
    assert exp.returncode == 0 and "--path.procfs" in exp.stdout
    bad = subprocess.run([*pm, "exporter", "--no-such-flag"], capture_output=True, text=True)
    assert bad.returncode == 2


def deployment_run_args() -> tuple[list[str], list[str], dict[str, str]]:
    """The advisor Deployment's pod spec as podman flags, its container args and environment."""
    (dep,) = objects("Deployment")
    spec = dep["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    sc, csc = spec["securityContext"], c["securityContext"]
    flags = ["--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--network=host"]
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for m in c["volumeMounts"]:  # an emptyDir writable by the pod's user (podman: U chowns it; mode= is not kept)
        assert m["name"] in empty
        flags += ["--tmpfs", f"{m['mountPath']}:rw,U"]
    if csc.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    flags += [f"--cap-drop={cap}" for cap in csc["capabilities"]["drop"]]
    if csc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    return flags, c["args"], {e["name"]: e["value"] for e in c["env"]}


def test_advisor_serve_container_as_the_deployment_runs_it(image, exporter_container, tmp_path):
    _, address = exporter_container
    flags, args, env = deployment_run_args()
    port = free_port()
    args = [a if not a.startswith("--web.listen-address=") else f"--web.listen-address=127.0.0.1:{port}" for a in args]
    with start_prometheus(tmp_path / "prom", {"perfadvisor": [address]}) as prom:
        env = {**env, "PERFADVISOR_PROMETHEUS_URL": prom.url}
        with container(*flags, *(f"--env={k}={v}" for k, v in env.items()), image, *args) as name:
            try:
                wait_http(f"http://127.0.0.1:{port}/health/ready", timeout=120)
            except TimeoutError as e:
                logs = subprocess.run([*podman(), "logs", name], capture_output=True, text=True)
                raise AssertionError(f"{e}\ncontainer log:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}") from None
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
            assert subprocess.run([*podman(), "healthcheck", "run", name], capture_output=True).returncode == 0
            ls = subprocess.run([*podman(), "exec", name, "ls", str(Path(env["PERFADVISOR_SERVE_STORAGE_PATH"]).parent)],
                                capture_output=True, text=True)
            assert Path(env["PERFADVISOR_SERVE_STORAGE_PATH"]).name in ls.stdout.split()
            subprocess.run([*podman(), "stop", "-t", "30", name], capture_output=True, check=True)
            code = subprocess.run([*podman(), "inspect", "--format", "{{.State.ExitCode}}", name],
                                  capture_output=True, text=True).stdout.strip()
            assert code == "0"  # SIGTERM stops it cleanly
