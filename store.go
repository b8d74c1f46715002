package umami

import (
	"context"
	"time"
)

// Store is a database that holds everything the platform knows. The SQLite
// and PostgreSQL adapters implement it; the conformance suite in storetest
// holds them to the same contract.
type Store interface {
	// Update runs fn in one read-write transaction, committed when fn returns
	// nil and rolled back otherwise. Jobs enqueued through the Tx commit or
	// roll back with it.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn with read-only access: writes in fn fail and leave
	// nothing. Each statement sees the latest
	// committed data; statements are not held to one snapshot, so fn must
	// not depend on consistency across them (Update gives that).
	View(ctx context.Context, fn func(Tx) error) error
	// Exec runs fn with write access for operations that are atomic on
	// their own (StartRuns, FinishRuns): SQLite wraps them in its in-process
	// write transaction; PostgreSQL sends each as one autocommit statement,
	// saving the BEGIN and COMMIT round trips. Several calls in fn are not
	// atomic together: use Update for that.
	Exec(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Tx is one transaction. Getters return an *Error with code ENotFound when
// nothing matches, never a nil object and a nil error. Methods that take an
// orgID, or an object that has one, only see and write that org's objects.
// Creating an object whose id (or key hash, or user email) exists is an
// *Error with code EConflict. ListAPIKeys, ListAgents, ListAgentVersions
// and ListRuns are newest first, ListOrgs oldest first; those that take a
// Page resume after Page.After, the id of the last item seen.
type Tx interface {
	CreateOrg(ctx context.Context, o *Org) error
	GetOrg(ctx context.Context, id string) (*Org, error)
	ListOrgs(ctx context.Context) ([]*Org, error)
	CreateUser(ctx context.Context, u *User) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKeyByHash finds a key by the hash of its secret, whatever its state.
	GetAPIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKeys records last-use times, keeping the later of stored and given.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error

	CreateAgent(ctx context.Context, a *Agent) error
	GetAgent(ctx context.Context, orgID, id string) (*Agent, error)
	ListAgents(ctx context.Context, orgID string, p Page) ([]*Agent, error)

	// CreateAgentVersion stores v with the next version number of its agent
	// and sets v.Number.
	CreateAgentVersion(ctx context.Context, v *AgentVersion) error
	GetAgentVersion(ctx context.Context, orgID, id string) (*AgentVersion, error)
	ListAgentVersions(ctx context.Context, orgID, agentID string, p Page) ([]*AgentVersion, error)
	// PublishAgentVersion marks a draft published; it is a no-op on a
	// published version.
	PublishAgentVersion(ctx context.Context, orgID, id string, at time.Time) error

	// CreateRuns stores new runs.
	CreateRuns(ctx context.Context, runs ...*Run) error
	// GetRun finds a run; an empty orgID matches any org (for workers).
	GetRun(ctx context.Context, orgID, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// UpdateRun writes the mutable fields of r (status, output, error, usage,
	// attempt, started_at, completed_at) if it is a run of r.OrgID whose
	// stored status is one of from, and reports whether it did.
	UpdateRun(ctx context.Context, r *Run, from ...string) (bool, error)
	AddRunSteps(ctx context.Context, steps []RunStep) error
	// StartRuns atomically moves each queued or running run of ids to
	// running for a new attempt (attempt+1; started_at set to at if unset)
	// and returns the runs in the order of ids, nil for an id that names no
	// queued or running run. An id given twice is started once: the later
	// occurrences get nil.
	StartRuns(ctx context.Context, at time.Time, ids ...string) ([]*Run, error)
	// FinishRuns atomically writes each run's outcome (as UpdateRun) if its
	// stored status is running and its stored attempt is Run.Attempt (a
	// stale attempt, since resumed elsewhere, does not finish it), and
	// appends its steps (as AddRunSteps). It reports, in order, whether
	// each applied; one that did not wrote nothing. Of finishes of the same
	// run, only the first may apply.
	FinishRuns(ctx context.Context, fs ...RunFinish) ([]bool, error)
	ListRunSteps(ctx context.Context, runID string) ([]RunStep, error)

	// GetIdempotencyKey returns a key recorded at or after since.
	GetIdempotencyKey(ctx context.Context, orgID, key string, since time.Time) (*IdempotencyKey, error)
	// PutIdempotencyKey records k, replacing an expired record of the same
	// key; a live record stays, and the put is an EConflict error.
	PutIdempotencyKey(ctx context.Context, k *IdempotencyKey) error
	DeleteIdempotencyKeys(ctx context.Context, before time.Time) (int, error)

	// EnqueueRuns inserts the jobs that execute runs, in this transaction,
	// and returns the jobs' ids in order.
	EnqueueRuns(ctx context.Context, args ...RunJobArgs) ([]int64, error)
	// CancelJob cancels a queued job and asks a running one to stop.
	CancelJob(ctx context.Context, jobID int64) error
	// ListOrphanedRuns returns runs still queued or running whose job has
	// ended (completed, discarded or cancelled) without finishing them.
	ListOrphanedRuns(ctx context.Context, limit int) ([]*Run, error)
}
