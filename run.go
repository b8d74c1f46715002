package umami

import (
	"context"
	"time"
)

// Run statuses. Succeeded, failed and canceled are terminal.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCanceled  = "canceled"
)

// RunStatuses lists every run status.
var RunStatuses = []string{RunQueued, RunRunning, RunSucceeded, RunFailed, RunCanceled}

// Terminal reports whether status is final.
func Terminal(status string) bool {
	return status == RunSucceeded || status == RunFailed || status == RunCanceled
}

// Stable codes of a failed or canceled run's error.
const (
	RunErrModel        = "model_error"        // the provider rejected or failed the call
	RunErrUnavailable  = "model_unavailable"  // the provider is not configured on this deployment
	RunErrTimeout      = "timeout"            // the run exceeded its time limit
	RunErrWorkerLost   = "worker_lost"        // the worker died and the run could not be resumed
	RunErrCanceled     = "canceled"           // canceled through the API
	RunErrTooManySteps = "max_steps_exceeded" // the tool-call loop hit its bound
	RunErrInternal     = "internal_error"
)

// RunError says why a run failed or was canceled.
type RunError struct {
	Code    string
	Message string
}

// Usage counts model tokens.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.InputTokens + v.InputTokens, u.OutputTokens + v.OutputTokens}
}

// Run is one execution of a published agent version on one input.
type Run struct {
	ID             string
	OrgID          string
	AgentID        string
	AgentVersionID string
	Status         string
	Input          string
	Output         *string
	Error          *RunError
	Usage          Usage
	Metadata       map[string]string
	JobID          int64 // the queue job that executes the run
	Attempt        int   // how many times a worker has started the run
	CreatedAt      time.Time
	StartedAt      *time.Time
	CompletedAt    *time.Time
}

// Step types.
const (
	StepModelCall = "model_call"
	StepToolCall  = "tool_call"
)

// RunStep records one model call or tool call of a run.
type RunStep struct {
	RunID       string
	Index       int
	Type        string
	Name        string // the model, or the tool
	Input       string
	Output      string
	Error       *RunError
	Usage       *Usage
	StartedAt   time.Time
	CompletedAt time.Time
}

// RunFilter selects runs of one org, newest first.
type RunFilter struct {
	OrgID          string
	Status         string
	AgentVersionID string
	Page
}

// IdempotencyKey remembers which run a create request made, so that a retry
// with the same key and body returns the same run.
type IdempotencyKey struct {
	OrgID       string
	Key         string
	RequestHash string
	RunID       string
	CreatedAt   time.Time
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// RunJobArgs are the arguments of the queue job that executes a run.
type RunJobArgs struct {
	RunID string `json:"run_id"`
}

// Kind names the job kind in the queue.
func (RunJobArgs) Kind() string { return "run" }

// RunFinish is a run's outcome written into its fields, and the steps that
// produced it, for Tx.FinishRuns.
type RunFinish struct {
	Run   *Run
	Steps []RunStep
}

// Outcome is what executing a run produced: an output, or an error.
type Outcome struct {
	Output string
	Error  *RunError
	Usage  Usage
	Steps  []RunStep
}

// InsertRuns stores new queued runs and the jobs that execute them, in tx:
// within one transaction, a run is never stored without its job, nor a
// job without its run. It sets each run's JobID.
func InsertRuns(ctx context.Context, tx Tx, runs ...*Run) error {
	args := make([]RunJobArgs, len(runs))
	for i, r := range runs {
		args[i] = RunJobArgs{RunID: r.ID}
	}
	jobIDs, err := tx.EnqueueRuns(ctx, args...)
	if err != nil {
		return err
	}
	for i, r := range runs {
		r.JobID = jobIDs[i]
	}
	return tx.CreateRuns(ctx, runs...)
}
