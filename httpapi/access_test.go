package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

// endpoint is one API operation with a valid request for org g.
type endpoint struct {
	name   string
	scope  umami.Scope
	method string
	path   func(g org) string
	body   func(g org) any
}

// endpoints lists every /api/v1 operation. The scope table and the org
// isolation test both walk it, so a new operation is covered by adding it here.
func endpoints(runID, cancelID map[string]string) []endpoint {
	none := func(org) any { return nil }
	return []endpoint{
		{"create agent", umami.ScopeAgentsWrite, "POST", func(org) string { return "/api/v1/agents" },
			func(g org) any { return map[string]any{"org_id": g.id, "name": "a"} }},
		{"list agents", umami.ScopeAgentsRead, "GET", func(g org) string { return "/api/v1/agents?org_id=" + g.id }, none},
		{"get agent", umami.ScopeAgentsRead, "GET", func(g org) string { return "/api/v1/agents/" + g.agent }, none},
		{"create version", umami.ScopeAgentsWrite, "POST", func(g org) string { return "/api/v1/agents/" + g.agent + "/versions" },
			func(org) any { return map[string]any{"model": "test/echo"} }},
		{"list versions", umami.ScopeAgentsRead, "GET", func(g org) string { return "/api/v1/agents/" + g.agent + "/versions" }, none},
		{"get version", umami.ScopeAgentsRead, "GET", func(g org) string { return "/api/v1/agent-versions/" + g.version }, none},
		{"publish version", umami.ScopeAgentsWrite, "POST", func(g org) string { return "/api/v1/agent-versions/" + g.version + "/publish" }, none},
		{"create run", umami.ScopeRunsCreate, "POST", func(org) string { return "/api/v1/agent-runs" },
			func(g org) any { return map[string]any{"org_id": g.id, "agent_version_id": g.version, "input": "hi"} }},
		{"list runs", umami.ScopeRunsRead, "GET", func(g org) string { return "/api/v1/agent-runs?org_id=" + g.id }, none},
		{"get run", umami.ScopeRunsRead, "GET", func(g org) string { return "/api/v1/agent-runs/" + runID[g.id] }, none},
		{"list steps", umami.ScopeRunsRead, "GET", func(g org) string { return "/api/v1/agent-runs/" + runID[g.id] + "/steps" }, none},
		{"cancel run", umami.ScopeRunsCreate, "POST", func(g org) string { return "/api/v1/agent-runs/" + cancelID[g.id] + "/cancel" }, none},
	}
}

// fixtures makes, per org, one finished run and one canceled run.
func fixtures(e *env) (runID, cancelID map[string]string) {
	runID, cancelID = map[string]string{}, map[string]string{}
	for _, g := range []org{e.a, e.b} {
		runID[g.id] = e.createRun(g, "hello")
		cancelID[g.id] = e.createRun(g, "[[sleep:60s]] never finishes")
		e.mustOK("POST", "/api/v1/agent-runs/"+cancelID[g.id]+"/cancel", g.key, nil)
	}
	return runID, cancelID
}

// TestScopeTable sends every operation with a key of every scope: it
// succeeds exactly when the key has the operation's scope or "*".
func TestScopeTable(t *testing.T) { forEachStore(t, testScopeTable) }

func testScopeTable(t *testing.T, store string) {
	e := setup(t, store, options{})
	runID, cancelID := fixtures(e)
	keys := map[umami.Scope]string{}
	for _, s := range umami.Scopes {
		keys[s] = e.key(e.a.id, s)
	}
	for _, ep := range endpoints(runID, cancelID) {
		for _, s := range umami.Scopes {
			t.Run(fmt.Sprintf("%s/%s", ep.name, s), func(t *testing.T) {
				r := e.do(ep.method, ep.path(e.a), keys[s], ep.body(e.a))
				if s == ep.scope || s == umami.ScopeAll {
					if r.status/100 != 2 {
						t.Fatalf("with %s: %d %s, want success", s, r.status, r.raw)
					}
					return
				}
				wantError(t, r, http.StatusForbidden, umami.EInsufficientScope)
			})
		}
	}
}

// TestOrgIsolation sends every operation on org A's objects with org B's
// full-access key: never a success, and never a hint that A's objects exist.
func TestOrgIsolation(t *testing.T) { forEachStore(t, testOrgIsolation) }

func testOrgIsolation(t *testing.T, store string) {
	e := setup(t, store, options{})
	runID, cancelID := fixtures(e)
	for _, ep := range endpoints(runID, cancelID) {
		t.Run(ep.name, func(t *testing.T) {
			r := e.do(ep.method, ep.path(e.a), e.b.key, ep.body(e.a))
			switch r.status {
			case http.StatusForbidden:
				wantError(t, r, http.StatusForbidden, umami.EOrgMismatch)
			default:
				wantError(t, r, http.StatusNotFound, umami.ENotFound)
			}
		})
	}
	t.Run("run of own org on other org's version", func(t *testing.T) {
		r := e.do("POST", "/api/v1/agent-runs", e.b.key, map[string]any{"org_id": e.b.id, "agent_version_id": e.a.version, "input": "x"})
		wantError(t, r, http.StatusNotFound, umami.ENotFound)
	})
	t.Run("lists without org_id show only own org", func(t *testing.T) {
		for _, path := range []string{"/api/v1/agent-runs", "/api/v1/agents"} {
			for _, item := range e.mustOK("GET", path, e.b.key, nil)["data"].([]any) {
				if item.(map[string]any)["org_id"] != e.b.id {
					t.Errorf("%s with B's key lists %v", path, item)
				}
			}
		}
	})
}

func TestIdempotency(t *testing.T) { forEachStore(t, testIdempotency) }

func testIdempotency(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	body := fmt.Sprintf(`{"org_id":%q,"agent_version_id":%q,"input":"once"}`, e.a.id, e.a.version)
	first := e.do("POST", "/api/v1/agent-runs", e.a.key, body, "Idempotency-Key", "order-42")
	if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first = %d %v", first.status, first.header)
	}
	// The same fields with other spacing and key order are the same request.
	same := fmt.Sprintf(`{ "input": "once", "agent_version_id": %q, "org_id": %q }`, e.a.version, e.a.id)
	again := e.do("POST", "/api/v1/agent-runs", e.a.key, same, "Idempotency-Key", "order-42")
	if again.status != 201 || again.str("run_id") != first.str("run_id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d %s %v; want the first run replayed", again.status, again.raw, again.header)
	}
	other := fmt.Sprintf(`{"org_id":%q,"agent_version_id":%q,"input":"twice"}`, e.a.id, e.a.version)
	wantError(t, e.do("POST", "/api/v1/agent-runs", e.a.key, other, "Idempotency-Key", "order-42"), 409, umami.EIdempotency)
	// Keys are per org: B may use the same key for its own run.
	bBody := fmt.Sprintf(`{"org_id":%q,"agent_version_id":%q,"input":"once"}`, e.b.id, e.b.version)
	if r := e.do("POST", "/api/v1/agent-runs", e.b.key, bBody, "Idempotency-Key", "order-42"); r.status != 201 || r.str("run_id") == first.str("run_id") {
		t.Errorf("B with A's idempotency key = %d %s", r.status, r.raw)
	}
	wantError(t, e.do("POST", "/api/v1/agent-runs", e.a.key, body, "Idempotency-Key", ""), 400, umami.EInvalid)

	// Concurrent retries of one request make exactly one run.
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/v1/agent-runs", e.a.key, body, "Idempotency-Key", "burst")
			ids <- r.str("run_id")
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || seen[""] {
		t.Errorf("concurrent retries made runs %v, want exactly one", seen)
	}
}

func TestCancelQueuedRun(t *testing.T) { forEachStore(t, testCancelQueuedRun) }

func testCancelQueuedRun(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	id := e.createRun(e.a, "wait in line")
	r := e.mustOK("POST", "/api/v1/agent-runs/"+id+"/cancel", e.a.key, nil)
	if r["status"] != umami.RunCanceled || r["completed_at"] == nil || r["error"].(map[string]any)["code"] != umami.RunErrCanceled {
		t.Fatalf("cancel = %v", r)
	}
	if again := e.mustOK("POST", "/api/v1/agent-runs/"+id+"/cancel", e.a.key, nil); again["completed_at"] != r["completed_at"] {
		t.Errorf("second cancel changed the run: %v", again)
	}
	if state := e.jobState(id); state != "cancelled" {
		t.Errorf("job state = %q, want cancelled", state)
	}
}

func TestCancelRunningRun(t *testing.T) { forEachStore(t, testCancelRunningRun) }

func testCancelRunningRun(t *testing.T, store string) {
	e := setup(t, store, options{})
	id := e.createRun(e.a, "[[sleep:30s]] long task")
	e.waitRun(e.a, id, umami.RunRunning)
	canceledAt := time.Now()
	r := e.mustOK("POST", "/api/v1/agent-runs/"+id+"/cancel", e.a.key, nil)
	if r["status"] != umami.RunCanceled {
		t.Fatalf("cancel = %v", r)
	}
	// The worker notices, cancels the model call and releases the job long
	// before the model's 30 s would have passed.
	for time.Since(canceledAt) < 10*time.Second {
		if st := e.jobState(id); st != "running" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := e.jobState(id); st == "running" {
		t.Fatalf("job still running 10 s after cancel")
	}
	if run := e.mustOK("GET", "/api/v1/agent-runs/"+id, e.a.key, nil); run["status"] != umami.RunCanceled || run["output"] != nil {
		t.Errorf("after the worker stopped, run = %v; want still canceled", run)
	}
}

func TestRunListPagination(t *testing.T) { forEachStore(t, testRunListPagination) }

func testRunListPagination(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	var want []string
	for i := range 5 {
		want = append([]string{e.createRun(e.a, fmt.Sprint("run ", i))}, want...)
	}
	var got []string
	path := "/api/v1/agent-runs?limit=2"
	for page := 0; page < 5; page++ {
		r := e.mustOK("GET", path, e.a.key, nil)
		for _, item := range r["data"].([]any) {
			got = append(got, item.(map[string]any)["run_id"].(string))
		}
		if r["has_more"] != true {
			if r["next_cursor"] != nil {
				t.Errorf("last page has next_cursor %v", r["next_cursor"])
			}
			break
		}
		path = "/api/v1/agent-runs?limit=2&after=" + r["next_cursor"].(string)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages = %v, want newest first %v", got, want)
	}
	queued := e.mustOK("GET", "/api/v1/agent-runs?status=queued&agent_version_id="+e.a.version, e.a.key, nil)["data"].([]any)
	if len(queued) != 5 {
		t.Errorf("status+version filter: %d runs, want 5", len(queued))
	}
}

func TestRevocationIsImmediateOnThisNode(t *testing.T) {
	forEachStore(t, testRevocationIsImmediateOnThisNode)
}

func testRevocationIsImmediateOnThisNode(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	k, err := e.platform.CreateKey(context.Background(), e.a.id, "short-lived", []umami.Scope{umami.ScopeRunsRead}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.mustOK("GET", "/api/v1/agent-runs", k.Secret, nil) // now cached
	if _, err := e.platform.RevokeKey(context.Background(), k.Key.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/api/v1/agent-runs", k.Secret, nil), 401, umami.EInvalidAPIKey)
}
