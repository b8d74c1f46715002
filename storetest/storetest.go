// Package storetest is the conformance suite every umami.Store must pass.
// The sqlite and postgres packages run it against real databases, so both
// stores keep one contract: tenancy, ordering, pagination, conditional
// updates, idempotency keys, concurrency, the transactional enqueue, and the
// Store's own promises (read-only View, atomic Update, Ping and Close).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/umamiai/umami"
)

// Harness opens fresh, empty stores and peeks at their job queue.
type Harness struct {
	// Open returns a new empty store; the harness closes it at test end.
	Open func(t *testing.T) umami.Store
	// JobState returns the queue state of a job ("available", "completed",
	// ...) or "" when there is no such job.
	JobState func(t *testing.T, s umami.Store, jobID int64) string
	// SetJobState forces a job's state, to simulate River's outcomes.
	SetJobState func(t *testing.T, s umami.Store, jobID int64, state string)
}

// Run runs every case against h.
func Run(t *testing.T, h Harness) {
	cases := map[string]func(*testing.T, Harness){
		"OrgsAndUsers":           testOrgsAndUsers,
		"APIKeys":                testAPIKeys,
		"AgentsTenancy":          testAgentsTenancy,
		"VersionsNumbering":      testVersions,
		"RunsRoundTrip":          testRunsRoundTrip,
		"RunsListOrderAndPages":  testRunsList,
		"RunsConditionalUpdate":  testRunsUpdate,
		"RunSteps":               testRunSteps,
		"IdempotencyKeys":        testIdempotency,
		"EnqueueIsTransactional": testEnqueueTx,
		"CancelJob":              testCancelJob,
		"OrphanedRuns":           testOrphans,
		"ConcurrentWriters":      testConcurrentWriters,
		"NotFoundIsAnError":      testNotFound,
		"StartAndFinish":         testStartAndFinish,
		"BatchedRuns":            testBatchedRuns,
		"FinishStaleAttempt":     testFinishStaleAttempt,
		"ListOrgs":               testListOrgs,
		"ListPagesNewestFirst":   testListPages,
		"APIKeysListedPerOrg":    testAPIKeyList,
		"TouchAPIKeys":           testTouchAPIKeys,
		"TenancyEveryMethod":     testTenancy,
		"DuplicatesConflict":     testDuplicates,
		"UpdateRunFields":        testUpdateRunFields,
		"RunStepsNumberedPerRun": testStepsPerRun,
		"IdempotencyKeyEdges":    testIdempotencyRules,
		"ConcurrentVersions":     testConcurrentVersions,
		"ConcurrentTransitions":  testConcurrentTransitions,
		"ConcurrentStarts":       testConcurrentStarts,
		"ConcurrentRunSteps":     testConcurrentSteps,
		"ConcurrentIdempotency":  testConcurrentIdempotency,
		"PingAndClose":           testPingAndClose,
		"ViewIsReadOnly":         testViewIsReadOnly,
		"ViewSeesLatestCommits":  testViewSeesLatestCommitted,
		"UpdateIsAtomic":         testUpdateIsAtomic,
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, h)
		})
	}
}

var ctx = context.Background()

func id() string { return uuid.Must(uuid.NewV7()).String() }

// now is a fixed-precision clock value (both stores keep microseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func update(t testing.TB, s umami.Store, fn func(umami.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t testing.TB, s umami.Store, fn func(umami.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// fixture is an org with an agent and a published version.
type fixture struct {
	org     *umami.Org
	agent   *umami.Agent
	version *umami.AgentVersion
}

func newFixture(t testing.TB, s umami.Store) fixture {
	t.Helper()
	f := fixture{org: &umami.Org{ID: id(), Name: "org", CreatedAt: now()}}
	f.agent = &umami.Agent{ID: id(), OrgID: f.org.ID, Name: "agent", CreatedAt: now()}
	pub := now()
	f.version = &umami.AgentVersion{ID: id(), AgentID: f.agent.ID, OrgID: f.org.ID, Status: umami.VersionPublished,
		Model: "test/echo", Tools: []string{}, Metadata: map[string]string{}, CreatedAt: now(), PublishedAt: &pub}
	update(t, s, func(tx umami.Tx) error {
		return errors.Join(tx.CreateOrg(ctx, f.org), tx.CreateAgent(ctx, f.agent), tx.CreateAgentVersion(ctx, f.version))
	})
	return f
}

// newAgent adds an agent to f's org and returns a fixture of it, without a
// version.
func (f fixture) newAgent(t *testing.T, s umami.Store) fixture {
	t.Helper()
	g := fixture{org: f.org, agent: &umami.Agent{ID: id(), OrgID: f.org.ID, Name: "agent", CreatedAt: now()}}
	update(t, s, func(tx umami.Tx) error { return tx.CreateAgent(ctx, g.agent) })
	return g
}

// newVersion adds a draft version to f's agent.
func (f fixture) newVersion(t *testing.T, s umami.Store) *umami.AgentVersion {
	t.Helper()
	v := &umami.AgentVersion{ID: id(), AgentID: f.agent.ID, OrgID: f.org.ID, Status: umami.VersionDraft,
		Model: "test/echo", Tools: []string{}, Metadata: map[string]string{}, CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateAgentVersion(ctx, v) })
	return v
}

// newKey creates an API key of an org.
func newKey(t *testing.T, s umami.Store, orgID string) *umami.APIKey {
	t.Helper()
	k := &umami.APIKey{ID: id(), OrgID: orgID, Name: "key", Prefix: "umami_abc", Hash: "hash-" + id(),
		Scopes: []umami.Scope{umami.ScopeRunsRead}, CreatedAt: now()}
	update(t, s, func(tx umami.Tx) error { return tx.CreateAPIKey(ctx, k) })
	return k
}

// run returns a new queued run of the fixture's version, not yet stored.
func (f fixture) run(input string) *umami.Run {
	return &umami.Run{ID: id(), OrgID: f.org.ID, AgentID: f.agent.ID, AgentVersionID: f.version.ID,
		Status: umami.RunQueued, Input: input, Metadata: map[string]string{"k": "v"}, CreatedAt: now()}
}

// newRun creates a queued run with its job, as the platform does.
func (f fixture) newRun(t *testing.T, s umami.Store, input string) *umami.Run {
	t.Helper()
	r := f.run(input)
	update(t, s, func(tx umami.Tx) (err error) {
		return umami.InsertRuns(ctx, tx, r)
	})
	return r
}

// step is a model call of a run, named name.
func step(runID, name string) umami.RunStep {
	at := now()
	return umami.RunStep{RunID: runID, Type: umami.StepModelCall, Name: name, Input: "in", Output: "out",
		Usage: &umami.Usage{InputTokens: 1, OutputTokens: 1}, StartedAt: at, CompletedAt: at}
}

func startRun(tx umami.Tx, id string, at time.Time) (*umami.Run, error) {
	runs, err := tx.StartRuns(ctx, at, id)
	if err != nil {
		return nil, err
	}
	return runs[0], nil
}

func finishRun(tx umami.Tx, r *umami.Run, steps []umami.RunStep) (bool, error) {
	done, err := tx.FinishRuns(ctx, umami.RunFinish{Run: r, Steps: steps})
	if err != nil {
		return false, err
	}
	return done[0], nil
}

func getRun(t *testing.T, s umami.Store, orgID, runID string) (*umami.Run, error) {
	var r *umami.Run
	err := s.View(ctx, func(tx umami.Tx) (err error) {
		r, err = tx.GetRun(ctx, orgID, runID)
		return err
	})
	return r, err
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := umami.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func fmtRun(r *umami.Run) string { return fmt.Sprintf("%+v", *r) }
