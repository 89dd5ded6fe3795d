// Validates Kubernetes objects against the API's published OpenAPI schemas of two minor
// versions, and ServiceMonitors against the Prometheus Operator's CRD schema, with the
// validators that the npm packages in package.json generate from those schemas.
//
//   node validate.mjs [MINOR...] < objects.json     # MINOR: 1.33, 1.36 (default: both)
//
// Input: a JSON array of objects (what `helm template` renders). Output: one JSON line per
// object and Kubernetes version, {"version", "apiVersion", "kind", "name", "error"}, where
// error is null when the object is valid. An apiVersion/kind without a schema is
// an error too, never a silent pass. Exit 0 when every object is valid in every version.
import { readFileSync } from "node:fs";

// Kubernetes minor -> the package (an npm alias of kubernetes-models) built from its schemas.
const VERSIONS = { "1.33": "k8s-1.33", "1.36": "k8s-1.36" };

// Groups that are CRDs, not part of the Kubernetes API: the same schema in every version.
const CRDS = { "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator" };

async function modelOf(pkg, apiVersion, kind) {
  const dir = CRDS[apiVersion] || pkg;
  let mod;
  try {
    mod = await import(`${dir}/${apiVersion}/index.js`);
  } catch {
    try {
      mod = await import(`${dir}/${apiVersion}`);
    } catch {
      return null;
    }
  }
  return typeof mod[kind] === "function" && mod[kind].kind === kind ? mod[kind] : null;
}

function message(err) {
  const details = (err.details || []).map((d) => `${d.instancePath || "/"} ${d.message}`);
  return details.length ? details.join("; ") : String(err.message || err);
}

async function check(pkg, obj) {
  const Model = await modelOf(pkg, obj.apiVersion, obj.kind);
  if (!Model) return `${obj.apiVersion} ${obj.kind} has no schema here`;
  try {
    new Model(obj).validate();
    return null;
  } catch (err) {
    return message(err);
  }
}

const wanted = process.argv.slice(2);
for (const v of wanted) {
  if (!VERSIONS[v]) {
    console.error(`validate.mjs: no schemas for Kubernetes ${v} (have ${Object.keys(VERSIONS).join(", ")})`);
    process.exit(2);
  }
}
const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const version of wanted.length ? wanted : Object.keys(VERSIONS)) {
  const pkg = VERSIONS[version];
  for (const obj of objects) {
    const error = await check(pkg, obj);
    if (error) failed++;
    const name = obj.metadata && obj.metadata.name;
    console.log(JSON.stringify({ version, apiVersion: obj.apiVersion, kind: obj.kind, name, error }));
  }
}
process.exit(failed ? 1 : 0);
