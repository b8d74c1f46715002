package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	seq := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(i + 1)
		}
		return s
	}
	for _, tc := range []struct {
		sorted []float64
		p      float64
		want   float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 99, 7},
		{seq(100), 50, 50},
		{seq(100), 95, 95},
		{seq(100), 99, 99},
		{seq(100), 7, 7}, // 0.07*100 > 7 in floating point
		{seq(100), 100, 100},
		{seq(20), 95, 19},
		{seq(20), 99, 20},
		{seq(10), 50, 5},
		{seq(10), 51, 6},
		{seq(10), 95, 10},
		{seq(10), 1, 1},
		{seq(10), 0, 1},
		{[]float64{1, 2, 3, 4}, 50, 2},
		{[]float64{1, 2, 3, 4}, 75, 3},
		{[]float64{1, 2, 3, 4}, 76, 4},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}

	in := []float64{9, 1, 5, 3, 7, 2, 8, 4, 6, 10}
	orig := append([]float64(nil), in...)
	if got, want := NewPercentiles(in), (Percentiles{P50: 5, P95: 10, P99: 10}); got != want {
		t.Errorf("NewPercentiles = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("NewPercentiles modified its input")
	}
	if got := NewPercentiles(nil); got != (Percentiles{}) {
		t.Errorf("NewPercentiles(nil) = %+v", got)
	}
}

// fakeRuns implements create and get of runs: a run starts startAfter after
// its creation and completes completeAfter after it.
type fakeRuns struct {
	t             *testing.T
	srv           *httptest.Server
	startAfter    time.Duration
	completeAfter time.Duration
	failCreate    func(n int) bool // fail the n-th create (1-based) with a 503
	failRun       func(n int) bool // the n-th created run fails
	failGet       func(n int) bool // fail the n-th GET with a 500
	never         bool             // runs stay queued

	mu      sync.Mutex
	creates int
	gets    int
	runs    map[string]*fakeRun
	order   []string
}

type fakeRun struct {
	id      string
	created time.Time
	fail    bool
}

func newFakeRuns(t *testing.T) *fakeRuns {
	f := &fakeRuns{t: t, startAfter: time.Millisecond, completeAfter: 5 * time.Millisecond, runs: map[string]*fakeRun{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent-runs", f.create)
	mux.HandleFunc("GET /api/v1/agent-runs/{id}", f.get)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer umami_bench" {
			writeJSON(w, 401, map[string]any{"error": "invalid_api_key", "message": "Invalid API key.", "request_id": "r"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (f *fakeRuns) render(r *fakeRun, now time.Time) map[string]any {
	m := map[string]any{
		"run_id": r.id, "org_id": "org", "agent_id": "agent", "agent_version_id": "ver", "status": "queued",
		"input": "x", "output": nil, "error": nil, "usage": map[string]any{"input_tokens": 0, "output_tokens": 0},
		"metadata": map[string]string{}, "created_at": ts(r.created), "started_at": nil, "completed_at": nil,
	}
	if f.never {
		return m
	}
	if started := r.created.Add(f.startAfter); !now.Before(started) {
		m["status"], m["started_at"] = "running", ts(started)
	}
	if completed := r.created.Add(f.completeAfter); !now.Before(completed) {
		m["completed_at"] = ts(completed)
		if r.fail {
			m["status"], m["error"] = "failed", map[string]any{"code": "model_error", "message": "boom"}
		} else {
			m["status"], m["output"] = "succeeded", "Echo: x"
		}
	}
	return m
}

func (f *fakeRuns) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrgID          string `json:"org_id"`
		AgentVersionID string `json:"agent_version_id"`
		Input          string `json:"input"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" ||
		req.OrgID != "org" || req.AgentVersionID != "ver" || req.Input == "" {
		writeJSON(w, 400, map[string]any{"error": "invalid_request", "message": fmt.Sprint(err), "request_id": "r"})
		return
	}
	f.mu.Lock()
	f.creates++
	n := f.creates
	if f.failCreate != nil && f.failCreate(n) {
		f.mu.Unlock()
		writeJSON(w, 503, map[string]any{"error": "service_unavailable", "message": "Try later.", "request_id": "r"})
		return
	}
	// Microsecond-precise timestamps, like a database would store.
	run := &fakeRun{id: fmt.Sprintf("run-%06d", n), created: time.Now().UTC().Truncate(time.Microsecond),
		fail: f.failRun != nil && f.failRun(n)}
	f.runs[run.id] = run
	f.order = append(f.order, run.id)
	f.mu.Unlock()
	writeJSON(w, 201, f.render(run, run.created))
}

func (f *fakeRuns) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets++
	n := f.gets
	run := f.runs[r.PathValue("id")]
	f.mu.Unlock()
	if f.failGet != nil && f.failGet(n) {
		writeJSON(w, 500, map[string]any{"error": "internal_error", "message": "Internal error.", "request_id": "r"})
		return
	}
	if run == nil {
		writeJSON(w, 404, map[string]any{"error": "not_found", "message": "Run not found.", "request_id": "r"})
		return
	}
	writeJSON(w, 200, f.render(run, time.Now()))
}

func (f *fakeRuns) config(n, conc int) RunsConfig {
	return RunsConfig{BaseURL: f.srv.URL, APIKey: "umami_bench", OrgID: "org", AgentVersionID: "ver",
		N: n, Concurrency: conc, PollInterval: 2 * time.Millisecond, Timeout: 10 * time.Second}
}

func checkOrdered(t *testing.T, name string, p Percentiles) {
	t.Helper()
	if !(p.P50 <= p.P95 && p.P95 <= p.P99) {
		t.Errorf("%s not ordered: %+v", name, p)
	}
}

func TestRuns(t *testing.T) {
	f := newFakeRuns(t)
	const n = 60
	res, err := Runs(context.Background(), f.config(n, 8))
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != n || res.Errors != 0 || !reflect.DeepEqual(res.Statuses, map[string]int{"succeeded": n}) {
		t.Fatalf("result = %+v", res)
	}
	checkOrdered(t, "create_ms", res.CreateMs)
	checkOrdered(t, "queue_ms", res.QueueMs)
	checkOrdered(t, "end_to_end_ms", res.EndToEndMs)
	if res.CreateMs.P50 <= 0 {
		t.Errorf("create_ms = %+v", res.CreateMs)
	}
	// Server timestamps, not poll timing, give the latencies.
	if res.QueueMs != (Percentiles{1, 1, 1}) || res.EndToEndMs != (Percentiles{5, 5, 5}) {
		t.Errorf("queue_ms = %+v, end_to_end_ms = %+v", res.QueueMs, res.EndToEndMs)
	}
	// Throughput: terminal runs over first created_at .. last completed_at.
	f.mu.Lock()
	first := f.runs[f.order[0]].created
	last := f.runs[f.order[len(f.order)-1]].created.Add(f.completeAfter)
	gets := f.gets
	f.mu.Unlock()
	if want := n / last.Sub(first).Seconds(); math.Abs(res.RunsPerSecond-want) > 1e-6*want {
		t.Errorf("runs_per_second = %v, want %v", res.RunsPerSecond, want)
	}
	if res.WallSeconds <= 0 || res.WallSeconds < last.Sub(first).Seconds()-0.001 {
		t.Errorf("wall_seconds = %v", res.WallSeconds)
	}
	// Polling is cheap: about one GET per run after it finishes, plus one
	// per interval while waiting, plus sweep overshoot.
	if gets > 3*n {
		t.Errorf("%d GETs for %d runs", gets, n)
	}

	b, _ := json.Marshal(res)
	for _, k := range []string{`"runs":`, `"errors":`, `"runs_per_second":`, `"create_ms":{"p50":`, `"queue_ms":`,
		`"end_to_end_ms":`, `"statuses":{"succeeded":60}`, `"wall_seconds":`, `"p95":`, `"p99":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

func TestRunsSlowBacklog(t *testing.T) {
	// Runs take longer than creating them: most are unfinished when polling
	// starts, and polling still stays modest.
	f := newFakeRuns(t)
	f.startAfter, f.completeAfter = 50*time.Millisecond, 150*time.Millisecond
	cfg := f.config(40, 8)
	cfg.PollInterval = 10 * time.Millisecond
	res, err := Runs(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 40 || res.Errors != 0 || res.Statuses["succeeded"] != 40 {
		t.Fatalf("result = %+v", res)
	}
	if res.QueueMs.P99 != 50 || res.EndToEndMs.P50 != 150 {
		t.Errorf("queue_ms = %+v, end_to_end_ms = %+v", res.QueueMs, res.EndToEndMs)
	}
	f.mu.Lock()
	gets := f.gets
	f.mu.Unlock()
	// 8 pollers each asking every 10ms for 150ms would be ~120 wasted GETs.
	if gets > 40+40 {
		t.Errorf("%d GETs for 40 runs", gets)
	}
}

func TestRunsErrors(t *testing.T) {
	f := newFakeRuns(t)
	f.failCreate = func(n int) bool { return n%5 == 0 } // 10 of 50
	f.failRun = func(n int) bool { return n%7 == 0 }    // among the created
	res, err := Runs(context.Background(), f.config(50, 4))
	if err != nil {
		t.Fatal(err)
	}
	failedRuns := 0
	for n := 1; n <= 50; n++ {
		if n%5 != 0 && n%7 == 0 {
			failedRuns++
		}
	}
	if res.Runs != 40 || res.Errors != 10+failedRuns {
		t.Errorf("runs = %d, errors = %d; want 40, %d", res.Runs, res.Errors, 10+failedRuns)
	}
	want := map[string]int{"succeeded": 40 - failedRuns, "failed": failedRuns}
	if !reflect.DeepEqual(res.Statuses, want) {
		t.Errorf("statuses = %v, want %v", res.Statuses, want)
	}
	checkOrdered(t, "create_ms", res.CreateMs)
	checkOrdered(t, "end_to_end_ms", res.EndToEndMs)
	if res.RunsPerSecond <= 0 {
		t.Errorf("runs_per_second = %v", res.RunsPerSecond)
	}
}

func TestRunsPollErrors(t *testing.T) {
	f := newFakeRuns(t)
	f.startAfter, f.completeAfter = 0, time.Millisecond
	// Every GET of the first run fails (they are the 1st, 2nd, 3rd GETs);
	// then all succeed.
	f.failGet = func(n int) bool { return n <= maxPollErrors }
	res, err := Runs(context.Background(), f.config(5, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"succeeded": 4, "unknown": 1}
	if res.Runs != 5 || res.Errors != maxPollErrors || !reflect.DeepEqual(res.Statuses, want) {
		t.Errorf("result = %+v", res)
	}
}

func TestRunsTimeout(t *testing.T) {
	f := newFakeRuns(t)
	f.never = true
	cfg := f.config(10, 3)
	cfg.Timeout = 200 * time.Millisecond
	cfg.PollInterval = 20 * time.Millisecond
	start := time.Now()
	res, err := Runs(context.Background(), cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	if res == nil || res.Runs != 10 || res.Errors != 10 || !reflect.DeepEqual(res.Statuses, map[string]int{"queued": 10}) ||
		res.RunsPerSecond != 0 {
		t.Errorf("result = %+v", res)
	}
	f.mu.Lock()
	gets := f.gets
	f.mu.Unlock()
	if gets > 200/20+5 {
		t.Errorf("%d GETs in 200ms at a 20ms interval", gets)
	}
}

func TestRunsConfig(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []RunsConfig{
		{},
		{BaseURL: "http://x", OrgID: "o", AgentVersionID: "v"},
		{BaseURL: "http://x", OrgID: "o", N: 1},
	} {
		if res, err := Runs(ctx, cfg); err == nil || res != nil {
			t.Errorf("Runs(%+v) = %v, %v", cfg, res, err)
		}
	}
	if _, err := GetRuns(ctx, GetConfig{BaseURL: "http://x", N: 1}); err == nil {
		t.Error("GetRuns without RunID succeeded")
	}

	// Wrong key: every create fails, nothing to poll.
	f := newFakeRuns(t)
	cfg := f.config(6, 2)
	cfg.APIKey = "umami_wrong"
	res, err := Runs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 0 || res.Errors != 6 || len(res.Statuses) != 0 || res.RunsPerSecond != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestGetRuns(t *testing.T) {
	f := newFakeRuns(t)
	res0, err := Runs(context.Background(), f.config(1, 1))
	if err != nil || res0.Runs != 1 {
		t.Fatal(res0, err)
	}
	id := f.order[0]
	cfg := GetConfig{BaseURL: f.srv.URL, APIKey: "umami_bench", RunID: id, N: 200, Concurrency: 10}
	res, err := GetRuns(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Errors != 0 || res.RequestsPerSecond <= 0 || res.LatencyMs.P50 <= 0 {
		t.Errorf("result = %+v", res)
	}
	checkOrdered(t, "latency_ms", res.LatencyMs)

	var calls atomic.Int64
	f.failGet = func(n int) bool { return n%10 == 0 }
	f.mu.Lock()
	f.gets = 0
	f.mu.Unlock()
	cfg.HTTPClient = &http.Client{Transport: countingTransport{&calls}}
	res, err = GetRuns(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Errors != 20 {
		t.Errorf("result = %+v", res)
	}
	if calls.Load() != 200 {
		t.Errorf("custom HTTP client carried %d requests", calls.Load())
	}
	checkOrdered(t, "latency_ms", res.LatencyMs)

	b, _ := json.Marshal(res)
	for _, k := range []string{`"requests":200`, `"errors":20`, `"requests_per_second":`, `"latency_ms":{"p50":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestNewHTTPClient(t *testing.T) {
	tr := NewHTTPClient(64).Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost < 64 || (tr.MaxIdleConns != 0 && tr.MaxIdleConns < 64) {
		t.Errorf("MaxIdleConnsPerHost = %d, MaxIdleConns = %d", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
}

// With Rate, creates follow an open-loop schedule: run i is created no
// earlier than i/Rate after the start, however many workers are free.
func TestRunsRate(t *testing.T) {
	f := newFakeRuns(t)
	const n, rate = 21, 100.0
	cfg := f.config(n, 8)
	cfg.Rate = rate
	if _, err := Runs(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	first := f.runs[f.order[0]].created
	last := f.runs[f.order[len(f.order)-1]].created
	if want := time.Duration(float64(n-1) / rate * float64(time.Second)); last.Sub(first) < want-10*time.Millisecond {
		t.Errorf("creates spanned %v, want at least %v at %g runs/s", last.Sub(first), want, rate)
	}
}
