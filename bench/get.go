package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/umamiai/umami/client"
)

// GetConfig configures GetRuns.
type GetConfig struct {
	BaseURL     string // server root, e.g. http://127.0.0.1:8080
	APIKey      string // needs runs:read
	RunID       string // the run to read
	N           int    // requests to send, ≥ 1
	Concurrency int    // parallel requests; 1 if ≤ 0, at most N
	// Timeout bounds the whole benchmark; DefaultTimeout if ≤ 0.
	Timeout time.Duration
	// HTTPClient sends the requests. If nil, GetRuns uses a client whose
	// transport keeps Concurrency idle connections to the server.
	HTTPClient *http.Client
}

// GetResult is the outcome of GetRuns.
type GetResult struct {
	// Requests is the number of requests sent.
	Requests int `json:"requests"`
	// Errors counts the requests that failed (transport error or non-2xx).
	Errors int `json:"errors"`
	// RequestsPerSecond is Requests divided by WallSeconds.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// LatencyMs is the client-side latency of the successful requests.
	LatencyMs Percentiles `json:"latency_ms"`
	// WallSeconds is the client-side duration of the benchmark.
	WallSeconds float64 `json:"wall_seconds"`
}

// GetRuns sends cfg.N GET /api/v1/agent-runs/{run_id} requests with
// cfg.Concurrency parallel workers and reports throughput and latency. If
// the timeout or ctx ends it early, it returns the partial result together
// with an error wrapping the context's error.
func GetRuns(ctx context.Context, cfg GetConfig) (*GetResult, error) {
	if cfg.BaseURL == "" || cfg.RunID == "" {
		return nil, errors.New("bench: BaseURL and RunID are required")
	}
	if cfg.N < 1 {
		return nil, fmt.Errorf("bench: N must be ≥ 1, got %d", cfg.N)
	}
	conc, hc, done := setup(cfg.N, cfg.Concurrency, cfg.HTTPClient)
	defer done()
	c := client.New(cfg.BaseURL, cfg.APIKey, client.WithHTTPClient(hc))
	ctx, cancel := context.WithTimeout(ctx, positiveOr(cfg.Timeout, DefaultTimeout))
	defer cancel()

	latencies := make([]float64, cfg.N)
	ok := make([]bool, cfg.N)
	var next, sent, failed atomic.Int64
	start := time.Now()
	parallel(conc, func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= cfg.N || ctx.Err() != nil {
				return
			}
			sent.Add(1)
			t0 := time.Now()
			if _, err := c.GetRun(ctx, cfg.RunID); err != nil {
				failed.Add(1)
				continue
			}
			latencies[i], ok[i] = ms(time.Since(t0)), true
		}
	})
	wall := time.Since(start).Seconds()

	var good []float64
	for i, l := range latencies {
		if ok[i] {
			good = append(good, l)
		}
	}
	res := &GetResult{
		Requests:    int(sent.Load()),
		Errors:      int(failed.Load()),
		LatencyMs:   NewPercentiles(good),
		WallSeconds: wall,
	}
	if wall > 0 {
		res.RequestsPerSecond = float64(res.Requests) / wall
	}
	if err := ctx.Err(); err != nil && (res.Requests < cfg.N || res.Errors > 0) {
		return res, fmt.Errorf("bench: stopped after %d of %d requests: %w", res.Requests, cfg.N, err)
	}
	return res, nil
}
