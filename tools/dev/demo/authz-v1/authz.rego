# Demo zone policy, version 1: callers may read the API; nothing else is allowed.
package caracal.authz

import rego.v1

policy := {"id": "demo-api-access", "version": "1"}

default result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "demo-api-access", "version": "1"}],
	"diagnostics": [{"code": "not_granted", "message": "Only reads are granted."}],
}

result := {
	"decision": "allow",
	"evaluation_status": "complete",
	"determining_policies": [policy],
	"diagnostics": [{"code": "read_granted", "message": "Reads are granted."}],
} if {
	input.context.requested_scopes == ["read"]
}
