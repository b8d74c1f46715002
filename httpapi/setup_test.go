package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/agent"
	"github.com/umamiai/umami/httpapi"
	"github.com/umamiai/umami/httpapi/openapi"
	"github.com/umamiai/umami/httpapi/openapi/openapitest"
	"github.com/umamiai/umami/internal/pgtest"
	"github.com/umamiai/umami/llm"
	"github.com/umamiai/umami/llm/testmodel"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/postgres"
	"github.com/umamiai/umami/queue"
	"github.com/umamiai/umami/sqlite"
	"github.com/umamiai/umami/worker"
)

// env is a live API on a fresh SQLite file, with workers on the test model,
// two orgs, and a client that checks every exchange against the OpenAPI
// document.
type env struct {
	t        *testing.T
	url      string
	http     *http.Client
	store    umami.Store
	platform *platform.Platform
	a, b     org
	// jobState returns the state of the River job of a run.
	jobState func(runID string) string
}

// forEachStore runs a test against SQLite and against PostgreSQL.
func forEachStore(t *testing.T, test func(t *testing.T, store string)) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			test(t, store)
		})
	}
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// org is one tenant's fixtures: a full-access key, an agent, a published
// version and a draft.
type org struct {
	id, key, agent, version, draft string
}

type options struct {
	noWorkers  bool
	runTimeout time.Duration
}

func setup(t *testing.T, store string, opts options) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &env{t: t}
	var workers func(*worker.RunWorker) (jobRunner, error)
	switch store {
	case "sqlite":
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "umami.db"))
		if err != nil {
			t.Fatal(err)
		}
		e.store = db
		e.jobState = func(runID string) string {
			return scanState(t, db.Writer().QueryRowContext(ctx,
				`SELECT j.state FROM river_job j JOIN runs r ON r.job_id = j.id WHERE r.id = ?`, runID))
		}
		workers = func(w *worker.RunWorker) (jobRunner, error) {
			return worker.NewClient(db.RiverDriver(), w, queue.Settings{Logger: log})
		}
	case "postgres":
		db, err := postgres.Open(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		e.store = db
		e.jobState = func(runID string) string {
			return scanState(t, db.Pool().QueryRow(ctx,
				`SELECT j.state::text FROM river_job j JOIN runs r ON r.job_id = j.id WHERE r.id = $1`, runID))
		}
		workers = func(w *worker.RunWorker) (jobRunner, error) {
			return worker.NewClient(db.RiverDriver(), w, queue.Settings{Logger: log})
		}
	}
	t.Cleanup(func() { e.store.Close() }) // last: after workers and server stop
	tools := agent.BuiltinTools(time.Now)
	p := platform.New(platform.Config{Store: e.store, Providers: []string{"openai", "anthropic", "test"},
		Tools: []string{"current_time"}, Logger: log})
	if !opts.noWorkers {
		w := &worker.RunWorker{Platform: p, Runtime: &agent.Runtime{Models: llm.Registry{"test": testmodel.New()}, Tools: tools},
			RunTimeout: cmp.Or(opts.runTimeout, time.Minute), WatchInterval: 50 * time.Millisecond, Logger: log}
		client, err := workers(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.StopAndCancel(context.Background()) })
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Platform: p, Ready: e.store.Ping, Logger: log}))
	t.Cleanup(srv.Close)
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := openapitest.NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.url, e.http, e.platform = srv.URL, &http.Client{Transport: v.Transport(t, nil)}, p
	e.a, e.b = e.newOrg("A"), e.newOrg("B")
	return e
}

// jobRunner is the part of a River client the tests drive.
type jobRunner interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// scanState reads one job state.
func scanState(t *testing.T, row interface{ Scan(...any) error }) string {
	var state string
	if err := row.Scan(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

func (e *env) newOrg(name string) org {
	ctx := context.Background()
	o, err := e.platform.CreateOrg(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	g := org{id: o.ID, key: e.key(o.ID, umami.ScopeAll)}
	g.agent = e.mustOK("POST", "/api/v1/agents", g.key, map[string]any{"org_id": g.id, "name": "support"})["agent_id"].(string)
	g.version = e.mustOK("POST", "/api/v1/agents/"+g.agent+"/versions", g.key,
		map[string]any{"model": "test/echo", "tools": []string{"current_time"}})["agent_version_id"].(string)
	e.mustOK("POST", "/api/v1/agent-versions/"+g.version+"/publish", g.key, nil)
	g.draft = e.mustOK("POST", "/api/v1/agents/"+g.agent+"/versions", g.key, map[string]any{"model": "test/echo"})["agent_version_id"].(string)
	return g
}

// key creates an API key of org with the given scopes.
func (e *env) key(orgID string, scopes ...umami.Scope) string {
	k, err := e.platform.CreateKey(context.Background(), orgID, "test", scopes, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.Secret
}

// response is a decoded API response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) str(field string) string { s, _ := r.body[field].(string); return s }

// do sends a request. body is nil (no body), a string (sent as is), or a
// value marshalled to JSON. hdr holds header name/value pairs; a
// Content-Type given there replaces application/json.
func (e *env) do(method, path, key string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	json.Unmarshal(raw, &out.body)
	return out
}

// mustOK sends a request that must succeed and returns its body.
func (e *env) mustOK(method, path, key string, body any) map[string]any {
	e.t.Helper()
	r := e.do(method, path, key, body)
	if r.status/100 != 2 {
		e.t.Fatalf("%s %s = %d %s", method, path, r.status, r.raw)
	}
	return r.body
}

// wantError checks an error response's status, code and shape.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %q", r.status, r.raw, status, code)
	}
	if r.str("message") == "" || r.str("request_id") == "" || r.str("request_id") != r.header.Get("X-Request-Id") {
		t.Errorf("error body %s lacks message or request_id matching X-Request-Id %q", r.raw, r.header.Get("X-Request-Id"))
	}
}

// createRun creates a run of org g's published version.
func (e *env) createRun(g org, input string) string {
	e.t.Helper()
	return e.mustOK("POST", "/api/v1/agent-runs", g.key,
		map[string]any{"org_id": g.id, "agent_version_id": g.version, "input": input})["run_id"].(string)
}

// waitRun polls a run until it reaches one of the statuses.
func (e *env) waitRun(g org, runID string, statuses ...string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		run := e.mustOK("GET", "/api/v1/agent-runs/"+runID, g.key, nil)
		for _, s := range statuses {
			if run["status"] == s {
				return run
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("run %s never reached %v", runID, statuses)
	return nil
}
