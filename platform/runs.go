package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/umamiai/umami"
)

// CreateRunInput is the body of a create-run request plus its
// Idempotency-Key header.
type CreateRunInput struct {
	OrgID          string
	AgentVersionID string
	Input          string
	Metadata       map[string]string
	IdempotencyKey string
}

// hash identifies the request for idempotency: the same fields give the
// same hash whatever the JSON's spacing or key order.
func (in CreateRunInput) hash() string {
	b, _ := json.Marshal([]any{in.OrgID, in.AgentVersionID, in.Input, emptyIfNil(in.Metadata)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (in CreateRunInput) validate() error {
	if err := checkUUID("agent_version_id", in.AgentVersionID); err != nil {
		return err
	}
	if err := checkText("input", in.Input, 1, MaxInputChars); err != nil {
		return err
	}
	if k := in.IdempotencyKey; k != "" {
		if len(k) > MaxIdempotencyKey || !printableASCII(k) {
			return invalid("Idempotency-Key must be 1 to %d printable ASCII characters", MaxIdempotencyKey)
		}
	}
	return checkMetadata(in.Metadata)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// CreateRun queues a run of a published version. With an idempotency key,
// a repeat of the same request returns the first run and replayed=true.
func (p *Platform) CreateRun(ctx context.Context, pr *umami.Principal, in CreateRunInput) (run *umami.Run, replayed bool, err error) {
	if err := pr.Require(umami.ScopeRunsCreate); err != nil {
		return nil, false, err
	}
	if in.OrgID == "" {
		return nil, false, invalid("org_id is required")
	}
	if in.OrgID, err = orgOf(pr, in.OrgID); err != nil {
		return nil, false, err
	}
	if err := in.validate(); err != nil {
		return nil, false, err
	}
	v, err := p.version(ctx, in.OrgID, in.AgentVersionID)
	if err != nil {
		return nil, false, err
	}
	if v.Status != umami.VersionPublished {
		return nil, false, invalid("agent_version_id %s is a draft; publish it before running it", v.ID)
	}
	if in.IdempotencyKey == "" {
		run, err = batched(ctx, p.creates, p.newRun(in, v))
		if err != nil {
			return nil, false, fmt.Errorf("create run: %w", err)
		}
		return run, false, nil
	}
	create := func(tx umami.Tx) error {
		run, replayed, err = p.createKeyedRun(ctx, tx, in, v)
		return err
	}
	err = p.store.Update(ctx, create)
	if umami.ErrorCode(err) == umami.EConflict {
		// A concurrent request with the same key committed first (on
		// PostgreSQL writers do not queue): retry, which replays its run.
		err = p.store.Update(ctx, create)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create run: %w", err)
	}
	return run, replayed, nil
}

// newRun returns the queued run that in asks for. v is published:
// published versions never change, so it was read before the write.
func (p *Platform) newRun(in CreateRunInput, v *umami.AgentVersion) *umami.Run {
	return &umami.Run{ID: newID(), OrgID: in.OrgID, AgentID: v.AgentID, AgentVersionID: v.ID,
		Status: umami.RunQueued, Input: in.Input, Metadata: emptyIfNil(in.Metadata), CreatedAt: p.Now()}
}

// createKeyedRun creates the run of a request with an idempotency key, or
// returns the run an earlier request with the same key made. The key is
// checked and recorded in the run's own transaction, so these creations
// are not batched.
func (p *Platform) createKeyedRun(ctx context.Context, tx umami.Tx, in CreateRunInput, v *umami.AgentVersion) (*umami.Run, bool, error) {
	since := p.Now().Add(-umami.IdempotencyTTL)
	k, err := tx.GetIdempotencyKey(ctx, in.OrgID, in.IdempotencyKey, since)
	if err == nil {
		if k.RequestHash != in.hash() {
			return nil, false, umami.Errorf(umami.EIdempotency,
				"Idempotency-Key %q was already used with a different request body", in.IdempotencyKey)
		}
		run, err := tx.GetRun(ctx, in.OrgID, k.RunID)
		return run, true, err
	} else if umami.ErrorCode(err) != umami.ENotFound {
		return nil, false, err
	}
	run := p.newRun(in, v)
	if err := umami.InsertRuns(ctx, tx, run); err != nil {
		return nil, false, err
	}
	err = tx.PutIdempotencyKey(ctx, &umami.IdempotencyKey{OrgID: in.OrgID, Key: in.IdempotencyKey,
		RequestHash: in.hash(), RunID: run.ID, CreatedAt: run.CreatedAt})
	return run, false, err
}

// GetRun returns a run of the principal's org.
func (p *Platform) GetRun(ctx context.Context, pr *umami.Principal, id string) (run *umami.Run, err error) {
	if err := pr.Require(umami.ScopeRunsRead); err != nil {
		return nil, err
	}
	if err := checkUUID("run_id", id); err != nil {
		return nil, err
	}
	err = p.store.View(ctx, func(tx umami.Tx) error {
		run, err = tx.GetRun(ctx, pr.OrgID, id)
		return err
	})
	return run, err
}

// ListRunsInput filters a run listing.
type ListRunsInput struct {
	OrgID          string
	Status         string
	AgentVersionID string
	Limit          int
	After          string
}

// ListRuns lists an org's runs, newest first.
func (p *Platform) ListRuns(ctx context.Context, pr *umami.Principal, in ListRunsInput) (List[*umami.Run], error) {
	var out List[*umami.Run]
	if err := pr.Require(umami.ScopeRunsRead); err != nil {
		return out, err
	}
	orgID, err := orgOf(pr, in.OrgID)
	if err != nil {
		return out, err
	}
	if in.Status != "" && !slices.Contains(umami.RunStatuses, in.Status) {
		return out, invalid("status must be one of %v", umami.RunStatuses)
	}
	if in.AgentVersionID != "" {
		if err := checkUUID("agent_version_id", in.AgentVersionID); err != nil {
			return out, err
		}
	}
	pg, err := page(in.Limit, in.After)
	if err != nil {
		return out, err
	}
	var runs []*umami.Run
	err = p.store.View(ctx, func(tx umami.Tx) (err error) {
		runs, err = tx.ListRuns(ctx, umami.RunFilter{OrgID: orgID, Status: in.Status,
			AgentVersionID: in.AgentVersionID, Page: umami.Page{Limit: pg.Limit + 1, After: pg.After}})
		return err
	})
	return pageOf(runs, pg.Limit, func(r *umami.Run) string { return r.ID }), err
}

// ListRunSteps returns the steps of a run of the principal's org.
func (p *Platform) ListRunSteps(ctx context.Context, pr *umami.Principal, id string) (steps []umami.RunStep, err error) {
	if err := pr.Require(umami.ScopeRunsRead); err != nil {
		return nil, err
	}
	if err := checkUUID("run_id", id); err != nil {
		return nil, err
	}
	err = p.store.View(ctx, func(tx umami.Tx) error {
		if _, err := tx.GetRun(ctx, pr.OrgID, id); err != nil {
			return err
		}
		steps, err = tx.ListRunSteps(ctx, id)
		return err
	})
	if steps == nil {
		steps = []umami.RunStep{}
	}
	return steps, err
}

// CancelRun cancels a queued or running run. The worker executing it sees
// the status change and cancels its model call. Canceling a canceled run
// returns it unchanged; a finished run cannot be canceled.
func (p *Platform) CancelRun(ctx context.Context, pr *umami.Principal, id string) (run *umami.Run, err error) {
	if err := pr.Require(umami.ScopeRunsCreate); err != nil {
		return nil, err
	}
	if err := checkUUID("run_id", id); err != nil {
		return nil, err
	}
	err = p.store.Update(ctx, func(tx umami.Tx) error {
		// A run only moves forward (queued, running, then an end), so this
		// reads it again at most twice: when it moved since it was read.
		for {
			if run, err = tx.GetRun(ctx, pr.OrgID, id); err != nil {
				return err
			}
			switch run.Status {
			case umami.RunCanceled:
				return nil
			case umami.RunSucceeded, umami.RunFailed:
				return umami.Errorf(umami.ERunNotCancelable, "run %s already %s", id, run.Status)
			}
			now := p.Now()
			run.Status, run.CompletedAt = umami.RunCanceled, &now
			run.Error = &umami.RunError{Code: umami.RunErrCanceled, Message: "The run was canceled through the API."}
			ok, err := tx.UpdateRun(ctx, run, umami.RunQueued, umami.RunRunning)
			if err != nil {
				return err
			} else if ok {
				return tx.CancelJob(ctx, run.JobID)
			}
		}
	})
	return run, err
}

// ErrRunFinished tells a worker that the run it picked up needs no work.
var ErrRunFinished = errors.New("run already finished")

// StartRun marks a run running for a worker's attempt and returns it with
// its version. A run found running already is a resumption after a lost
// worker: it starts again from the beginning. ErrRunFinished means there is
// nothing to do (the run ended, was canceled, or does not exist).
func (p *Platform) StartRun(ctx context.Context, runID string) (run *umami.Run, v *umami.AgentVersion, err error) {
	if run, err = batched(ctx, p.starts, runID); err != nil {
		return nil, nil, err
	}
	if run == nil {
		return nil, nil, ErrRunFinished
	}
	if v, err = p.version(ctx, run.OrgID, run.AgentVersionID); err != nil {
		return nil, nil, err
	}
	return run, v, nil
}

// FinishRun records the outcome of a running run. It reports false, and
// writes nothing, when the run is no longer running (it was canceled) or
// its attempt is no longer the current one (it was resumed elsewhere).
// NUL characters from the model or a tool are stored as U+FFFD, since
// PostgreSQL cannot store NUL and the input never has one.
func (p *Platform) FinishRun(ctx context.Context, run *umami.Run, out umami.Outcome) (done bool, err error) {
	now := p.Now()
	run.CompletedAt, run.Usage, run.Error = &now, out.Usage, storableError(out.Error)
	run.Status = umami.RunSucceeded
	if out.Error != nil {
		run.Status = umami.RunFailed
	} else {
		output := storable(out.Output)
		run.Output = &output
	}
	steps := make([]umami.RunStep, len(out.Steps))
	for i, st := range out.Steps {
		st.Input, st.Output, st.Error = storable(st.Input), storable(st.Output), storableError(st.Error)
		steps[i] = st
	}
	return batched(ctx, p.finishes, umami.RunFinish{Run: run, Steps: steps})
}

// storable replaces NUL, which PostgreSQL text cannot hold, with U+FFFD.
func storable(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

func storableError(e *umami.RunError) *umami.RunError {
	if e == nil {
		return nil
	}
	return &umami.RunError{Code: e.Code, Message: storable(e.Message)}
}

// IsCanceled reports whether a run has been canceled, for workers watching it.
func (p *Platform) IsCanceled(ctx context.Context, runID string) (bool, error) {
	var run *umami.Run
	err := p.store.View(ctx, func(tx umami.Tx) (err error) {
		run, err = tx.GetRun(ctx, "", runID)
		return err
	})
	return err == nil && run.Status == umami.RunCanceled, err
}

// failRun ends a queued or running run with an error.
func (p *Platform) failRun(ctx context.Context, tx umami.Tx, run *umami.Run, e umami.RunError) error {
	now := p.Now()
	run.Status, run.Error, run.CompletedAt = umami.RunFailed, &e, &now
	_, err := tx.UpdateRun(ctx, run, umami.RunQueued, umami.RunRunning)
	return err
}

// FailOrphanedRuns ends with worker_lost every unfinished run whose job
// ended without finishing it (River gave up after the worker died on its
// last attempt). It returns how many it ended.
func (p *Platform) FailOrphanedRuns(ctx context.Context) (int, error) {
	n := 0
	err := p.store.Update(ctx, func(tx umami.Tx) error {
		runs, err := tx.ListOrphanedRuns(ctx, 1000)
		if err != nil {
			return err
		}
		for _, run := range runs {
			if err := p.failRun(ctx, tx, run, umami.RunError{Code: umami.RunErrWorkerLost,
				Message: "The worker executing the run was lost and the run could not be resumed."}); err != nil {
				return err
			}
		}
		n = len(runs)
		return nil
	})
	return n, err
}

// ForgetIdempotencyKeys deletes idempotency keys older than their TTL.
func (p *Platform) ForgetIdempotencyKeys(ctx context.Context) (n int, err error) {
	err = p.store.Update(ctx, func(tx umami.Tx) error {
		n, err = tx.DeleteIdempotencyKeys(ctx, p.Now().Add(-umami.IdempotencyTTL))
		return err
	})
	return n, err
}
