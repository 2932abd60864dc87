# Demo zone policy, version 2: reads stay allowed; a read must also name a
# principal (it always does through the Gateway). Writes stay denied.
package caracal.authz

import rego.v1

policy := {"id": "demo-api-access", "version": "2"}

default result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "demo-api-access", "version": "2"}],
	"diagnostics": [{"code": "not_granted", "message": "Only reads by a known principal are granted."}],
}

result := {
	"decision": "allow",
	"evaluation_status": "complete",
	"determining_policies": [policy],
	"diagnostics": [{"code": "read_granted", "message": "Reads are granted."}],
} if {
	input.context.requested_scopes == ["read"]
	input.principal.id != ""
}
