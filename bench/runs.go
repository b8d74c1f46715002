// Package bench measures the Platform API under load: Runs creates agent
// runs and measures how fast the platform executes them, GetRuns measures
// the read path. Both talk to a running server through package client and
// return JSON-friendly results.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/client"
)

// Defaults of RunsConfig and GetConfig.
const (
	DefaultPollInterval   = 20 * time.Millisecond
	DefaultTimeout        = 5 * time.Minute
	DefaultInput          = "Hello from the benchmark."
	DefaultRequestTimeout = 30 * time.Second
	// maxPollErrors is how many consecutive failed GETs of one run make Runs
	// give up on that run.
	maxPollErrors = 3
)

// RunsConfig configures Runs.
type RunsConfig struct {
	BaseURL        string // server root, e.g. http://127.0.0.1:8080
	APIKey         string // needs runs:create and runs:read
	OrgID          string
	AgentVersionID string // a published version
	Input          string // the input of every run; DefaultInput if empty
	N              int    // runs to create, ≥ 1
	Concurrency    int    // parallel requests; 1 if ≤ 0, at most N
	// Rate, when > 0, paces the creates on an open-loop schedule: run i is
	// created at start + i/Rate (if a worker is free), to measure latencies
	// at a given load rather than at saturation.
	Rate float64
	// PollInterval is the wait before asking again about a run that is not
	// terminal; DefaultPollInterval if ≤ 0.
	PollInterval time.Duration
	// Timeout bounds the whole benchmark, creates and polling;
	// DefaultTimeout if ≤ 0.
	Timeout time.Duration
	// HTTPClient sends the requests. If nil, Runs uses a client whose
	// transport keeps Concurrency idle connections to the server.
	HTTPClient *http.Client
}

// RunsResult is the outcome of Runs. Latencies are in milliseconds.
type RunsResult struct {
	// Runs is the number of runs created (201 responses).
	Runs int `json:"runs"`
	// Errors counts failed creates, failed GETs while polling, and created
	// runs whose last observed status is not "succeeded" (failed, canceled,
	// still queued or running at the timeout). A run given up after
	// repeated polling errors counts only through those errors.
	Errors int `json:"errors"`
	// RunsPerSecond is the number of runs that reached a terminal status
	// divided by the time from the first run's created_at to the last
	// run's completed_at (server timestamps).
	RunsPerSecond float64 `json:"runs_per_second"`
	// CreateMs is the client-side latency of successful creates.
	CreateMs Percentiles `json:"create_ms"`
	// QueueMs is started_at − created_at of the runs that started.
	QueueMs Percentiles `json:"queue_ms"`
	// EndToEndMs is completed_at − created_at of the terminal runs.
	EndToEndMs Percentiles `json:"end_to_end_ms"`
	// Statuses counts the created runs by last observed status; "unknown"
	// for runs given up after repeated polling errors.
	Statuses map[string]int `json:"statuses"`
	// WallSeconds is the client-side duration of the whole benchmark.
	WallSeconds float64 `json:"wall_seconds"`
}

// runState is what Runs knows about one created run.
type runState struct {
	run     *client.Run // the latest response
	unknown bool        // given up after polling errors
}

// Runs creates cfg.N runs with cfg.Concurrency parallel workers, then waits
// until every run is terminal and reports throughput and latencies.
//
// Polling starts once all creates are done, so that it does not compete with
// and distort create_ms. Queue and end-to-end latencies and throughput come
// from the server's timestamps, so they do not depend on when the benchmark
// notices that a run finished; polling only has to learn when everything is
// done, as cheaply as possible. Since runs are executed roughly in creation
// order, Runs polls the oldest unfinished run alone, one GET per
// PollInterval while the platform works through the backlog (an unfinished
// run goes to the back of the line, so a stuck run does not stall the
// count); when it is terminal, Concurrency workers sweep the following runs
// in order until one is still unfinished, which becomes the new head. Each
// run is thus read about once after it finishes, and waiting costs one
// request per interval rather than one per run.
//
// If the timeout or ctx ends the benchmark early, Runs returns the partial
// result together with an error wrapping the context's error. Other errors
// (a bad config) come with a nil result.
func Runs(ctx context.Context, cfg RunsConfig) (*RunsResult, error) {
	if cfg.BaseURL == "" || cfg.OrgID == "" || cfg.AgentVersionID == "" {
		return nil, errors.New("bench: BaseURL, OrgID and AgentVersionID are required")
	}
	if cfg.N < 1 {
		return nil, fmt.Errorf("bench: N must be ≥ 1, got %d", cfg.N)
	}
	interval := positiveOr(cfg.PollInterval, DefaultPollInterval)
	input := cmp.Or(cfg.Input, DefaultInput)
	conc, hc, done := setup(cfg.N, cfg.Concurrency, cfg.HTTPClient)
	defer done()
	c := client.New(cfg.BaseURL, cfg.APIKey, client.WithHTTPClient(hc))
	ctx, cancel := context.WithTimeout(ctx, positiveOr(cfg.Timeout, DefaultTimeout))
	defer cancel()
	start := time.Now()

	// Phase 1: create.
	states := make([]runState, cfg.N)
	createMs := make([]float64, cfg.N)
	var createErrs atomic.Int64
	var next atomic.Int64
	req := client.CreateRun{OrgID: cfg.OrgID, AgentVersionID: cfg.AgentVersionID, Input: input}
	parallel(conc, func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= cfg.N || ctx.Err() != nil {
				return
			}
			if cfg.Rate > 0 && !sleep(ctx, time.Until(start.Add(time.Duration(float64(i)/cfg.Rate*float64(time.Second))))) {
				return
			}
			t0 := time.Now()
			run, err := c.CreateRun(ctx, req)
			if err != nil {
				createErrs.Add(1)
				continue
			}
			createMs[i] = ms(time.Since(t0))
			states[i].run = run
		}
	})

	// Phase 2: poll until every created run is terminal.
	var pending []*runState
	for i := range states {
		if states[i].run != nil && !states[i].run.Terminal() {
			pending = append(pending, &states[i])
		}
	}
	p := &poller{c: c, interval: interval, conc: conc}
	p.wait(ctx, pending)

	// Aggregate.
	res := &RunsResult{Statuses: map[string]int{}, Errors: int(createErrs.Load()) + int(p.errors.Load())}
	var creates, queue, e2e []float64
	var first, last time.Time
	terminal := 0
	for i, s := range states {
		if s.run == nil {
			continue
		}
		r := s.run
		res.Runs++
		creates = append(creates, createMs[i])
		status := r.Status
		if s.unknown {
			status = "unknown"
		} else if status != umami.RunSucceeded {
			res.Errors++
		}
		res.Statuses[status]++
		if first.IsZero() || r.CreatedAt.Before(first) {
			first = r.CreatedAt
		}
		if r.StartedAt != nil {
			queue = append(queue, ms(r.StartedAt.Sub(r.CreatedAt)))
		}
		if r.Terminal() && !s.unknown {
			if r.CompletedAt != nil {
				terminal++
				e2e = append(e2e, ms(r.CompletedAt.Sub(r.CreatedAt)))
				if r.CompletedAt.After(last) {
					last = *r.CompletedAt
				}
			}
		}
	}
	res.CreateMs, res.QueueMs, res.EndToEndMs = NewPercentiles(creates), NewPercentiles(queue), NewPercentiles(e2e)
	if span := last.Sub(first).Seconds(); terminal > 0 && !last.IsZero() && span > 0 {
		res.RunsPerSecond = float64(terminal) / span
	}
	res.WallSeconds = time.Since(start).Seconds()
	notCreated := cfg.N - res.Runs - int(createErrs.Load()) // never attempted
	if err := ctx.Err(); err != nil && (p.unfinished > 0 || notCreated > 0) {
		return res, fmt.Errorf("bench: stopped with %d runs not created and %d not finished: %w", notCreated, p.unfinished, err)
	}
	return res, nil
}

// poller learns when runs are terminal (see Runs).
type poller struct {
	c          *client.Client
	interval   time.Duration
	conc       int
	errors     atomic.Int64 // failed GETs
	unfinished int          // runs still not terminal when ctx ended
}

// wait polls pending (in creation order) until every run is terminal or
// given up, or ctx is done.
func (p *poller) wait(ctx context.Context, pending []*runState) {
	for len(pending) > 0 && ctx.Err() == nil {
		// Probe the head alone.
		if !p.poll(ctx, pending[0]) {
			// Unfinished: move it to the back, so that a run stuck for long
			// does not hide the progress of the others, and wait.
			pending = append(pending[1:], pending[0])
			sleep(ctx, p.interval)
			continue
		}
		// The head is done: sweep the rest in order until one is unfinished.
		pending = p.sweep(ctx, pending[1:])
	}
	p.unfinished = len(pending)
}

// sweep polls runs in order with conc workers, stopping to hand out runs
// once one is found unfinished, and returns the runs not done, in order.
func (p *poller) sweep(ctx context.Context, runs []*runState) []*runState {
	done := make([]bool, len(runs))
	var next atomic.Int64
	var blocked atomic.Bool
	parallel(min(p.conc, len(runs)), func() {
		for !blocked.Load() && ctx.Err() == nil {
			i := int(next.Add(1)) - 1
			if i >= len(runs) {
				return
			}
			if p.poll(ctx, runs[i]) {
				done[i] = true
			} else {
				blocked.Store(true)
			}
		}
	})
	rest := runs[:0:0]
	for i, s := range runs {
		if !done[i] {
			rest = append(rest, s)
		}
	}
	return rest
}

// poll GETs the run and reports whether it is done with: terminal, or given
// up after maxPollErrors consecutive failures (retried every interval).
func (p *poller) poll(ctx context.Context, s *runState) bool {
	for failures := 0; ; {
		r, err := p.c.GetRun(ctx, s.run.RunID)
		if err == nil {
			s.run = r
			return r.Terminal()
		}
		if ctx.Err() != nil {
			return false
		}
		p.errors.Add(1)
		if failures++; failures >= maxPollErrors {
			s.unknown = true
			return true
		}
		if !sleep(ctx, p.interval) {
			return false
		}
	}
}

// sleep waits for d or until ctx is done, and reports whether it slept the
// whole d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// setup applies the defaults Runs and GetRuns share: the concurrency
// (1..n) and, unless one is given, an HTTP client sized for it, whose idle
// connections done closes.
func setup(n, concurrency int, hc *http.Client) (conc int, _ *http.Client, done func()) {
	conc = min(max(concurrency, 1), n)
	if hc != nil {
		return conc, hc, func() {}
	}
	hc = NewHTTPClient(conc)
	return conc, hc, hc.CloseIdleConnections
}

// positiveOr returns d, or def when d is zero or negative (the configs'
// documented "default if ≤ 0").
func positiveOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// parallel runs n copies of f and waits for them.
func parallel(n int, f func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(f)
	}
	wg.Wait()
}

// NewHTTPClient returns an HTTP client for conc parallel requests to one
// server: its transport keeps up to conc idle connections per host (the
// default 2 would make every other request open a new connection, exhausting
// ephemeral ports under load) and each request times out after
// DefaultRequestTimeout.
func NewHTTPClient(conc int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(conc, 2)
	t.MaxIdleConns = max(t.MaxIdleConns, 2*conc)
	return &http.Client{Transport: t, Timeout: DefaultRequestTimeout}
}
