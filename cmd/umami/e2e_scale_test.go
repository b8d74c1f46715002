package main

// Scale-out on PostgreSQL, proven with the real binary: API nodes and worker
// nodes as separate processes on one database.

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/umamiai/umami/internal/pgtest"
)

// cluster is a set of umami processes sharing one PostgreSQL database.
type cluster struct {
	t       *testing.T
	url     string
	db      *pgxpool.Pool
	demo    demoEnv
	apis    []*server
	workers []*server
}

// startCluster starts nAPI "--role api" and nWorkers "--role worker"
// processes on a fresh database; the first API node creates the demo.
func startCluster(t *testing.T, nAPI, nWorkers int, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, url: pgtest.URL(t)}
	db, err := pgxpool.New(context.Background(), c.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c.db = db
	dir := t.TempDir()
	args := func(role string) []string {
		return append([]string{"--database-url", c.url, "--role", role}, extra...)
	}
	for i := range nAPI {
		name, dataDir := fmt.Sprintf("api #%d", i+1), filepath.Join(dir, fmt.Sprint("api", i+1))
		if i == 0 {
			s, d := startDemo(t, name, dataDir, freePort(t), args("api")...)
			c.apis, c.demo = append(c.apis, s), d
			continue
		}
		c.apis = append(c.apis, startServer(t, name, dataDir, freePort(t), args("api")...))
	}
	for i := range nWorkers {
		c.workers = append(c.workers, startServer(t, fmt.Sprintf("worker #%d", i+1),
			filepath.Join(dir, fmt.Sprint("worker", i+1)), freePort(t), args("worker")...))
	}
	return c
}

// api returns a client of API node i.
func (c *cluster) api(i int) *api { return newAPI(c.t, c.apis[i].baseURL, c.demo.APIKey) }

// count runs one counting query.
func (c *cluster) count(query string) int {
	c.t.Helper()
	var n int
	if err := c.db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitDone waits until no run is queued or running.
func (c *cluster) waitDone(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for c.count(`SELECT count(*) FROM runs WHERE status IN ('queued', 'running')`) > 0 {
		if time.Now().After(deadline) {
			c.t.Fatalf("runs still unfinished after %v: %d", timeout,
				c.count(`SELECT count(*) FROM runs WHERE status IN ('queued', 'running')`))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestScaleOut: 2 API nodes and 2 worker nodes; 2,000 runs created through
// both API nodes all end succeeded exactly once, worked by both workers.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2, 2)
	const runs, conc = 2000, 16
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c.api(i%2).createRun(c.demo, fmt.Sprint("run ", i))
			}
		}()
	}
	for i := range runs {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("created %d runs through 2 API nodes in %v", runs, time.Since(start).Round(time.Millisecond))
	c.waitDone(3 * time.Minute)
	t.Logf("all finished %v after the first create", time.Since(start).Round(time.Millisecond))

	if n := c.count(`SELECT count(*) FROM runs WHERE status = 'succeeded' AND output = 'Echo: ' || input`); n != runs {
		t.Errorf("%d runs succeeded with their own output, want %d", n, runs)
	}
	if n := c.count(`SELECT count(*) FROM runs WHERE attempt <> 1`); n != 0 {
		t.Errorf("%d runs were started more than once", n)
	}
	if n := c.count(`SELECT count(*) FROM (SELECT run_id FROM run_steps GROUP BY run_id HAVING count(*) = 1) s`); n != runs {
		t.Errorf("%d runs have exactly one model call, want %d (none executed twice)", n, runs)
	}
	if n := c.count(`SELECT count(DISTINCT attempted_by[array_length(attempted_by, 1)]) FROM river_job`); n != 2 {
		t.Errorf("jobs were worked by %d River clients, want both workers", n)
	}
	// A worker node serves health, readiness and metrics, not the API.
	w := newAPI(t, c.workers[0].baseURL, c.demo.APIKey)
	for _, path := range []string{"/api/v1/agent-runs", "/openapi.json"} {
		if st, _ := w.do("GET", path, nil); st != http.StatusNotFound {
			t.Errorf("GET %s on a worker node = %d, want 404", path, st)
		}
	}
	if st, _ := w.do("GET", "/readyz", nil); st != http.StatusOK {
		t.Errorf("GET /readyz on a worker node = %d", st)
	}
	// Each worker counts the runs it finished; together, all of them.
	total := 0
	for _, wk := range c.workers {
		st, body := newAPI(t, wk.baseURL, "").doRaw("GET", "/metrics", nil)
		m := regexp.MustCompile(`umami_runs_finished_total\{status="succeeded"\} (\d+)`).FindSubmatch(body)
		if st != http.StatusOK || m == nil {
			t.Fatalf("GET /metrics on %s = %d:\n%s", wk.name, st, body)
		}
		n, _ := strconv.Atoi(string(m[1]))
		total += n
	}
	if total != runs {
		t.Errorf("workers' metrics count %d succeeded runs, want %d", total, runs)
	}
}

// TestScaleOutWorkerKilled: kill -9 of a worker node holding running runs;
// the other worker finishes them after River's rescue, none stays running.
func TestScaleOutWorkerKilled(t *testing.T) {
	t.Parallel()
	// Each worker holds at most 5 runs, so the 10 runs must spread over
	// both: one worker fetching them all would leave nothing to rescue.
	c := startCluster(t, 1, 2, slices.Concat(rescueFlags, []string{"--max-workers", "5"})...)
	a := c.api(0)
	var ids []string
	for i := range 10 {
		ids = append(ids, a.createRun(c.demo, fmt.Sprintf("[[sleep:2s]] survive %d", i)))
	}
	// Wait until both workers hold runs, then kill the first.
	deadline := time.Now().Add(20 * time.Second)
	for c.count(`SELECT count(DISTINCT attempted_by[array_length(attempted_by, 1)]) FROM river_job WHERE state = 'running'`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the runs never spread over both workers")
		}
		time.Sleep(20 * time.Millisecond)
	}
	held := c.count(`SELECT count(*) FROM runs WHERE status = 'running'`)
	c.workers[0].kill9()
	killed := time.Now()
	t.Logf("killed worker #1 while %d runs were running", held)
	c.waitDone(2 * time.Minute)
	t.Logf("all runs finished %v after the kill", time.Since(killed).Round(time.Millisecond))
	for i, id := range ids {
		if run := a.getRun(id); run["status"] != "succeeded" || run["output"] != fmt.Sprintf("Echo: survive %d", i) {
			t.Errorf("run %s = %v %v, want succeeded", id, run["status"], run["error"])
		}
	}
	if n := c.count(`SELECT count(*) FROM runs WHERE attempt > 1`); n == 0 {
		t.Errorf("no run was resumed: the kill did not interrupt any run")
	}
}

// TestScaleOutDatabaseRestart: PostgreSQL stops while nodes run. Requests
// get 503 with the error shape at once (no hang); after it is back the
// nodes reconnect by themselves and runs complete.
func TestScaleOutDatabaseRestart(t *testing.T) {
	srv := pgtest.Server(t) // skips unless the harness owns the cluster
	c := startCluster(t, 1, 1)
	a := c.api(0)
	a.waitStatus(a.createRun(c.demo, "before"), "succeeded", 30*time.Second)

	srv.Stop(t)
	start := time.Now()
	st, body := a.do("GET", "/api/v1/agent-runs", nil)
	if st != http.StatusServiceUnavailable || body["error"] != "service_unavailable" {
		t.Errorf("during the outage GET = %d %v, want 503 service_unavailable", st, body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the 503 took %v", took)
	}
	if st, _ := a.do("GET", "/readyz", nil); st != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage = %d, want 503", st)
	}
	srv.Start(t)

	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body := a.do("POST", "/api/v1/agent-runs", map[string]any{"org_id": c.demo.OrgID,
			"agent_version_id": c.demo.AgentVersionID, "input": "after"})
		if st == http.StatusCreated {
			a.waitStatus(body["run_id"].(string), "succeeded", 60*time.Second)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after PostgreSQL came back, create = %d %v", st, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
