package client

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is an in-memory server speaking the Platform API contract, enough
// to exercise the client. It renders responses from maps with literal field
// names, so that the client's json tags are checked against the contract
// rather than against themselves.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	seq      int
	reqs     []recorded
	agents   []*fakeAgent
	versions []*fakeVersion
	runs     []*fakeRun
	idem     map[string]idemEntry
	// completeAfter is the number of GETs of a run after which it is
	// terminal; the first GET moves it to running.
	completeAfter int
}

type recorded struct {
	Method, RequestURI, Path string
	Header                   http.Header
	Body                     string
}

type idemEntry struct{ body, runID string }

type fakeAgent struct {
	id, org, name, desc string
	created             time.Time
}

type fakeVersion struct {
	id, agentID, org, status, model, instructions string
	number                                        int
	temperature                                   *float64
	maxTokens                                     *int
	tools                                         []string
	metadata                                      map[string]string
	created                                       time.Time
	published                                     *time.Time
}

type fakeRun struct {
	id, org, agentID, versionID, status, input string
	output                                     *string
	errCode, errMsg                            string
	metadata                                   map[string]string
	created                                    time.Time
	started, completed                         *time.Time
	gets                                       int
}

const (
	testKey = "umami_test"
	testOrg = "0190a000-0000-7000-8000-000000000001"
)

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, idem: map[string]idemEntry{}, completeAfter: 3}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agents", f.createAgent)
	mux.HandleFunc("GET /api/v1/agents", f.listAgents)
	mux.HandleFunc("GET /api/v1/agents/{id}", f.getAgent)
	mux.HandleFunc("POST /api/v1/agents/{id}/versions", f.createVersion)
	mux.HandleFunc("GET /api/v1/agents/{id}/versions", f.listVersions)
	mux.HandleFunc("GET /api/v1/agent-versions/{id}", f.getVersion)
	mux.HandleFunc("POST /api/v1/agent-versions/{id}/publish", f.publishVersion)
	mux.HandleFunc("POST /api/v1/agent-runs", f.createRun)
	mux.HandleFunc("GET /api/v1/agent-runs", f.listRuns)
	mux.HandleFunc("GET /api/v1/agent-runs/{id}", f.getRun)
	mux.HandleFunc("GET /api/v1/agent-runs/{id}/steps", f.listSteps)
	mux.HandleFunc("POST /api/v1/agent-runs/{id}/cancel", f.cancelRun)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seq++
		reqID := fmt.Sprintf("req_%d", f.seq)
		f.reqs = append(f.reqs, recorded{r.Method, r.RequestURI, r.URL.Path, r.Header.Clone(), string(body)})
		f.mu.Unlock()
		w.Header().Set("X-Request-Id", reqID)
		r.Body = io.NopCloser(strings.NewReader(string(body)))

		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") {
			writeErr(w, r, 401, "missing_api_key", "Missing API key.")
			return
		}
		if strings.TrimPrefix(auth, "Bearer ") != testKey {
			writeErr(w, r, 401, "invalid_api_key", "Invalid API key.")
			return
		}
		if r.Method == http.MethodPost && len(body) > 0 {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				writeErr(w, r, 415, "unsupported_media_type", "Content-Type must be application/json.")
				return
			}
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			writeErr(w, r, 404, "not_found", "No such path.")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) client(opts ...Option) *Client { return New(f.srv.URL, testKey, opts...) }

// requests returns the requests received so far.
func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fakeAPI) last() recorded {
	r := f.requests()
	return r[len(r)-1]
}

func writeErr(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": code, "message": msg, "request_id": w.Header().Get("X-Request-Id")})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) newID() string {
	f.seq++
	return fmt.Sprintf("0190a000-0000-7000-8000-%012d", 1000+f.seq)
}

// decode decodes the body strictly like the real server, writing a 400 on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, r, 400, "invalid_request", "Invalid JSON: "+err.Error())
		return false
	}
	return true
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func strMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (a *fakeAgent) render() map[string]any {
	return map[string]any{"agent_id": a.id, "org_id": a.org, "name": a.name, "description": a.desc, "created_at": ts(a.created)}
}

func (v *fakeVersion) render() map[string]any {
	tools := v.tools
	if tools == nil {
		tools = []string{}
	}
	var temp, maxTok any
	if v.temperature != nil {
		temp = *v.temperature
	}
	if v.maxTokens != nil {
		maxTok = *v.maxTokens
	}
	return map[string]any{
		"agent_version_id": v.id, "agent_id": v.agentID, "org_id": v.org, "version": v.number,
		"status": v.status, "model": v.model, "instructions": v.instructions, "temperature": temp,
		"max_output_tokens": maxTok, "tools": tools, "metadata": strMap(v.metadata),
		"created_at": ts(v.created), "published_at": tsp(v.published),
	}
}

func (r *fakeRun) render() map[string]any {
	var out, rerr any
	if r.output != nil {
		out = *r.output
	}
	if r.errCode != "" {
		rerr = map[string]any{"code": r.errCode, "message": r.errMsg}
	}
	usage := map[string]any{"input_tokens": 0, "output_tokens": 0}
	if r.status == "succeeded" {
		usage = map[string]any{"input_tokens": 7, "output_tokens": 9}
	}
	return map[string]any{
		"run_id": r.id, "org_id": r.org, "agent_id": r.agentID, "agent_version_id": r.versionID,
		"status": r.status, "input": r.input, "output": out, "error": rerr, "usage": usage,
		"metadata": strMap(r.metadata), "created_at": ts(r.created), "started_at": tsp(r.started),
		"completed_at": tsp(r.completed),
	}
}

// page renders one newest-first page of items (given oldest first).
func page[T any](w http.ResponseWriter, r *http.Request, items []T, id func(T) string, render func(T) map[string]any) {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeErr(w, r, 400, "invalid_request", "limit must be an integer in 1..100.")
			return
		}
		limit = n
	}
	after := r.URL.Query().Get("after")
	data := []map[string]any{}
	var last string
	more := false
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if after != "" && id(it) >= after {
			continue
		}
		if len(data) == limit {
			more = true
			break
		}
		data = append(data, render(it))
		last = id(it)
	}
	var next any
	if more {
		next = last
	}
	writeJSON(w, 200, map[string]any{"data": data, "has_more": more, "next_cursor": next})
}

func (f *fakeAPI) createAgent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrgID       string `json:"org_id"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.OrgID != testOrg {
		writeErr(w, r, 403, "org_mismatch", "org_id is not the API key's org.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := &fakeAgent{f.newID(), req.OrgID, req.Name, req.Description, time.Now()}
	f.agents = append(f.agents, a)
	writeJSON(w, 201, a.render())
}

func (f *fakeAPI) listAgents(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	page(w, r, f.agents, func(a *fakeAgent) string { return a.id }, (*fakeAgent).render)
}

func (f *fakeAPI) agent(id string) *fakeAgent {
	for _, a := range f.agents {
		if a.id == id {
			return a
		}
	}
	return nil
}

func (f *fakeAPI) version(id string) *fakeVersion {
	for _, v := range f.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (f *fakeAPI) run(id string) *fakeRun {
	for _, x := range f.runs {
		if x.id == id {
			return x
		}
	}
	return nil
}

func (f *fakeAPI) getAgent(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.agent(r.PathValue("id"))
	if a == nil {
		writeErr(w, r, 404, "not_found", "Agent not found.")
		return
	}
	writeJSON(w, 200, a.render())
}

func (f *fakeAPI) createVersion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model           string            `json:"model"`
		Instructions    string            `json:"instructions"`
		Temperature     *float64          `json:"temperature"`
		MaxOutputTokens *int              `json:"max_output_tokens"`
		Tools           []string          `json:"tools"`
		Metadata        map[string]string `json:"metadata"`
	}
	if !decode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.agent(r.PathValue("id"))
	if a == nil {
		writeErr(w, r, 404, "not_found", "Agent not found.")
		return
	}
	n := 1
	for _, v := range f.versions {
		if v.agentID == a.id {
			n++
		}
	}
	v := &fakeVersion{id: f.newID(), agentID: a.id, org: a.org, status: "draft", model: req.Model,
		instructions: req.Instructions, number: n, temperature: req.Temperature, maxTokens: req.MaxOutputTokens,
		tools: req.Tools, metadata: req.Metadata, created: time.Now()}
	f.versions = append(f.versions, v)
	writeJSON(w, 201, v.render())
}

func (f *fakeAPI) listVersions(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	if f.agent(id) == nil {
		writeErr(w, r, 404, "not_found", "Agent not found.")
		return
	}
	var vs []*fakeVersion
	for _, v := range f.versions {
		if v.agentID == id {
			vs = append(vs, v)
		}
	}
	page(w, r, vs, func(v *fakeVersion) string { return v.id }, (*fakeVersion).render)
}

func (f *fakeAPI) getVersion(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.version(r.PathValue("id"))
	if v == nil {
		writeErr(w, r, 404, "not_found", "Agent version not found.")
		return
	}
	writeJSON(w, 200, v.render())
}

func (f *fakeAPI) publishVersion(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.version(r.PathValue("id"))
	if v == nil {
		writeErr(w, r, 404, "not_found", "Agent version not found.")
		return
	}
	if v.status == "draft" {
		now := time.Now()
		v.status, v.published = "published", &now
	}
	writeJSON(w, 200, v.render())
}

func (f *fakeAPI) createRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrgID          string            `json:"org_id"`
		AgentVersionID string            `json:"agent_version_id"`
		Input          string            `json:"input"`
		Metadata       map[string]string `json:"metadata"`
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(raw)))
	if !decode(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if e, ok := f.idem[key]; ok {
			if e.body != string(raw) {
				writeErr(w, r, 409, "idempotency_conflict", "Idempotency-Key was used with a different body.")
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, 201, f.run(e.runID).render())
			return
		}
	}
	if req.OrgID != testOrg {
		writeErr(w, r, 403, "org_mismatch", "org_id is not the API key's org.")
		return
	}
	if req.Input == "" {
		writeErr(w, r, 400, "invalid_request", "input must be 1..100000 characters.")
		return
	}
	v := f.version(req.AgentVersionID)
	if v == nil {
		writeErr(w, r, 404, "not_found", "Agent version not found.")
		return
	}
	if v.status != "published" {
		writeErr(w, r, 400, "invalid_request", "Agent version is a draft.")
		return
	}
	run := &fakeRun{id: f.newID(), org: req.OrgID, agentID: v.agentID, versionID: v.id, status: "queued",
		input: req.Input, metadata: req.Metadata, created: time.Now()}
	f.runs = append(f.runs, run)
	if key != "" {
		f.idem[key] = idemEntry{string(raw), run.id}
	}
	writeJSON(w, 201, run.render())
}

func (f *fakeAPI) listRuns(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	var rs []*fakeRun
	for _, x := range f.runs {
		if (q.Get("status") == "" || x.status == q.Get("status")) &&
			(q.Get("agent_version_id") == "" || x.versionID == q.Get("agent_version_id")) {
			rs = append(rs, x)
		}
	}
	page(w, r, rs, func(x *fakeRun) string { return x.id }, (*fakeRun).render)
}

func (f *fakeAPI) getRun(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.run(r.PathValue("id"))
	if x == nil {
		writeErr(w, r, 404, "not_found", "Run not found.")
		return
	}
	x.gets++
	f.advance(x)
	writeJSON(w, 200, x.render())
}

// advance moves a run along as it is polled: running at the first GET,
// terminal at the completeAfter-th. Input "[[fail]]" fails, "[[never]]"
// stays queued.
func (f *fakeAPI) advance(x *fakeRun) {
	if x.input == "[[never]]" || x.status == "succeeded" || x.status == "failed" || x.status == "canceled" {
		return
	}
	now := time.Now()
	if x.started == nil {
		x.status, x.started = "running", &now
	}
	if x.gets < f.completeAfter {
		return
	}
	x.completed = &now
	if x.input == "[[fail]]" {
		x.status, x.errCode, x.errMsg = "failed", "model_error", "The model failed."
		return
	}
	out := "Echo: " + x.input
	x.status, x.output = "succeeded", &out
}

func (f *fakeAPI) listSteps(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.run(r.PathValue("id"))
	if x == nil {
		writeErr(w, r, 404, "not_found", "Run not found.")
		return
	}
	data := []map[string]any{}
	if x.completed != nil {
		data = append(data,
			map[string]any{"index": 0, "type": "tool_call", "name": "current_time", "input": "{}",
				"output": "2026-12-03T18:49:18Z", "error": nil, "usage": nil,
				"started_at": ts(*x.started), "completed_at": ts(*x.started)},
			map[string]any{"index": 1, "type": "model_call", "name": "test/echo", "input": x.input,
				"output": "Echo: " + x.input, "error": nil, "usage": map[string]any{"input_tokens": 7, "output_tokens": 9},
				"started_at": ts(*x.started), "completed_at": ts(*x.completed)})
	}
	writeJSON(w, 200, map[string]any{"data": data})
}

func (f *fakeAPI) cancelRun(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.run(r.PathValue("id"))
	if x == nil {
		writeErr(w, r, 404, "not_found", "Run not found.")
		return
	}
	switch x.status {
	case "succeeded", "failed":
		writeErr(w, r, 409, "run_not_cancelable", "The run is "+x.status+".")
		return
	case "queued", "running":
		now := time.Now()
		x.status, x.completed, x.errCode, x.errMsg = "canceled", &now, "canceled", "Canceled through the API."
	}
	writeJSON(w, 200, x.render())
}
