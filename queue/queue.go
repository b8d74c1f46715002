// Package queue is the one place that knows how UmamiAI uses River: queue
// names, insert options per job kind, and the client settings shared by the
// SQLite and PostgreSQL deployments. Stores use Inserter to enqueue inside
// their transactions; workers build their client with NewClient.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/umamiai/umami"
)

// QueueRuns is the queue that executes agent runs.
const QueueRuns = "runs"

// RunMaxAttempts bounds how often a run job is started: the first attempt
// plus resumptions after a worker was lost.
const RunMaxAttempts = 3

// Inserter enqueues jobs inside a store transaction. It holds an insert-only
// River client (no workers), so every node can enqueue whatever its role.
type Inserter[TTx any] struct {
	client *river.Client[TTx]
}

// NewInserter returns an Inserter over driver.
func NewInserter[TTx any](driver riverdriver.Driver[TTx]) (*Inserter[TTx], error) {
	// FetchCooldown also limits how often an inserting client sends
	// LISTEN/NOTIFY wake-ups; River's default (100 ms) would delay pickup.
	client, err := river.NewClient(driver, &river.Config{FetchCooldown: FetchCooldown, Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("new river insert client: %w", err)
	}
	return &Inserter[TTx]{client: client}, nil
}

// InsertRuns enqueues the jobs that execute runs, within tx, in one
// statement, and returns the jobs' ids in the order of args.
func (in *Inserter[TTx]) InsertRuns(ctx context.Context, tx TTx, args ...umami.RunJobArgs) ([]int64, error) {
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{Queue: QueueRuns, MaxAttempts: RunMaxAttempts}}
	}
	res, err := in.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("insert run jobs: %w", err)
	}
	// River returns the jobs in insertion order; match them by run id all
	// the same, so that an order River does not promise cannot mix runs up.
	byRun := make(map[string]int64, len(res))
	for _, r := range res {
		var a umami.RunJobArgs
		if err := json.Unmarshal(r.Job.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("insert run jobs: args of job %d: %w", r.Job.ID, err)
		}
		byRun[a.RunID] = r.Job.ID
	}
	ids := make([]int64, len(args))
	for i, a := range args {
		if ids[i] = byRun[a.RunID]; ids[i] == 0 {
			return nil, fmt.Errorf("insert run jobs: no job returned for run %s", a.RunID)
		}
	}
	return ids, nil
}

// CancelJob cancels a job within tx: a queued job never starts; a running
// one is marked for cancellation.
func (in *Inserter[TTx]) CancelJob(ctx context.Context, tx TTx, jobID int64) error {
	if _, err := in.client.JobCancelTx(ctx, tx, jobID); err != nil && err != river.ErrNotFound {
		return fmt.Errorf("cancel job %d: %w", jobID, err)
	}
	return nil
}

// quietLogger keeps River's own logging at warnings and above.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// FetchCooldown is the least time between two fetches of a worker client,
// and between two wake-up notifications of an inserting one.
const FetchCooldown = 5 * time.Millisecond

// JobTimeoutGrace is how much longer than the run timeout River lets a job
// run: the worker's own deadline fires first and ends the run with
// "timeout"; River's only stops a worker stuck after that.
const JobTimeoutGrace = 2 * time.Second

// Settings tune a working client. Zero values take the defaults.
type Settings struct {
	MaxWorkers    int           // concurrent run jobs on this node (default 500)
	RunTimeout    time.Duration // hard limit of one run attempt (default 5m)
	RescueAfter   time.Duration // a job running this long is presumed lost (default RunTimeout + JobTimeoutGrace + 1m); must exceed RunTimeout + JobTimeoutGrace
	FetchCooldown time.Duration // minimum time between fetches (default 5ms)
	PollInterval  time.Duration // fetch poll when no notification arrives (default 50ms; SQLite, which has no notifications, wants less)
	Logger        *slog.Logger
}

func (s Settings) withDefaults() Settings {
	if s.MaxWorkers <= 0 {
		s.MaxWorkers = 500
	}
	if s.RunTimeout <= 0 {
		s.RunTimeout = 5 * time.Minute
	}
	if s.RescueAfter <= 0 {
		s.RescueAfter = s.RunTimeout + JobTimeoutGrace + time.Minute
	}
	if s.FetchCooldown <= 0 {
		s.FetchCooldown = FetchCooldown
	}
	if s.PollInterval <= 0 {
		s.PollInterval = 50 * time.Millisecond
	}
	if s.Logger == nil {
		s.Logger = quietLogger()
	}
	return s
}

// NewClient returns a River client that works the run queue with the given
// workers. The job timeout must be finite: River's rescuer never rescues a
// job whose timeout is negative (infinite), so a run whose worker died would
// stay "running" for ever.
func NewClient[TTx any](driver riverdriver.Driver[TTx], workers *river.Workers, s Settings) (*river.Client[TTx], error) {
	s = s.withDefaults()
	client, err := river.NewClient(driver, &river.Config{
		Queues:                      map[string]river.QueueConfig{QueueRuns: {MaxWorkers: s.MaxWorkers}},
		Workers:                     workers,
		JobTimeout:                  s.RunTimeout + JobTimeoutGrace,
		RescueStuckJobsAfter:        s.RescueAfter,
		FetchCooldown:               s.FetchCooldown,
		FetchPollInterval:           s.PollInterval,
		Logger:                      s.Logger,
		CompletedJobRetentionPeriod: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("new river client: %w", err)
	}
	return client, nil
}

// MinRescueAfter is the smallest rescue threshold allowed with runTimeout.
func MinRescueAfter(runTimeout time.Duration) time.Duration { return runTimeout + JobTimeoutGrace }
