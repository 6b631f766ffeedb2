// validate.mjs - check rendered Kubernetes objects against the Kubernetes OpenAPI schemas.
//
// stdin: a JSON array of objects (tests/helm/run.sh turns the rendered YAML into it).
// Each object is checked with the schema validator that kubernetes-models compiled from
// the Kubernetes OpenAPI document (ServiceMonitor: @kubernetes-models/prometheus-operator,
// from the operator's CRD), with the versions pinned in package-lock.json beside this file.
// Those schemas allow unknown fields, as the API server's non-strict decoding does; the
// API server's strict field validation (kubectl's default) warns about them and
// `--validate=strict` refuses them. So this also reports every field the schema does not
// know: the objects are wrapped in proxies that record which properties the validator
// reads; a property it never reads is one its schema does not define.
//
// Prints one line per object, "ok KIND NAME" or "error KIND NAME: PATH MESSAGE", and exits
// 1 if any object failed, 2 on a usage error.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const k8s = join(here, "node_modules/kubernetes-models/_schemas");
const promop = join(here, "node_modules/@kubernetes-models/prometheus-operator/_schemas");

// apiVersion -> [schema directory, definition name prefix]. A kind the chart starts to
// render must be added here on purpose.
const groups = {
	"v1": [k8s, "IoK8sApiCoreV1"],
	"apps/v1": [k8s, "IoK8sApiAppsV1"],
	"rbac.authorization.k8s.io/v1": [k8s, "IoK8sApiRbacV1"],
	"monitoring.coreos.com/v1": [promop, "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1"],
};

// Wrap @value so that every property read is recorded; @seen maps each wrapped object to
// the set of keys read (null: all of them, when the validator enumerated the keys).
function track(value, path, seen, objects) {
	if (value === null || typeof value !== "object")
		return value;
	const keys = new Set();
	seen.set(value, keys);
	objects.push([value, path]);
	const children = Array.isArray(value) ? value.map((v, i) => track(v, `${path}/${i}`, seen, objects))
		: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, `${path}/${k}`, seen, objects)]));
	const inner = Array.isArray(value) ? children : Object.assign(Object.create(null), children);
	return new Proxy(inner, {
		get(t, k) {
			if (typeof k === "string")
				keys.add(k);
			return Reflect.get(t, k);
		},
		has(t, k) {
			if (typeof k === "string")
				keys.add(k);
			return Reflect.has(t, k);
		},
		ownKeys(t) {
			seen.set(value, null);	/* a map: every key is allowed by additionalProperties */
			return Reflect.ownKeys(t);
		},
		getOwnPropertyDescriptor(t, k) {
			return Reflect.getOwnPropertyDescriptor(t, k);
		},
		getPrototypeOf() {
			return Array.isArray(value) ? Array.prototype : Object.prototype;
		},
	});
}

function describe(e) {
	const where = e.instancePath || "/";
	const p = e.params || {};
	let what = e.message;
	if (!what) {
		switch (e.keyword) {
		case "type": what = `must be ${p.type}`; break;
		case "required": what = `must have property ${p.missingProperty}`; break;
		case "enum": what = `must be one of ${JSON.stringify(p.allowedValues)}`; break;
		case "format": what = `must match format ${p.format}`; break;
		case "pattern": what = `must match pattern ${p.pattern}`; break;
		default: what = `fails ${e.keyword} ${JSON.stringify(p)}`;
		}
	}
	return `${where} ${what}`;
}

async function check(obj) {
	const name = `${obj?.kind ?? "?"} ${obj?.metadata?.name ?? "?"}`;
	const g = groups[obj?.apiVersion];
	if (!g)
		return [name, [`/apiVersion ${JSON.stringify(obj?.apiVersion)} is not one the validator knows (validate.mjs: groups)`]];
	let mod;
	try {
		mod = await import(pathToFileURL(join(g[0], `${g[1]}${obj.kind}.js`)).href);
	} catch {
		return [name, [`/kind ${JSON.stringify(obj.kind)} has no schema in ${obj.apiVersion}`]];
	}
	const seen = new Map(), objects = [];
	const wrapped = track(obj, "", seen, objects);
	const errors = [];
	if (!mod.validate(wrapped))
		errors.push(...(mod.validate.errors || []).map(describe));
	if (errors.length === 0) {
		for (const [o, path] of objects) {
			const read = seen.get(o);
			if (read === null || Array.isArray(o))
				continue;
			for (const k of Object.keys(o))
				if (!read.has(k))
					errors.push(`${path}/${k} is not a field of the schema (unknown field)`);
		}
	}
	return [name, errors];
}

let docs;
try {
	docs = JSON.parse(readFileSync(0, "utf8"));
	if (!Array.isArray(docs))
		throw new Error("not a JSON array");
} catch (e) {
	console.error(`validate.mjs: stdin: ${e.message}`);
	process.exit(2);
}
let failed = 0;
for (const obj of docs) {
	const [name, errors] = await check(obj);
	if (errors.length === 0) {
		console.log(`ok ${name}`);
		continue;
	}
	failed++;
	for (const e of errors)
		console.log(`error ${name}: ${e}`);
}
process.exit(failed ? 1 : 0);
