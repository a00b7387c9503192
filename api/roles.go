package api

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what an API key may do, chosen when the key is created.
type Role string

// Roles.
const (
	// RoleCollectorSystem is for the collection system that calls the API
	// all day: scoring, worklist, events, account views.
	RoleCollectorSystem Role = "collector-system"
	// RoleAnalyst adds read access to models.
	RoleAnalyst Role = "analyst"
	// RoleManager reads: account views, the worklist and reports.
	RoleManager Role = "manager"
	// RoleAdmin may do everything, including activating a model and
	// reading /metrics when it is protected.
	RoleAdmin Role = "admin"
)

// Permission is one capability checked by an endpoint.
type Permission string

// Permissions.
const (
	PermScore        Permission = "score"         // POST /v1/score
	PermAccounts     Permission = "accounts:read" // GET /v1/accounts/{id}
	PermWorklist     Permission = "worklist:read" // GET /v1/worklist
	PermEvents       Permission = "events:write"  // POST /v1/events
	PermModelsRead   Permission = "models:read"   // GET /v1/models
	PermModelsManage Permission = "models:manage" // POST /v1/models/{version}/activate
	PermReports      Permission = "reports:read"  // report endpoints (none yet)
	PermMetrics      Permission = "metrics:read"  // GET /metrics when Options.ProtectMetrics
)

// RolePermissions is the one role → permission table. Handlers name the
// permission they need; nothing else decides access.
var RolePermissions = map[Role][]Permission{
	RoleCollectorSystem: {PermScore, PermAccounts, PermWorklist, PermEvents},
	RoleAnalyst:         {PermScore, PermAccounts, PermWorklist, PermEvents, PermModelsRead},
	RoleManager:         {PermAccounts, PermWorklist, PermReports},
	RoleAdmin: {PermScore, PermAccounts, PermWorklist, PermEvents, PermModelsRead, PermModelsManage,
		PermReports, PermMetrics},
}

// Roles lists the roles in a stable order.
func Roles() []Role {
	return []Role{RoleCollectorSystem, RoleAnalyst, RoleManager, RoleAdmin}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := RolePermissions[r]; return ok }

// Allows reports whether r grants p.
func (r Role) Allows(p Permission) bool { return slices.Contains(RolePermissions[r], p) }

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		names := make([]string, 0, len(RolePermissions))
		for _, r := range Roles() {
			names = append(names, string(r))
		}
		return "", fmt.Errorf("unknown role %q (want one of %s)", s, strings.Join(names, ", "))
	}
	return r, nil
}
