// Package umami holds UmamiAI's domain: the types every other package speaks
// (organizations, API keys, agents, versions, runs), the application error
// type and its codes, job arguments, and the Store/Tx interfaces that the
// SQLite and PostgreSQL adapters implement. It imports only the standard
// library.
package umami

import "time"

// Version is the build version, set with -ldflags "-X github.com/umamiai/umami.Version=...".
var Version = "dev"

// Org is a tenant. Every other object belongs to exactly one org.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who signs in to the console. Roles arrive with the console.
type User struct {
	ID           string
	OrgID        string
	Email        string
	PasswordHash string
	Role         string
	CreatedAt    time.Time
}

// Page asks for one page of a newest-first list: at most Limit items whose
// id sorts before After (empty After means from the newest).
type Page struct {
	Limit int
	After string
}
