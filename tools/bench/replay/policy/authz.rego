# A realistic Caracal authorization policy for benchmarks: zone isolation,
# per-application grants, delegation edges that can only narrow what the
# delegating application holds, and step-up for write scopes of task agents.
package caracal.authz

import rego.v1

policy := {"id": "bench-resource-access", "version": "2026-11-01"}

requested := {scope | some scope in input.context.requested_scopes}

# Scopes the principal's application is granted on this resource.
granted := {scope |
	some grant in data.caracal.grants[input.principal.id]
	grant.resource == input.resource.identifier
	some scope in grant.scopes
	scope in input.resource.scopes
}

# A delegation edge narrows the grant to the scopes it carries, and only when it
# names this principal, this resource and a path within the maximum depth; an
# edge that does not qualify grants nothing (never "no edge, so everything").
default delegated := set()

delegated := granted if {
	object.get(input, "delegation_edge", null) == null
}

delegated := granted & {scope | some scope in input.delegation_edge.scopes} if {
	input.delegation_edge.receiver_application_id == input.principal.id
	input.delegation_edge.resource_id == input.resource.id
	count(input.delegation_edge.path) <= data.caracal.limits.max_delegation_depth
}

write_scopes := {scope | some scope in requested; scope in data.caracal.step_up_scopes}

needs_step_up if {
	count(write_scopes) > 0
	input.principal.lifecycle == "task"
	not input.context.challenge_resolved
}

missing := requested - delegated

deny_reasons contains {"code": "zone_mismatch", "message": "Principal belongs to another zone."} if {
	input.principal.zone_id != data.caracal.zone_id
}

deny_reasons contains {"code": "no_scope_requested", "message": "No scope was requested."} if {
	count(requested) == 0
}

deny_reasons contains {"code": "scope_not_granted", "message": msg} if {
	count(missing) > 0
	msg := sprintf("Requested scopes are outside the grant: %s", [concat(", ", sort(missing))])
}

deny_reasons contains {"code": "step_up_required", "message": "Write scopes need a resolved challenge."} if {
	needs_step_up
}

default result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "bench-resource-access", "version": "2026-11-01"}],
	"diagnostics": [{"code": "default_deny", "message": "No rule allowed the request."}],
}

result := {
	"decision": "allow",
	"evaluation_status": "complete",
	"determining_policies": [policy],
	"diagnostics": [{"code": "scope_allowed", "message": "Requested scopes are within the grant."}],
} if {
	count(deny_reasons) == 0
}

result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [policy],
	"diagnostics": sort([reason | some reason in deny_reasons]),
} if {
	count(deny_reasons) > 0
}
