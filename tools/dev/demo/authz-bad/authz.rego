# Demo zone policy, a bad change: reads now require a step-up claim that no
# caller carries. The expected cases (writes are denied) still pass, so it gets
# through validation and simulation; the canaries' reads catch it in stage 1.
package caracal.authz

import rego.v1

policy := {"id": "demo-api-access", "version": "3"}

default result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "demo-api-access", "version": "3"}],
	"diagnostics": [{"code": "step_up_required", "message": "Reads need a step-up."}],
}

result := {
	"decision": "allow",
	"evaluation_status": "complete",
	"determining_policies": [policy],
	"diagnostics": [{"code": "read_granted", "message": "Reads are granted."}],
} if {
	input.context.requested_scopes == ["read"]
	input.context.subject_claims.step_up == true
}
