// Package metrics counts what a node does and serves the counts at
// /metrics in the Prometheus text exposition format (version 0.0.4). It has
// no dependencies: a handful of counters does not need a client library.
package metrics

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/umamiai/umami"
)

// Metrics holds one node's counters. The zero value is not usable; use New.
type Metrics struct {
	mu         sync.Mutex
	started    time.Time
	requests   map[int]uint64    // by status code
	runs       map[string]uint64 // finished runs by status
	runSeconds float64           // total execution time of finished runs
}

// New returns empty counters.
func New() *Metrics {
	return &Metrics{started: time.Now(), requests: map[int]uint64{}, runs: map[string]uint64{}}
}

// ObserveRequest counts one HTTP response.
func (m *Metrics) ObserveRequest(status int) {
	m.mu.Lock()
	m.requests[status]++
	m.mu.Unlock()
}

// ObserveRun counts one run this node finished, and how long it executed.
func (m *Metrics) ObserveRun(status string, took time.Duration) {
	m.mu.Lock()
	m.runs[status]++
	m.runSeconds += took.Seconds()
	m.mu.Unlock()
}

// ServeHTTP writes the counters in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(w, m.Text())
}

// Text renders the counters in the Prometheus text format.
func (m *Metrics) Text() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family(&b, "umami_build_info", "gauge", "The running version (value 1).")
	fmt.Fprintf(&b, "umami_build_info{version=%q} 1\n", umami.Version)
	family(&b, "umami_process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.")
	fmt.Fprintf(&b, "umami_process_start_time_seconds %d\n", m.started.Unix())
	family(&b, "umami_http_requests_total", "counter", "HTTP responses served, by status code.")
	codes := map[string]uint64{}
	for code, n := range m.requests {
		codes[strconv.Itoa(code)] = n
	}
	labeled(&b, "umami_http_requests_total", "code", codes)
	family(&b, "umami_runs_finished_total", "counter", "Runs this node executed to the end, by final status.")
	labeled(&b, "umami_runs_finished_total", "status", m.runs)
	family(&b, "umami_run_execution_seconds_total", "counter", "Time this node spent executing the runs it finished.")
	fmt.Fprintf(&b, "umami_run_execution_seconds_total %g\n", m.runSeconds)
	return b.String()
}

func family(b *strings.Builder, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func labeled(b *strings.Builder, name, label string, values map[string]uint64) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s{%s=%q} %d\n", name, label, k, values[k])
	}
}
