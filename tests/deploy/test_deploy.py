"""Deployment checks: the Helm chart (helm/cavra) rendered by the real helm, the compose file
(docker/docker-compose.yml) validated by Debian's docker-compose, and the Dockerfile
(docker/Dockerfile) checked statically and its health checks run against a real `cavra serve`.
No Docker engine and no Kubernetes cluster are needed. Debian packages no Dockerfile linter
(hadolint is not in bookworm), hence the static checks here.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/deploy     # what scripts/test.sh runs

helm: CAVRA_HELM, else .tools/bin/helm (scripts/deps.sh test puts it there), else helm on PATH.
The binary for the health-check tests: CAVRA_BIN, else build/cavra.
"""
import base64
import contextlib
import functools
import glob
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHART = os.path.join(REPO, "helm", "cavra")
COMPOSE = os.path.join(REPO, "docker", "docker-compose.yml")
DOCKERFILE = os.path.join(REPO, "docker", "Dockerfile")
CI_VALUES = sorted(os.path.relpath(p, CHART) for p in glob.glob(os.path.join(CHART, "ci", "*.yaml")))
RUNTIME_PACKAGES = {"ca-certificates", "libpq5", "libsqlite3-0", "libjson-c5", "libmicrohttpd12", "libzstd1",
                    "libssl3", "libcurl4", "libyaml-0-2"}


@functools.lru_cache(maxsize=None)
def helm_bin():
    for cand in (os.environ.get("CAVRA_HELM"), os.path.join(REPO, ".tools", "bin", "helm"),
                 shutil.which("helm")):
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.fail("helm not found: run `bash scripts/deps.sh test` (installs it into .tools/bin)",
                pytrace=False)


def helm(*args):
    return subprocess.run([helm_bin(), *args], capture_output=True, text=True, timeout=120)


# What each rendering is called, its helm arguments, and the migration mode it selects.
VARIANTS = {"defaults": ([], "initContainer")}
for _f in CI_VALUES:
    with open(os.path.join(CHART, _f)) as _fh:
        _mode = ((yaml.safe_load(_fh) or {}).get("migrations") or {}).get("mode", "initContainer")
    VARIANTS[_f] = (["-f", os.path.join(CHART, _f)], _mode)
VARIANTS.update({
    # database.url only, in job mode: the hook Job must not wait for an ordinary Secret.
    "job-with-generated-app-url": (
        ["--set", "migrations.mode=job,database.existingSecret=,"
                  "database.url=postgresql://cavra:only-App-pw@db.test:5432/cavra"], "job"),
    "initContainer-with-generated-urls": (
        ["--set", "database.existingSecret=,"
                  "database.url=postgresql://cavra_app:gen-App-pw@db.test:5432/cavra,"
                  "migrations.url=postgresql://cavra_owner:gen-Owner-pw@db.test:5432/cavra,"
                  "database.sslmode=disable"], "initContainer"),
    "auth-none-allowed": (["--set", "auth.mode=none,auth.allowUnauthenticated=true"],
                          "initContainer"),
})


@functools.lru_cache(maxsize=None)
def rendered(variant):
    args, _ = VARIANTS[variant]
    r = helm("template", "rel", CHART, "--namespace", "ns", *args)
    assert r.returncode == 0, f"helm template ({variant}) failed:\n{r.stderr}"
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def pod_spec(doc):
    return doc["spec"]["template"]["spec"] if doc["kind"] in ("Deployment", "Job") else doc["spec"]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def hooks(doc):
    return set(filter(None, (doc["metadata"].get("annotations") or {})
                      .get("helm.sh/hook", "").split(",")))


ALL = list(VARIANTS)


# --- helm lint ------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ALL)
def test_lint_strict(variant):
    args, _ = VARIANTS[variant]
    r = helm("lint", "--strict", CHART, *args)
    assert r.returncode == 0 and "[WARNING]" not in r.stdout and "[ERROR]" not in r.stdout, \
        r.stdout + r.stderr


# --- the rendered manifests -----------------------------------------------------------------

@pytest.mark.parametrize("variant", ALL)
def test_deployment_probes_resources_security(variant):
    docs = rendered(variant)
    deployments = of_kind(docs, "Deployment")
    assert len(deployments) == 1
    for dep in deployments:
        spec = pod_spec(dep)
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        assert spec["enableServiceLinks"] is False
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, c["name"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert "ALL" in sc["capabilities"]["drop"], c["name"]
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", c["name"]
            res = c["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]) and "memory" in res["limits"], c["name"]
        (server,) = [c for c in spec["containers"] if c["name"] == "cavra"]
        assert server["args"] == ["serve"]
        assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert server["startupProbe"]["httpGet"]["path"] == "/healthz"
        # Graceful termination: preStop sleep, then SIGTERM and cavra's drain, all inside the
        # grace period.
        env = env_of(server)
        sleep = int(server["lifecycle"]["preStop"]["exec"]["command"][1])
        drain = int(env["CAVRA_SHUTDOWN_GRACE_SECONDS"]["value"])
        assert spec["terminationGracePeriodSeconds"] > sleep + drain
        assert sleep > 0
        assert env["CAVRA_AUTO_MIGRATE"]["value"] == "false"
        assert env["CAVRA_LISTEN"]["value"].startswith("0.0.0.0:")
        if env["CAVRA_AUTH_MODE"]["value"] == "none":
            assert env["CAVRA_ALLOW_UNAUTHENTICATED"]["value"] == "true"
        else:
            assert env["CAVRA_AUTH_MODE"]["value"] == "oidc"
            assert "CAVRA_OIDC_ISSUER" in env or "CAVRA_OIDC_ISSUERS_FILE" in env
        aff = spec.get("affinity", {}).get("podAntiAffinity")
        assert aff, "no pod anti-affinity"


@pytest.mark.parametrize("variant", ALL)
def test_database_only_from_secrets_never_sqlite(variant):
    docs = rendered(variant)
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        spec = pod_spec(doc)
        for c in spec.get("initContainers", []) + spec["containers"]:
            env = env_of(c)
            for name in ("CAVRA_DATABASE_URL", "CAVRA_MIGRATION_DATABASE_URL"):
                if name in env:
                    assert "value" not in env[name], f"{c['name']}: {name} is a literal"
                    assert env[name]["valueFrom"]["secretKeyRef"]["name"], c["name"]
            for e in c.get("env", []):
                assert not str(e.get("value", "")).startswith("sqlite"), e
        assert not any(m["mountPath"].startswith("/var/lib/cavra")
                       for c in spec["containers"] for m in c.get("volumeMounts", []))
    # The chart never runs a database of its own.
    assert not of_kind(docs, "StatefulSet")
    for dep in of_kind(docs, "Deployment"):
        images = {c["image"] for c in pod_spec(dep)["containers"]}
        assert not any("postgres" in i for i in images), images


@pytest.mark.parametrize("variant", ALL)
def test_migration_step_in_the_chosen_mode(variant):
    _, mode = VARIANTS[variant]
    docs = rendered(variant)
    (dep,) = of_kind(docs, "Deployment")
    spec = pod_spec(dep)
    jobs = of_kind(docs, "Job")
    secrets = {s["metadata"]["name"]: s for s in of_kind(docs, "Secret")}
    if mode == "initContainer":
        assert not jobs
        (init,) = spec["initContainers"]
        migrator = init
    else:
        assert not spec.get("initContainers")
        (job,) = jobs
        assert {"pre-install", "pre-upgrade"} <= hooks(job), job["metadata"]
        (migrator,) = pod_spec(job)["containers"]
        assert pod_spec(job)["restartPolicy"] == "Never"
        # A Secret the hook Job reads that this chart makes must be a hook that runs first.
        ref = env_of(migrator)["CAVRA_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        if ref["name"] in secrets:
            s = secrets[ref["name"]]
            assert {"pre-install", "pre-upgrade"} <= hooks(s)
            weight = int(s["metadata"]["annotations"]["helm.sh/hook-weight"])
            assert weight < int(job["metadata"]["annotations"].get("helm.sh/hook-weight", "0"))
    assert migrator["args"] == ["migrate", "up"]
    assert migrator["image"] == spec["containers"][0]["image"]
    # The server never sees the migration credentials when they are separate.
    mig_ref = env_of(migrator)["CAVRA_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    app_ref = env_of(spec["containers"][0])["CAVRA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    if mig_ref != app_ref and mig_ref["name"] != app_ref["name"]:
        server_refs = json.dumps(spec["containers"])
        assert f'"name": "{mig_ref["name"]}"' not in server_refs


@pytest.mark.parametrize("variant", ALL)
def test_no_secret_value_in_a_configmap_or_env(variant):
    docs = rendered(variant)
    values = []
    for s in of_kind(docs, "Secret"):
        values += [base64.b64decode(v).decode() for v in (s.get("data") or {}).values()]
        values += list((s.get("stringData") or {}).values())
    plain = [v for cm in of_kind(docs, "ConfigMap") for v in (cm.get("data") or {}).values()]
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        spec = pod_spec(doc)
        plain += [str(e.get("value", "")) for c in spec.get("initContainers", []) + spec["containers"]
                  for e in c.get("env", [])]
    for secret in values:
        assert len(secret) >= 8
        for text in plain:
            assert secret not in text
    for text in plain:  # nor any URL with a password in it
        assert not re.search(r"://[^/@\s:]+:[^/@\s]+@", text), text


def test_generated_secrets_hold_the_urls():
    docs = rendered("initContainer-with-generated-urls")
    data = {s["metadata"]["name"]: base64.b64decode(s["data"]["database-url"]).decode()
            for s in of_kind(docs, "Secret")}
    assert data == {"rel-cavra-database": "postgresql://cavra_app:gen-App-pw@db.test:5432/cavra",
                    "rel-cavra-migrations": "postgresql://cavra_owner:gen-Owner-pw@db.test:5432/cavra"}
    assert not any(hooks(s) for s in of_kind(docs, "Secret"))  # initContainer mode: ordinary


def test_defaults():
    docs = rendered("defaults")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Deployment", "NetworkPolicy", "Pod", "PodDisruptionBudget", "Service",
                     "ServiceAccount"], kinds
    (dep,) = of_kind(docs, "Deployment")
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    env = env_of(pod_spec(dep)["containers"][0])
    assert env["CAVRA_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "cavra-database", "key": "database-url"}
    assert env["PGSSLMODE"]["value"] == "verify-full"
    assert env["PGSSLROOTCERT"]["value"] == "/etc/ssl/certs/ca-certificates.crt"
    assert "CAVRA_API_TOKEN_KEY_FILE" not in env  # tokens unsealed unless a Secret is named
    assert "CAVRA_AUDIT_SEAL_KEY_FILE" not in env  # chain entries likewise
    # helm test: a hook Pod that calls /readyz through the Service.
    (test_pod,) = of_kind(docs, "Pod")
    assert hooks(test_pod) == {"test"}
    script = " ".join(test_pod["spec"]["containers"][0]["args"])
    assert "/readyz" in script and "rel-cavra.ns.svc" in script


def test_production_values():
    docs = rendered("ci/production-values.yaml")
    (dep,) = of_kind(docs, "Deployment")
    spec = pod_spec(dep)
    assert "replicas" not in dep["spec"]  # the HPA owns the count
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    (ing,) = of_kind(docs, "Ingress")
    assert ing["spec"]["tls"] and ing["spec"]["rules"][0]["host"] == "cavra.example.com"
    assert of_kind(docs, "ServiceMonitor")
    (cron,) = of_kind(docs, "CronJob")  # the audit checkpoints
    assert cron["metadata"]["name"] == "rel-cavra-audit-checkpoint"
    (np,) = of_kind(docs, "NetworkPolicy")
    assert "Egress" in np["spec"]["policyTypes"]
    server = spec["containers"][0]
    env = env_of(server)
    assert env["PGSSLROOTCERT"]["value"] == "/etc/cavra/postgres-ca/ca.crt"
    assert env["CAVRA_RBAC_FILE"]["value"] == "/etc/cavra/config/rbac.yaml"
    assert env["CAVRA_CONSOLE_CLIENT_SECRET_FILE"]["value"] == "/etc/cavra/console/client-secret"
    assert env["CAVRA_CONSOLE_PUBLIC_URL"]["value"] == "https://cavra.example.com"
    assert env["CAVRA_API_TOKEN_KEY_FILE"]["value"] == "/etc/cavra/api-token-key/api-token-key"
    mounts = {m["mountPath"] for m in server["volumeMounts"]}
    assert {"/etc/cavra/postgres-ca", "/etc/cavra/config", "/etc/cavra/console",
            "/etc/cavra/api-token-key"} <= mounts
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["api-token-key"]["secret"]["secretName"] == "cavra-api-token-key"
    assert dep["spec"]["template"]["spec"]["initContainers"][0]["volumeMounts"][0]["name"] == \
        "postgres-ca"
    assert vols["audit-seal-key"]["secret"]["secretName"] == "cavra-audit-seal-key"
    (cm,) = of_kind(docs, "ConfigMap")
    rbac = yaml.safe_load(cm["data"]["rbac.yaml"])
    assert rbac["groups"]["33333333-3333-3333-3333-333333333333"] == "admin"


# --- values the schema (or the chart) refuses, with the message helm prints -----------------

BAD_VALUES = [
    (["--set", "replicas=two"], "replicas: Invalid type. Expected: integer, given: string"),
    (["--set", "database.existingSecret="],
     "database.existingSecret: String length must be greater than or equal to 1"),
    (["--set", "migrations.mode=cron"],
     'migrations.mode: migrations.mode must be one of the following: "initContainer", "job"'),
    (["--set", "database.url=sqlite:/var/lib/cavra/cavra.db,database.existingSecret="],
     "database.url: Does not match pattern"),
    (["--set", "database.url=postgresql://a:b@db/cavra"], "not both"),
    (["--set", "database.sslmode=on"], "database.sslmode must be one of the following"),
    (["--set", "auth.mode=none"], "auth.mode none: cavra refuses it"),
    (["--set", "oidc.issuer="], "auth.mode oidc needs oidc.issuer and oidc.audience"),
    (["--set", "terminationGracePeriodSeconds=20"],
     "terminationGracePeriodSeconds (20) must be larger than preStopSleepSeconds + "
     "shutdownGraceSeconds (30)"),
    (["--set", "replica=3"], "Additional property replica is not allowed"),
    (["--set", "console.enabled=true"], "console.clientSecret.existingSecret"),
    # values that render but fail at the API or at run time fail at install instead
    (["--set", "autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=3"],
     "autoscaling.minReplicas (5) is larger than autoscaling.maxReplicas (3)"),
    (["--set", "podDisruptionBudget.minAvailable=2"],
     "podDisruptionBudget.minAvailable 2 with 2 pod(s) never allows an eviction"),
    (["--set", "autoscaling.enabled=true,autoscaling.minReplicas=3,podDisruptionBudget.minAvailable=100%"],
     "podDisruptionBudget.minAvailable 100% with 3 pod(s) never allows an eviction"),
    (["--set", "podDisruptionBudget.maxUnavailable=0"],
     "podDisruptionBudget.maxUnavailable 0 never allows an eviction"),
    (["--set", "serviceMonitor.enabled=true"],
     "serviceMonitor.enabled: /metrics needs a token unless metricsPublic is true"),
    (["--set", "console.enabled=true,console.clientSecret.existingSecret=s"],
     "console.enabled needs the URL users reach it at"),
    (["--set", "strategy.type=Blue"], "strategy.type must be one of the following"),
    (["--set", "replicaCount=0"], "replicaCount: Must be greater than or equal to 1"),
    (["--set", "audit.checkpoints.enabled=true,audit.checkpoints.persistentVolumeClaim=c"],
     "audit.checkpoints.enabled needs audit.checkpoints.signingKeySecret.existingSecret"),
    (["--set", "audit.checkpoints.enabled=true,"
               "audit.checkpoints.signingKeySecret.existingSecret=s"],
     "audit.checkpoints.enabled needs audit.checkpoints.persistentVolumeClaim"),
]


@pytest.mark.parametrize("args,message", BAD_VALUES, ids=[" ".join(a[1:]) for a, _ in BAD_VALUES])
def test_bad_values_fail_with_a_clear_message(args, message):
    r = helm("template", "rel", CHART, *args)
    assert r.returncode != 0 and message in r.stderr, r.stderr


# --- chart options that render differently (each a defect found by rendering) ---------------

def render(*args):
    r = helm("template", "rel", CHART, "--namespace", "ns", *args)
    assert r.returncode == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def test_recreate_strategy_has_no_rolling_update():
    (dep,) = of_kind(render("--set", "strategy.type=Recreate"), "Deployment")
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    (dep,) = of_kind(render(), "Deployment")
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_replica_count_is_an_alias_of_replicas():
    (dep,) = of_kind(render("--set", "replicaCount=5"), "Deployment")
    assert dep["spec"]["replicas"] == 5
    (dep,) = of_kind(render("--set", "replicas=3"), "Deployment")
    assert dep["spec"]["replicas"] == 3


def test_job_pod_gets_pod_annotations_and_its_own():
    docs = render("--set", "migrations.mode=job,podAnnotations.a=pod,podAnnotations.b=pod,"
                  "migrations.job.podAnnotations.b=job,"
                  "migrations.job.podAnnotations.sidecar\\.istio\\.io/inject=false")
    (job,) = of_kind(docs, "Job")
    ann = job["spec"]["template"]["metadata"]["annotations"]
    assert ann == {"a": "pod", "b": "job", "sidecar.istio.io/inject": "false"}


MIGRATE_EXTRAS = ["--set-json", 'extraEnv=[{"name":"PGHOST","value":"/proxy"}]',
                  "--set-json", 'extraVolumeMounts=[{"name":"proxy","mountPath":"/proxy"}]',
                  "--set-json", 'extraVolumes=[{"name":"proxy","emptyDir":{}}]']


@pytest.mark.parametrize("mode", ["initContainer", "job"])
def test_migrate_step_gets_extra_env_and_mounts(mode):
    docs = render("--set", f"migrations.mode={mode}", *MIGRATE_EXTRAS)
    (dep,) = of_kind(docs, "Deployment")
    pods = [dep] + of_kind(docs, "Job")
    steps = [c for d in pods for c in pod_spec(d).get("initContainers", []) +
             pod_spec(d)["containers"] if c["name"] == "migrate"]
    assert len(steps) == 1
    assert env_of(steps[0])["PGHOST"]["value"] == "/proxy"
    assert {"name": "proxy", "mountPath": "/proxy"} in steps[0]["volumeMounts"]
    owner = pods[-1] if mode == "job" else dep
    assert {"name": "proxy", "emptyDir": {}} in pod_spec(owner)["volumes"]


@pytest.mark.parametrize("mode", ["initContainer", "job"])
def test_the_seal_key_reaches_the_server_and_the_migrate_step(mode):
    """Both append to the audit chain (the migrate step's adoptions too), so both seal."""
    docs = render("--set", f"migrations.mode={mode}",
                  "--set", "audit.sealKeySecret.existingSecret=cavra-seal")
    (dep,) = of_kind(docs, "Deployment")
    pods = [dep] + of_kind(docs, "Job")
    steps = [(d, c) for d in pods for c in pod_spec(d).get("initContainers", []) +
             pod_spec(d)["containers"] if c["name"] in ("migrate", "cavra")]
    assert sorted(c["name"] for _, c in steps) == ["cavra", "migrate"], steps
    for pod, c in steps:
        assert env_of(c)["CAVRA_AUDIT_SEAL_KEY_FILE"]["value"] == \
            "/etc/cavra/audit-seal-key/audit-seal-key", c["name"]
        assert {"name": "audit-seal-key", "mountPath": "/etc/cavra/audit-seal-key",
                "readOnly": True} in c["volumeMounts"]
        vols = {v["name"]: v for v in pod_spec(pod)["volumes"]}
        assert vols["audit-seal-key"]["secret"]["secretName"] == "cavra-seal"


CHECKPOINTS = ["--set", "audit.checkpoints.enabled=true,"
                          "audit.checkpoints.signingKeySecret.existingSecret=cavra-signing,"
                          "audit.checkpoints.persistentVolumeClaim=cavra-checkpoints"]


def checkpoint_job(*extra):
    (cron,) = of_kind(render(*CHECKPOINTS, *extra), "CronJob")
    job = cron["spec"]["jobTemplate"]["spec"]
    (c,) = job["template"]["spec"]["containers"]
    return cron, job, c


def test_audit_checkpoints_run_as_a_cronjob():
    """`cavra audit checkpoint` on a schedule, one run at a time, with the data role, the signing
    key and the claim mounted, and the seal key when there is one."""
    assert not of_kind(render(), "CronJob")
    cron, job, c = checkpoint_job("--set", "audit.sealKeySecret.existingSecret=cavra-seal")
    assert cron["spec"]["schedule"] == "17 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and job["backoffLimit"] == 0
    spec = job["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    labels = job["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "audit-checkpoint"  # not the Service's pods
    env = env_of(c)
    assert env["CAVRA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "cavra-database"
    assert env["CAVRA_AUDIT_SEAL_KEY_FILE"]["value"] == "/etc/cavra/audit-seal-key/audit-seal-key"
    assert env["SIGNING_KEY"]["value"] == "/etc/cavra/audit-signing-key/signing.pem"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["checkpoints"] == env["CHECKPOINT_DIR"]["value"]
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["checkpoints"]["persistentVolumeClaim"]["claimName"] == "cavra-checkpoints"
    assert vols["audit-signing-key"]["secret"]["secretName"] == "cavra-signing"
    assert vols["audit-seal-key"]["secret"]["secretName"] == "cavra-seal"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    _, _, bare = checkpoint_job()
    assert "CAVRA_AUDIT_SEAL_KEY_FILE" not in env_of(bare)
    assert "audit-seal-key" not in {m["name"] for m in bare["volumeMounts"]}


def run_checkpoint_script(c, env):
    return subprocess.run(["/bin/sh", "-ec", c["args"][0]], env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_cronjobs_script_checks_since_its_newest_file(tmp_path):
    """The rendered script, run with dash against a SQLite database: the first run checks from
    the chain's start, each later one passes the newest file as --after, and a chain cut behind
    its back fails the run (exit 1) and writes nothing."""
    import sqlite3
    exe = cavra_bin()
    _, _, c = checkpoint_job("--set", "audit.sealKeySecret.existingSecret=cavra-seal")
    cpdir, key, seal = tmp_path / "cp", tmp_path / "signing.pem", tmp_path / "seal.key"
    cpdir.mkdir()
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    seal.write_text("s" * 40 + "\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(exe, bindir / "cavra")
    db = f"sqlite:{tmp_path}/cavra.db"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "CAVRA_DATABASE_URL": db,
           "CHECKPOINT_DIR": str(cpdir), "SIGNING_KEY": str(key),
           "CAVRA_AUDIT_SEAL_KEY_FILE": str(seal)}
    r = subprocess.run([exe, "migrate", "up"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = run_checkpoint_script(c, env)
    assert r.returncode == 0 and "checkpoint: seq 0," in r.stdout, r.stdout + r.stderr
    (first,) = sorted(cpdir.iterdir())
    time.sleep(1.1)  # the next file's name is a second later
    for name in ("ci-1", "ci-2"):  # two sealed chain entries
        r = subprocess.run([exe, "tokens", "create", "--name", name, "--role", "agent"], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    r = run_checkpoint_script(c, env)
    assert r.returncode == 0 and "checkpoint: seq 2," in r.stdout, r.stdout + r.stderr
    assert len(list(cpdir.iterdir())) == 2
    # the newest entry cut off and the head moved back: the next run's --after shows it
    with sqlite3.connect(f"{tmp_path}/cavra.db") as con:
        con.execute("DELETE FROM audit_chain WHERE seq = 2")
        con.execute("UPDATE audit_chain_head SET seq = 1, hash = "
                    "(SELECT hash FROM audit_chain WHERE seq = 1)")
    time.sleep(1.1)
    r = run_checkpoint_script(c, env)
    assert r.returncode == 1 and r.stdout.startswith("truncated seq=2 "), r.stdout + r.stderr
    assert "not written: 1 breaks in the chain since --after's checkpoint" in r.stderr, r.stderr
    assert len(list(cpdir.iterdir())) == 2 and first.exists()


def test_sidecars_init_containers_and_extra_objects():
    docs = render(
        "--set", "migrations.mode=job",
        "--set-json", 'extraContainers=[{"name":"proxy","image":"p:1"}]',
        "--set-json", 'extraInitContainers=[{"name":"native","image":"n:1","restartPolicy":"Always"}]',
        "--set-json", 'migrations.job.extraInitContainers=[{"name":"jproxy","image":"p:1","restartPolicy":"Always"}]',
        "--set-json", 'migrations.job.extraContainers=[{"name":"jside","image":"s:1"}]',
        "--set-json", 'extraObjects=[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{ .Release.Name }}-extra"}}]')
    (dep,) = of_kind(docs, "Deployment")
    assert [c["name"] for c in pod_spec(dep)["containers"]] == ["cavra", "proxy"]
    assert [c["name"] for c in pod_spec(dep)["initContainers"]] == ["native"]
    (job,) = of_kind(docs, "Job")
    assert [c["name"] for c in pod_spec(job)["initContainers"]] == ["jproxy"]
    assert [c["name"] for c in pod_spec(job)["containers"]] == ["migrate", "jside"]
    assert "rel-extra" in [d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")]
    # in initContainer mode the extra init containers run before the migration step
    (dep,) = of_kind(render("--set-json", 'extraInitContainers=[{"name":"native","image":"n:1"}]'),
                     "Deployment")
    assert [c["name"] for c in pod_spec(dep)["initContainers"]] == ["native", "migrate"]


def secret_annotations(*args):
    (dep,) = of_kind(render(*args), "Deployment")
    return {k: v for k, v in dep["spec"]["template"]["metadata"]["annotations"].items()
            if k.startswith("checksum/") and k != "checksum/files"}


def test_pods_roll_when_a_chart_made_secret_changes():
    url = "database.existingSecret=,database.url=postgresql://a:{}@db.test:5432/cavra"
    one = secret_annotations("--set", url.format("one"))
    two = secret_annotations("--set", url.format("two"))
    assert set(one) == {"checksum/secrets"} and one != two
    assert secret_annotations() == {}  # the defaults make no Secret
    assert secret_annotations("--set", url.format("one") + ",rollOnSecretChange.chartSecrets=false") == {}
    # external Secrets: opt in; `helm template` has no cluster to look them up in
    ext = secret_annotations("--set", "rollOnSecretChange.externalSecrets=true")
    assert set(ext) == {"checksum/external-secrets"}


def test_long_fullname_keeps_the_job_name_a_valid_label():
    docs = render("--set", "migrations.mode=job,fullnameOverride=" + "a" * 70)
    (job,) = of_kind(docs, "Job")
    assert len(job["metadata"]["name"]) <= 63 and job["metadata"]["name"].endswith("-migrate")


def test_production_values_can_roll_out_with_hard_anti_affinity():
    (dep,) = of_kind(rendered("ci/production-values.yaml"), "Deployment")
    spec = pod_spec(dep)
    assert "requiredDuringSchedulingIgnoredDuringExecution" in spec["affinity"]["podAntiAffinity"]
    # a surge pod would need a node without a cavra pod: take one away first
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    (tsc,) = spec["topologySpreadConstraints"]
    assert tsc["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "cavra", "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/component": "server"}


# --- docker-compose -------------------------------------------------------------------------

def test_compose_config_is_valid():
    exe = shutil.which("docker-compose")
    if not exe:
        pytest.fail("docker-compose not found: run `bash scripts/deps.sh test`", pytrace=False)
    r = subprocess.run([exe, "-f", COMPOSE, "config", "-q"], capture_output=True, text=True,
                       timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def compose_default(value):
    """A compose value with every ${NAME:-default} replaced by its default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_compose_services():
    with open(COMPOSE) as f:
        c = yaml.safe_load(f)
    s = c["services"]
    assert set(s) == {"postgres", "migrate", "idp", "cavra", "test-runner"}
    # users get the official images; docker/smoke.sh may point the variables at stand-ins
    assert compose_default(s["postgres"]["image"]) == "postgres:15-bookworm"
    assert compose_default(s["idp"]["image"]) == "node:20-bookworm-slim"
    assert "pg_isready" in s["postgres"]["healthcheck"]["test"]
    assert s["migrate"]["command"] == ["migrate", "up"]
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert s["cavra"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    env = s["cavra"]["environment"]
    assert env["CAVRA_AUTH_MODE"] == "oidc" and env["CAVRA_OIDC_ISSUER"] == "http://127.0.0.1:9000"
    assert "CAVRA_MIGRATION_DATABASE_URL" not in env  # serve runs with data privileges only
    for name in ("migrate", "cavra"):
        assert s[name]["build"]["dockerfile"] == "docker/Dockerfile" and s[name]["read_only"]
        # both seal the chain entries they write, with the development key
        key = s[name]["environment"]["CAVRA_AUDIT_SEAL_KEY_FILE"]
        assert f"./dev-audit-seal.key:{key}:ro" in s[name]["volumes"], s[name]
    with open(os.path.join(REPO, "docker", "dev-audit-seal.key")) as f:
        assert len(f.readline().strip()) >= 32
    # serve signs checkpoints with the development key into a volume the test-runner reads
    cenv, cvols = s["cavra"]["environment"], s["cavra"]["volumes"]
    assert cenv["CAVRA_AUDIT_CHECKPOINT_DIR"] == "/var/lib/cavra/checkpoints"
    assert f"./dev-audit-signing.pem:{cenv['CAVRA_AUDIT_SIGNING_KEY_FILE']}:ro" in cvols
    assert "cavra-data:/var/lib/cavra" in cvols and "cavra-data" in c["volumes"]
    trenv = s["test-runner"]["environment"]
    assert "cavra-data:/cavra-data:ro" in s["test-runner"]["volumes"]
    assert trenv["CAVRA_SMOKE_CHECKPOINT_DIR"] == "/cavra-data/checkpoints"
    assert trenv["CAVRA_SMOKE_PUBLIC_KEY"] == "/src/docker/dev-audit-signing.pub.pem"
    pub = subprocess.run(["openssl", "pkey", "-in", os.path.join(REPO, "docker",
                                                                 "dev-audit-signing.pem"),
                          "-pubout"], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(REPO, "docker", "dev-audit-signing.pub.pem")) as f:
        assert f.read() == pub  # the public half is the private key's
    # The provider is the test suite's own, not another one.
    assert "../tests/integration/idp:/src:ro" in s["idp"]["volumes"]
    assert "server.mjs" in s["idp"]["command"][-1] and "npm ci" in s["idp"]["command"][-1]
    assert s["cavra"]["network_mode"] == s["test-runner"]["network_mode"] == "service:idp"
    tr = s["test-runner"]
    assert tr["build"]["target"] == "test" and tr["profiles"] == ["test"]
    assert tr["environment"]["CAVRA_TEST_PG_URL"].startswith("postgresql://postgres:")
    assert "@postgres:5432/" in tr["environment"]["CAVRA_TEST_PG_URL"]
    assert tr["environment"]["CAVRA_SMOKE_SEAL_KEY_FILE"] == "/src/docker/dev-audit-seal.key"
    assert "pytest" in tr["command"][-1] and "tests/integration" in tr["command"][-1]
    assert os.path.isfile(os.path.join(REPO, "docker", "smoke.py"))


# --- the Dockerfile -------------------------------------------------------------------------

def dockerfile_stages():
    """[(stage name, base, [(INSTRUCTION, argument text)])], continuation lines joined."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, arg = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", arg.strip(), re.I)
            stages.append((m.group(2), m.group(1), []))
        else:
            assert stages, f"{instr} before FROM"
            stages[-1][2].append((instr, arg.strip()))
    return stages


def test_dockerfile_static():
    stages = dockerfile_stages()
    names = [n for n, _, _ in stages]
    assert names == ["build", "test", "runtime"], names
    for name, base, body in stages:
        assert base in ("debian:bookworm", "debian:bookworm-slim") or base in names, base
        for instr, arg in body:
            if instr == "RUN" and "apt-get install" in arg:
                assert "--no-install-recommends" in arg and "-y" in arg, arg
                assert "rm -rf /var/lib/apt/lists/*" in arg, arg
            if instr == "COPY" and not arg.startswith("--from"):
                for src in shlex.split(arg)[:-1]:
                    assert src == "." or os.path.exists(os.path.join(REPO, src)), src
    build = dict((i, a) for i, a in stages[0][2] if i == "RUN" and "cmake" in a)
    assert "-DCMAKE_BUILD_TYPE=Release" in build["RUN"] and "-DCAVRA_TESTS=OFF" in build["RUN"]
    _, base, runtime = stages[-1]
    assert base == "debian:bookworm-slim"
    instrs = dict(runtime)
    (install,) = [a for i, a in runtime if i == "RUN" and "apt-get install" in a]
    packages = set(re.findall(r"\b(?:lib[\w.+-]+|ca-certificates)\b", install))
    assert packages == RUNTIME_PACKAGES, packages
    assert [a for i, a in runtime if i == "COPY"] == ["--from=build /src/build/cavra /usr/local/bin/cavra"]
    user = instrs["USER"].split(":")
    assert all(u.isdigit() and int(u) > 0 for u in user), instrs["USER"]
    assert json.loads(instrs["ENTRYPOINT"]) == ["cavra"]
    assert json.loads(instrs["CMD"]) == ["serve"]
    assert instrs["ENV"].startswith("CAVRA_LISTEN=0.0.0.0:")
    assert "CMD [" in instrs["HEALTHCHECK"]
    with open(os.path.join(REPO, ".dockerignore")) as f:
        ignored = set(f.read().split())
    assert {".git", ".cavra", "build*", "**/node_modules"} <= ignored


def test_build_stage_copies_enough_to_configure(tmp_path):
    """The build stage's COPYs bring everything CMake needs: configure a tree made of only
    those paths (configure only; the build itself is what scripts/test.sh's build step does)."""
    name, _, body = dockerfile_stages()[0]
    assert name == "build"
    for instr, arg in body:
        if instr == "COPY" and not arg.startswith("--"):
            for src in shlex.split(arg)[:-1]:
                path = os.path.join(REPO, src)
                dst = tmp_path / "src" / src
                if os.path.isdir(path):
                    shutil.copytree(path, dst, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
                else:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, dst)
    r = subprocess.run(["cmake", "-S", str(tmp_path / "src"), "-B", str(tmp_path / "build"),
                        "-DCMAKE_BUILD_TYPE=Release", "-DCAVRA_TESTS=OFF"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def cavra_bin():
    b = os.environ.get("CAVRA_BIN") or os.path.join(REPO, "build", "cavra")
    if not os.access(b, os.X_OK):
        pytest.skip(f"no cavra binary at {b} (build it, or set CAVRA_BIN)")
    return b


def test_runtime_packages_cover_the_binarys_libraries():
    """Every shared library the binary links comes from a runtime package (or libc6)."""
    out = subprocess.run(["readelf", "-d", cavra_bin()], capture_output=True, text=True,
                         check=True).stdout
    needed = [n for n in re.findall(r"\(NEEDED\).*\[(.+?)\]", out)
              # libc6 and the toolchain, or a sanitizer runtime of the test build
              if not re.match(r"lib(asan|ubsan|m|c|pthread|dl|rt|gcc_s|stdc\+\+)\.so", n)]
    assert needed
    found = subprocess.run(["dpkg", "-S"] + [f"*/{n}" for n in needed], capture_output=True,
                           text=True).stdout
    for soname in needed:
        pkgs = {line.split(":")[0] for line in found.splitlines()
                if line.endswith("/" + soname)}
        assert pkgs & RUNTIME_PACKAGES, f"{soname} comes from {pkgs or '?'}, not a runtime package"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_serve():
    """`cavra serve` on the embedded SQLite default in a scratch directory (auth none on
    loopback); yields its port."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="cavra-deploy-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAVRA_")}
    log = open(os.path.join(tmp, "serve.log"), "w")
    proc = subprocess.Popen([cavra_bin(), "serve", "--listen", f"127.0.0.1:{port}"], cwd=tmp,
                            env=env, stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while True:
            assert proc.poll() is None, open(log.name).read()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.time() < deadline, open(log.name).read()
            time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run_check(argv, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=30).returncode


def test_image_healthcheck_against_a_live_server(live_serve):
    """The Dockerfile's HEALTHCHECK command, run as Docker would (exec form): the image's
    cavra itself, no shell."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    argv = json.loads(re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.M).group(1))
    assert argv == ["cavra", "healthcheck"], argv
    argv[0] = cavra_bin()
    assert run_check(argv, {"CAVRA_LISTEN": f"0.0.0.0:{live_serve}"}) == 0
    assert run_check(argv, {"CAVRA_LISTEN": f"0.0.0.0:{free_port()}"}) != 0


def test_compose_readyz_healthcheck_against_a_live_server(live_serve):
    with open(COMPOSE) as f:
        test = yaml.safe_load(f)["services"]["cavra"]["healthcheck"]["test"]
    assert test == ["CMD", "cavra", "healthcheck", "--ready"], test
    argv = [cavra_bin()] + test[2:]
    assert run_check(argv, {"CAVRA_LISTEN": f"0.0.0.0:{live_serve}"}) == 0
    assert run_check(argv, {"CAVRA_LISTEN": f"0.0.0.0:{free_port()}"}) != 0


def test_helm_test_pod_against_a_live_server(live_serve):
    docs = rendered("defaults")
    (pod,) = of_kind(docs, "Pod")
    c = pod["spec"]["containers"][0]
    script = c["args"][0].replace("rel-cavra.ns.svc", "127.0.0.1").replace("/80\"", f"/{live_serve}\"")
    assert run_check(c["command"] + [script]) == 0
    script = script.replace("/readyz", "/nothing-here")  # 404: the test fails
    assert run_check(c["command"] + [script]) != 0
