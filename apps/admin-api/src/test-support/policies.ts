/** A policy result of the given decision, as Rego source (valid against the result schema). */
function resultRule(decision: 'allow' | 'deny', policy: string, condition: string): string {
  return `result := {
	"decision": "${decision}",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "${policy}"}],
	"diagnostics": [],
} if ${condition}
`;
}

/**
 * A valid policy: allows reading `resource://api` when `read` is requested and
 * denies everything else. Valid alone; two copies at different paths conflict
 * (two `default allow` rules in one package), which is how tests build a
 * policy set that is invalid only when merged.
 */
export function baselineRego(policy = 'baseline'): string {
  return `package caracal.authz

import rego.v1

default allow := false

allow if {
	input.resource.identifier == "resource://api"
	"read" in input.context.requested_scopes
}

${resultRule('allow', policy, 'allow')}
${resultRule('deny', policy, 'not allow')}`;
}

/** Malformed Rego: the object on line 6 is never closed. */
export const malformedRego = `package caracal.authz

import rego.v1

result := {
	"decision": "allow",

default x := 1
`;

/** A complete policy in the wrong package. */
export const wrongPackageRego = baselineRego().replace(
  'package caracal.authz',
  'package caracal.other',
);

/** A policy that calls the blocked builtin `http.send`. */
export const blockedBuiltinRego = `package caracal.authz

import rego.v1

default allow := false

allow if {
	response := http.send({"method": "GET", "url": "http://127.0.0.1:1/"})
	response.status_code == 200
}

${resultRule('allow', 'fetcher', 'allow')}
${resultRule('deny', 'fetcher', 'not allow')}`;

/** A policy naming a resource the catalog does not have. */
export const unknownResourceRego = baselineRego().replace(
  'input.resource.identifier == "resource://api"',
  'input.resource.identifier == "resource://missing"',
);
