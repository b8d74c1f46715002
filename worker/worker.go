// Package worker holds the River workers: executing an agent run (and, in
// later issues, ingesting documents and delivering webhooks).
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/agent"
	"github.com/umamiai/umami/metrics"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/queue"
)

// RunWorker executes agent runs.
type RunWorker struct {
	river.WorkerDefaults[umami.RunJobArgs]
	Platform *platform.Platform
	Runtime  *agent.Runtime
	// RunTimeout bounds one attempt of a run; past it the run fails with "timeout".
	RunTimeout time.Duration
	// WatchInterval is how often a running run is checked for cancellation.
	WatchInterval time.Duration
	Logger        *slog.Logger
	// Metrics, if set, counts the runs this worker finishes.
	Metrics *metrics.Metrics
}

// Work executes one run: mark it running, call the model (and tools), and
// record the outcome. A run canceled meanwhile keeps its canceled status. If
// the node is shutting down mid-run, the job is returned to the queue and
// the run resumes on the next attempt.
func (w *RunWorker) Work(ctx context.Context, job *river.Job[umami.RunJobArgs]) error {
	run, v, err := w.Platform.StartRun(ctx, job.Args.RunID)
	if errors.Is(err, platform.ErrRunFinished) {
		return nil
	} else if err != nil {
		return fmt.Errorf("start run %s: %w", job.Args.RunID, err)
	}
	runCtx, cancel := context.WithTimeout(ctx, w.RunTimeout)
	defer cancel()
	stopWatch := w.watchCancel(runCtx, cancel, run.ID)
	out := w.Runtime.Execute(runCtx, v, run)
	stopWatch()
	if ctx.Err() != nil { // shutdown, or River's job timeout: the run resumes on the next attempt
		return fmt.Errorf("run %s interrupted: %w", run.ID, ctx.Err())
	}
	// The outcome is recorded even if River's deadline (the run timeout
	// plus a short grace) passes meanwhile: the run timeout has just fired
	// when the outcome is "timeout". The finish's batch bounds the wait.
	done, err := w.Platform.FinishRun(context.WithoutCancel(ctx), run, out)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", run.ID, err)
	}
	if !done {
		w.Logger.Debug("run ended elsewhere", "run_id", run.ID)
	} else if w.Metrics != nil {
		w.Metrics.ObserveRun(run.Status, run.CompletedAt.Sub(*run.StartedAt))
	}
	return nil
}

// watchCancel polls the run's status and cancels the model call when the
// run is canceled through the API (possibly on another node).
func (w *RunWorker) watchCancel(ctx context.Context, cancel context.CancelFunc, runID string) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(w.WatchInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if canceled, _ := w.Platform.IsCanceled(ctx, runID); canceled {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// NewClient returns the River client that works the run queue on driver.
func NewClient[TTx any](driver riverdriver.Driver[TTx], w *RunWorker, s queue.Settings) (*river.Client[TTx], error) {
	if w.RunTimeout <= 0 {
		w.RunTimeout = 5 * time.Minute
	}
	if w.WatchInterval <= 0 {
		w.WatchInterval = 250 * time.Millisecond
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	s.RunTimeout = w.RunTimeout
	workers := river.NewWorkers()
	river.AddWorker[umami.RunJobArgs](workers, w)
	return queue.NewClient(driver, workers, s)
}
