"""The Helm chart's rendered manifests against the Kubernetes API's published OpenAPI schemas,
for two Kubernetes minor versions, and the ServiceMonitor against the Prometheus Operator's CRD
schema: `helm template --kube-version` for the default values, every helm/cavra/ci/*.yaml and
the other renderings of test_deploy.py, each object checked by tests/deploy/k8s-schemas
(validators generated from those schemas, from npm; scripts/deps.sh test installs them).

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/deploy/test_chart_schemas.py
"""
import json
import os
import shutil
import subprocess

import pytest
import yaml

from test_deploy import CHART, VARIANTS, helm

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s-schemas")
# Kubernetes minor -> the version `helm template --kube-version` renders for.
MINORS = {"1.33": "1.33.0", "1.36": "1.36.0"}


def validate(objects, *minors):
    """[result per object and minor] from validate.mjs, and its exit code."""
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(SCHEMAS, "node_modules", "k8s-1.36")):
        pytest.fail("node or tests/deploy/k8s-schemas/node_modules missing: run "
                    "`bash scripts/deps.sh test`", pytrace=False)
    r = subprocess.run([node, "validate.mjs", *minors], cwd=SCHEMAS, input=json.dumps(objects),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()], r.returncode


@pytest.mark.parametrize("minor", list(MINORS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rendered_objects_match_the_schemas(variant, minor):
    args, _ = VARIANTS[variant]
    r = helm("template", "rel", CHART, "--namespace", "ns", "--kube-version", MINORS[minor], *args)
    assert r.returncode == 0, r.stderr
    objects = [d for d in yaml.safe_load_all(r.stdout) if d]
    results, rc = validate(objects, minor)
    errors = [f"{x['kind']}/{x['name']}: {x['error']}" for x in results if x["error"]]
    assert not errors and rc == 0, "\n".join(errors)
    assert len(results) == len(objects) and {x["version"] for x in results} == {minor}
    if variant == "ci/production-values.yaml":
        assert "ServiceMonitor" in {x["kind"] for x in results}


def test_invalid_objects_are_reported_in_both_minors():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
                               "containers": [{"name": "c", "image": "i",
                                               "ports": [{"containerPort": "8080"}]}]}}}}
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
               "metadata": {"name": "m"}, "spec": {"selector": {}, "endpoints": "http"}}
    unknown = {"apiVersion": "v1", "kind": "NoSuchKind", "metadata": {"name": "u"}}
    results, rc = validate([deployment, monitor, unknown])
    assert rc == 1
    assert {x["version"] for x in results} == set(MINORS)
    by = {(x["version"], x["kind"]): x["error"] or "" for x in results}
    for minor in MINORS:
        assert "containerPort must be integer" in by[(minor, "Deployment")]
        assert "endpoints must be array" in by[(minor, "ServiceMonitor")]
        assert "no schema" in by[(minor, "NoSuchKind")]


def test_an_unknown_minor_is_refused():
    r = subprocess.run(["node", "validate.mjs", "1.20"], cwd=SCHEMAS, input="[]",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no schemas for Kubernetes 1.20" in r.stderr
