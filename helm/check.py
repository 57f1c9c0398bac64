"""Checks the dealernet chart offline, with the Helm v4 library (helm-python-sdk) and
kubernetes-validate: run by helm/check.sh inside its venv, from the repository root.

1. helm lint --strict with every value set in helm/ci/*.yaml;
2. render the chart with each set and validate every object strictly (unknown fields
   refused) against the Kubernetes 1.33 schemas, with kubernetes-validate's validate()
   (what `kubernetes-validate --strict -k 1.33.0` runs per object; called directly so
   that a kind without a schema fails instead of only warning); ServiceMonitor, a CRD,
   against the small schema in helm/ci/schemas/;
3. invariants of the rendered objects (below);
4. every set in helm/ci/invalid/ must be refused, with the error its first line names;
5. values.schema.json and values.yaml list the same settings.

The rendered manifests are left in target/helm/<set>.yaml for reading.
"""

import json
import re
import sys
from pathlib import Path

import helm_python as helm
import jsonschema
import yaml
from kubernetes_validate import utils as kube

CHART = Path("helm/dealernet")
SETS = Path("helm/ci")
OUT = Path("target/helm")
KUBE_VERSION = "1.33.0"
RELEASE, NAMESPACE = "dn", "dealernet"
BACKENDS = ["customers", "vehicles", "callcenter", "dealers"]
# Kinds that are not part of Kubernetes: validated against our own small schema.
CRD_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): SETS / "schemas/servicemonitor-v1.json"}

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def lint(name, values):
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    for m in report["messages"]:
        # Severity 1 is INFO ("icon is recommended"); strict makes warnings errors.
        if m["severity"] >= 2:
            fail(f"lint {name}", f"{m['path']}: {m['error'].strip()}")
    for e in report["errors"]:
        fail(f"lint {name}", e.strip())


def render(chart, values):
    """The objects the chart makes, hooks included, and the text of NOTES.txt."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects, notes = [], ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects += [o for o in yaml.safe_load_all(text) if o]
    return objects, notes


def validate(name, obj):
    where = f"{name} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    crd = CRD_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))
    try:
        if crd:
            jsonschema.validate(obj, json.loads(crd.read_text()))
        else:
            kube.validate(obj, KUBE_VERSION, strict=True)
    except jsonschema.ValidationError as e:
        fail(where, f"{'.'.join(map(str, e.path))}: {e.message}")
    except kube.SchemaNotFoundError as e:
        fail(where, e.message)


def pod_specs(objects):
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            yield o, o["spec"]["template"]["spec"]


def hook(obj):
    annotations = obj["metadata"].get("annotations", {})
    if "helm.sh/hook" not in annotations:
        return None
    return int(annotations.get("helm.sh/hook-weight", "0")), annotations["helm.sh/hook"]


def check_invariants(name, objects, values):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    gateway_tls = bool(values.get("gateway", {}).get("tls", {}).get("secretName"))

    if sorted(deployments) != sorted(f"{RELEASE}-{c}" for c in BACKENDS + ["gateway"]):
        fail(name, f"Deployments {sorted(deployments)}: want one per backend and the gateway")

    # Every container: non-root, read-only root filesystem, no privilege escalation,
    # no capabilities, RuntimeDefault seccomp; /tmp writable.
    for o, spec in pod_specs(objects):
        pod = spec.get("securityContext", {})
        for c in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name} {o['kind']}/{o['metadata']['name']} {c['name']}"
            sc = {**pod, **c.get("securityContext", {})}
            if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
                fail(where, "may run as root")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(where, "root filesystem is writable")
            if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                fail(where, "allowPrivilegeEscalation is not false")
            if "ALL" not in c.get("securityContext", {}).get("capabilities", {}).get("drop", []):
                fail(where, "capabilities are not all dropped")
            if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                fail(where, "seccomp is not RuntimeDefault")
            if not any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", [])):
                fail(where, "no /tmp volume")

    # Every serving container: gRPC probes on 50051 (TCP for the gateway with TLS: the
    # kubelet's gRPC probe has no TLS), ports grpc and metrics, config and secret
    # checksums, and service URLs that name a Service of the release.
    for dname, d in deployments.items():
        tpl = d["spec"]["template"]
        c = tpl["spec"]["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe, {})
            tcp = dname.endswith("-gateway") and gateway_tls
            ok = p.get("tcpSocket") == {"port": "grpc"} if tcp else p.get("grpc", {}).get("port") == 50051
            if not ok:
                fail(f"{name} {dname}", f"{probe} is not a {'TCP' if tcp else 'gRPC'} probe of the gRPC port")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        if ports != {"grpc": 50051, "metrics": 9464}:
            fail(f"{name} {dname}", f"ports {ports}")
        wanted = {"checksum/config"} | ({"checksum/secret"} if not values.get("existingSecret") else set())
        if not wanted <= set(tpl["metadata"].get("annotations", {})):
            fail(f"{name} {dname}", f"pod annotations lack {wanted}")
        config = by_kind["ConfigMap"][c["envFrom"][0]["configMapRef"]["name"]]["data"]
        urls = {k: v for k, v in config.items() if k.endswith("_URL")}
        if dname.endswith("-gateway") and len(urls) != 4:
            fail(f"{name} {dname}", f"the gateway needs all four service URLs, has {sorted(urls)}")
        for key, url in urls.items():
            host = url.removeprefix("http://").removesuffix(":50051")
            if host not in services or not url.endswith(":50051"):
                fail(f"{name} {dname}", f"{key}={url} names no Service of the release")

    # Hooks run before the release's other objects exist: the migrations Job may read
    # only hook objects of a lower weight, or objects the chart does not make
    # (existingSecret), and not the chart's ServiceAccount.
    job = by_kind.get("Job", {}).get(f"{RELEASE}-migrations")
    if job:
        weight, events = hook(job) or (0, "")
        if not {"pre-install", "pre-upgrade"} <= set(events.split(",")):
            fail(name, "the migrations Job is not a pre-install,pre-upgrade hook")
        spec = job["spec"]["template"]["spec"]
        if spec.get("serviceAccountName") in by_kind.get("ServiceAccount", {}):
            fail(name, "the migrations Job uses the chart's ServiceAccount, made after hooks run")
        secrets = by_kind.get("Secret", {})
        read = {env["valueFrom"]["secretKeyRef"]["name"] for c in spec["containers"]
                for env in c.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})}
        for secret in sorted(read & set(secrets)):
            h = hook(secrets[secret])
            if h is None or h[0] >= weight:
                fail(name, f"the migrations Job reads Secret {secret}, which is no earlier hook")
        if sorted(c["args"][-1] for c in spec["containers"]) != sorted(BACKENDS + ["gateway"]):
            fail(name, "the migrations Job does not migrate every component")

    # NetworkPolicies: only the gateway's admits anyone, and only on its gRPC port.
    for pname, p in by_kind.get("NetworkPolicy", {}).items():
        for rule in p["spec"].get("ingress", []):
            sources = rule.get("from", [])
            anyone = not sources or any(
                s.get("ipBlock", {}).get("cidr") in ("0.0.0.0/0", "::/0")
                or ("namespaceSelector" in s and not any(s["namespaceSelector"].values())
                    and not any(s.get("podSelector", {}).values()))
                for s in sources)
            ports = [pt.get("port") for pt in rule.get("ports", [])]
            if anyone and (not pname.endswith("-gateway") or ports != ["grpc"]):
                fail(f"{name} NetworkPolicy/{pname}", f"admits anyone on {ports or 'every port'}")

    # The ServiceMonitor selects a Service with a metrics port.
    for mname, m in by_kind.get("ServiceMonitor", {}).items():
        selector = m["spec"]["selector"]["matchLabels"]
        targets = [s for s in services.values()
                   if selector.items() <= s["metadata"]["labels"].items()
                   and any(p["name"] == "metrics" for p in s["spec"]["ports"])]
        if not targets:
            fail(f"{name} ServiceMonitor/{mname}", "selects no Service with a metrics port")
        for d in deployments.values():
            if not any(t["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
                       for t in targets):
                fail(f"{name} ServiceMonitor/{mname}", f"does not reach the pods of {d['metadata']['name']}")

    # Every HPA scales a Deployment that leaves its replica count to it.
    for hname, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = deployments.get(h["spec"]["scaleTargetRef"]["name"])
        if target is None or "replicas" in target["spec"]:
            fail(f"{name} HPA/{hname}", "its Deployment is missing or fixes replicas")


def check_schema_matches_values(chart):
    """Every settings object of values.schema.json (closed, all keys required) lists
    exactly the keys values.yaml has: the schema refuses keys it does not list, this
    catches the other direction. Shapes with optional fields (a LabelSelector,
    resources) are not settings objects."""
    schema = chart.schema

    def walk(node, values, where):
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].split("/")[-1]] | {k: v for k, v in node.items() if k != "$ref"}
        if node.get("additionalProperties") is False and "required" in node and isinstance(values, dict):
            if set(node["properties"]) != set(values):
                fail("values.schema.json", f"{where or '/'}: schema has {sorted(set(node['properties']) - set(values))}"
                     f" beyond values.yaml, values.yaml has {sorted(set(values) - set(node['properties']))} beyond it")
            for key, sub in node["properties"].items():
                if key in values:
                    walk(sub, values[key], f"{where}/{key}")

    walk(schema, chart.values, "")


def main():
    chart = helm.Chart.load(CHART)
    OUT.mkdir(parents=True, exist_ok=True)
    check_schema_matches_values(chart)
    sets = sorted(SETS.glob("*.yaml"))
    good = 0
    for path in sets:
        name = path.stem
        before = len(failures)
        values = yaml.safe_load(path.read_text()) or {}
        lint(name, values)
        try:
            objects, notes = render(chart, values)
        except helm.HelmError as e:
            fail(name, f"does not render: {e}")
            continue
        (OUT / f"{name}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False) + "---\n# NOTES.txt\n"
                                          + "".join(f"# {line}\n" for line in notes.splitlines()))
        for obj in objects:
            validate(name, obj)
        check_invariants(name, objects, values)
        if len(failures) == before:
            good += 1
            kinds = sorted({o["kind"] for o in objects})
            crds = sorted({f"{kind} against {path}" for (_, kind), path in CRD_SCHEMAS.items() if kind in kinds})
            print(f"ok   {name}: lint clean, {len(objects)} objects valid ({', '.join(kinds)})"
                  + "".join(f"; {c}" for c in crds))

    refused = 0
    for path in sorted((SETS / "invalid").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        expected = first.removeprefix("# expect:").strip()
        if not first.startswith("# expect:") or not expected:
            fail(path.name, "the first line must be '# expect: <part of the error>'")
            continue
        try:
            render(chart, yaml.safe_load(path.read_text()))
            fail(f"invalid/{path.stem}", "rendered, but must be refused")
        except helm.HelmError as e:
            message = " ".join(str(e).split())
            if expected not in message:
                fail(f"invalid/{path.stem}", f"refused for another reason: {message}")
            else:
                refused += 1
                reason = re.sub(r"^.*(chart\(s\): dealernet: |execution error at \([^)]*\): )", "", message)
                print(f"ok   invalid/{path.stem} refused: {reason}")

    for f in failures:
        print(f"FAIL {f}")
    print(f"chart: {good} of {len(sets)} value sets valid, {refused} invalid sets refused, "
          f"{len(failures)} problems")
    return 1 if failures or not sets or not refused else 0


if __name__ == "__main__":
    sys.exit(main())
