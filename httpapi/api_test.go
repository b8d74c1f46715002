package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
)

func TestGuideFlow(t *testing.T) { forEachStore(t, testGuideFlow) }

func testGuideFlow(t *testing.T, store string) {
	e := setup(t, store, options{})
	input := "Draft a concise incident summary for leadership."
	r := e.do("POST", "/api/v1/agent-runs", e.a.key, fmt.Sprintf(`{"org_id":%q,"agent_version_id":%q,"input":%q}`, e.a.id, e.a.version, input))
	if r.status != http.StatusCreated || r.str("status") != umami.RunQueued || r.str("run_id") == "" {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	run := e.waitRun(e.a, r.str("run_id"), umami.RunSucceeded, umami.RunFailed)
	if run["status"] != umami.RunSucceeded || run["output"] != "Echo: "+input || run["error"] != nil {
		t.Fatalf("run = %v", run)
	}
	usage := run["usage"].(map[string]any)
	if usage["input_tokens"].(float64) < 1 || usage["output_tokens"].(float64) < 1 {
		t.Errorf("usage = %v, want tokens counted", usage)
	}
	if run["started_at"] == nil || run["completed_at"] == nil || run["agent_id"] != e.a.agent {
		t.Errorf("run = %v", run)
	}
	steps := e.mustOK("GET", "/api/v1/agent-runs/"+r.str("run_id")+"/steps", e.a.key, nil)["data"].([]any)
	if len(steps) != 1 || steps[0].(map[string]any)["type"] != "model_call" {
		t.Errorf("steps = %v, want one model call", steps)
	}
}

func TestRunOutcomes(t *testing.T) { forEachStore(t, testRunOutcomes) }

func testRunOutcomes(t *testing.T, store string) {
	e := setup(t, store, options{runTimeout: 500 * time.Millisecond})
	tests := []struct {
		input, status, code string
		steps               int
	}{
		{"[[fail]] please", umami.RunFailed, umami.RunErrModel, 1},
		{"[[sleep:5s]] slow", umami.RunFailed, umami.RunErrTimeout, 1},
		{"what time is it? [[tool:current_time]]", umami.RunSucceeded, "", 3},
		{"[[sleep:abc]]", umami.RunFailed, umami.RunErrModel, 1},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			id := e.createRun(e.a, tt.input)
			run := e.waitRun(e.a, id, umami.RunSucceeded, umami.RunFailed)
			if run["status"] != tt.status {
				t.Fatalf("status = %v (%v), want %s", run["status"], run["error"], tt.status)
			}
			if tt.code != "" {
				if errObj, _ := run["error"].(map[string]any); errObj["code"] != tt.code || errObj["message"] == "" {
					t.Errorf("error = %v, want code %s", run["error"], tt.code)
				}
			}
			steps := e.mustOK("GET", "/api/v1/agent-runs/"+id+"/steps", e.a.key, nil)["data"].([]any)
			if len(steps) != tt.steps {
				t.Errorf("%d steps, want %d: %v", len(steps), tt.steps, steps)
			}
		})
	}
	id := e.createRun(e.a, "time? [[tool:current_time]]")
	run := e.waitRun(e.a, id, umami.RunSucceeded)
	if out := run["output"].(string); !strings.Contains(out, "Tool current_time returned: 20") {
		t.Errorf("output %q lacks the tool's answer", out)
	}
}

func TestErrorCodes(t *testing.T) { forEachStore(t, testErrorCodes) }

func testErrorCodes(t *testing.T, store string) {
	e := setup(t, store, options{})
	ctx := context.Background()
	runsOnly := e.key(e.a.id, umami.ScopeRunsRead)
	revoked, _ := e.platform.CreateKey(ctx, e.a.id, "revoked", []umami.Scope{umami.ScopeAll}, 0)
	if _, err := e.platform.RevokeKey(ctx, revoked.Key.ID); err != nil {
		t.Fatal(err)
	}
	expiring, _ := e.platform.CreateKey(ctx, e.a.id, "expiring", []umami.Scope{umami.ScopeAll}, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	unknown := umami.NewKeySecret()
	runID := e.createRun(e.a, "hello")
	e.waitRun(e.a, runID, umami.RunSucceeded)
	otherRun := e.createRun(e.b, "theirs")
	good := func(extra string) string {
		return fmt.Sprintf(`{"org_id":%q,"agent_version_id":%q,"input":"hi"%s}`, e.a.id, e.a.version, extra)
	}
	tests := []struct {
		name, method, path, key string
		body                    any
		hdr                     []string
		status                  int
		code                    string
		msg                     string // part of the message
	}{
		{"no key", "GET", "/api/v1/agent-runs/" + runID, "", nil, nil, 401, umami.EMissingAPIKey, "Bearer"},
		{"basic auth", "GET", "/api/v1/agent-runs/" + runID, "", nil, []string{"Authorization", "Basic dTpw"}, 401, umami.EMissingAPIKey, "Bearer"},
		{"malformed key", "GET", "/api/v1/agent-runs/" + runID, "umami_nope", nil, nil, 401, umami.EInvalidAPIKey, "invalid"},
		{"bad checksum", "GET", "/api/v1/agent-runs/" + runID, unknown[:len(unknown)-1] + "x", nil, nil, 401, umami.EInvalidAPIKey, "invalid"},
		{"unknown key", "GET", "/api/v1/agent-runs/" + runID, unknown, nil, nil, 401, umami.EInvalidAPIKey, "invalid"},
		{"revoked key", "GET", "/api/v1/agent-runs/" + runID, revoked.Secret, nil, nil, 401, umami.EInvalidAPIKey, "revoked"},
		{"expired key", "GET", "/api/v1/agent-runs/" + runID, expiring.Secret, nil, nil, 401, umami.EInvalidAPIKey, "expired"},
		{"missing scope", "POST", "/api/v1/agent-runs", runsOnly, good(""), nil, 403, umami.EInsufficientScope, "runs:create"},
		{"missing scope beats a bad body", "POST", "/api/v1/agent-runs", runsOnly, `{"nope":`, nil, 403, umami.EInsufficientScope, "runs:create"},
		{"other org in body", "POST", "/api/v1/agent-runs", e.b.key, good(""), nil, 403, umami.EOrgMismatch, "org_id"},
		{"other org in query", "GET", "/api/v1/agent-runs?org_id=" + e.a.id, e.b.key, nil, nil, 403, umami.EOrgMismatch, "org_id"},
		{"unknown field", "POST", "/api/v1/agent-runs", e.a.key, good(`,"stream":true`), nil, 400, umami.EInvalid, `"stream"`},
		{"wrong type", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":"` + e.a.id + `","agent_version_id":"` + e.a.version + `","input":42}`, nil, 400, umami.EInvalid, "input must be a string"},
		{"metadata value type", "POST", "/api/v1/agent-runs", e.a.key, good(`,"metadata":{"a":1}`), nil, 400, umami.EInvalid, "metadata"},
		{"not json", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":`, nil, 400, umami.EInvalid, "not valid JSON"},
		{"two objects", "POST", "/api/v1/agent-runs", e.a.key, good("") + "{}", nil, 400, umami.EInvalid, "single JSON object"},
		{"array body", "POST", "/api/v1/agent-runs", e.a.key, `[]`, nil, 400, umami.EInvalid, "object"},
		{"empty body", "POST", "/api/v1/agent-runs", e.a.key, ``, nil, 400, umami.EInvalid, "empty"},
		{"malformed version uuid", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":"` + e.a.id + `","agent_version_id":"v1","input":"x"}`, nil, 400, umami.EInvalid, "agent_version_id must be a UUID"},
		{"malformed org uuid", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":"acme","agent_version_id":"` + e.a.version + `","input":"x"}`, nil, 400, umami.EInvalid, "org_id must be a UUID"},
		{"missing org", "POST", "/api/v1/agent-runs", e.a.key, `{"agent_version_id":"` + e.a.version + `","input":"x"}`, nil, 400, umami.EInvalid, "org_id is required"},
		{"empty input", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":"` + e.a.id + `","agent_version_id":"` + e.a.version + `","input":""}`, nil, 400, umami.EInvalid, "input"},
		{"oversized input", "POST", "/api/v1/agent-runs", e.a.key, map[string]any{"org_id": e.a.id, "agent_version_id": e.a.version, "input": strings.Repeat("x", platform.MaxInputChars+1)}, nil, 400, umami.EInvalid, "limit is 100000"},
		{"NUL in input", "POST", "/api/v1/agent-runs", e.a.key, `{"org_id":"` + e.a.id + `","agent_version_id":"` + e.a.version + `","input":"a\u0000b"}`, nil, 400, umami.EInvalid, "input must not contain the NUL character"},
		{"NUL in metadata", "POST", "/api/v1/agent-runs", e.a.key, good(`,"metadata":{"k":"\u0000"}`), nil, 400, umami.EInvalid, "metadata.k must not contain the NUL character"},
		{"NUL in agent name", "POST", "/api/v1/agents", e.a.key, `{"org_id":"` + e.a.id + `","name":"a\u0000"}`, nil, 400, umami.EInvalid, "name must not contain the NUL character"},
		{"too much metadata", "POST", "/api/v1/agent-runs", e.a.key, map[string]any{"org_id": e.a.id, "agent_version_id": e.a.version, "input": "x", "metadata": manyKeys(17)}, nil, 400, umami.EInvalid, "metadata"},
		{"draft version", "POST", "/api/v1/agent-runs", e.a.key, map[string]any{"org_id": e.a.id, "agent_version_id": e.a.draft, "input": "x"}, nil, 400, umami.EInvalid, "draft"},
		{"malformed run id", "GET", "/api/v1/agent-runs/123", e.a.key, nil, nil, 400, umami.EInvalid, "run_id must be a UUID"},
		{"bad status filter", "GET", "/api/v1/agent-runs?status=done", e.a.key, nil, nil, 400, umami.EInvalid, "status"},
		{"bad limit", "GET", "/api/v1/agent-runs?limit=500", e.a.key, nil, nil, 400, umami.EInvalid, "limit"},
		{"unknown query", "GET", "/api/v1/agent-runs?page=2", e.a.key, nil, nil, 400, umami.EInvalid, "page"},
		{"bad model", "POST", "/api/v1/agents/" + e.a.agent + "/versions", e.a.key, `{"model":"gpt-4o"}`, nil, 400, umami.EInvalid, "provider/model"},
		{"unknown provider", "POST", "/api/v1/agents/" + e.a.agent + "/versions", e.a.key, `{"model":"acme/x"}`, nil, 400, umami.EInvalid, "unknown provider"},
		{"unknown tool", "POST", "/api/v1/agents/" + e.a.agent + "/versions", e.a.key, `{"model":"test/echo","tools":["rm"]}`, nil, 400, umami.EInvalid, "unknown tool"},
		{"temperature", "POST", "/api/v1/agents/" + e.a.agent + "/versions", e.a.key, `{"model":"test/echo","temperature":3}`, nil, 400, umami.EInvalid, "temperature"},
		{"body on publish", "POST", "/api/v1/agent-versions/" + e.a.version + "/publish", e.a.key, `{"x":1}`, nil, 400, umami.EInvalid, "no request body"},
		{"absent run", "GET", "/api/v1/agent-runs/0190a5b0-0000-7000-8000-000000000000", e.a.key, nil, nil, 404, umami.ENotFound, "not found"},
		{"other org's run", "GET", "/api/v1/agent-runs/" + otherRun, e.a.key, nil, nil, 404, umami.ENotFound, "not found"},
		{"other org's version", "POST", "/api/v1/agent-runs", e.a.key, map[string]any{"org_id": e.a.id, "agent_version_id": e.b.version, "input": "x"}, nil, 404, umami.ENotFound, "not found"},
		{"unknown path", "GET", "/api/v1/nope", e.a.key, nil, nil, 404, umami.ENotFound, "/api/v1/nope"},
		{"unknown path without key", "GET", "/api/v2/agent-runs", "", nil, nil, 404, umami.ENotFound, "no such endpoint"},
		{"wrong method", "DELETE", "/api/v1/agent-runs/" + runID, e.a.key, nil, nil, 405, umami.EMethodNotAllowed, "DELETE"},
		{"too large", "POST", "/api/v1/agent-runs", e.a.key, `{"input":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, umami.EPayloadTooLarge, "bytes"},
		{"form body", "POST", "/api/v1/agent-runs", e.a.key, "org_id=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, umami.EUnsupportedMedia, "application/json"},
		{"finished run cancel", "POST", "/api/v1/agent-runs/" + runID + "/cancel", e.a.key, nil, nil, 409, umami.ERunNotCancelable, "succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.key, tt.body, tt.hdr...)
			wantError(t, r, tt.status, tt.code)
			if !strings.Contains(r.str("message"), tt.msg) {
				t.Errorf("message %q does not mention %q", r.str("message"), tt.msg)
			}
		})
	}
	t.Run("405 lists allowed methods", func(t *testing.T) {
		r := e.do("PUT", "/api/v1/agent-runs", e.a.key, nil)
		if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow = %q", allow)
		}
	})
}

func manyKeys(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprint("k", i)] = "v"
	}
	return m
}

func TestInternalErrorHidesDetail(t *testing.T) { forEachStore(t, testInternalErrorHidesDetail) }

func testInternalErrorHidesDetail(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	e.store.Close() // every query now fails inside the store
	r := e.do("GET", "/api/v1/agent-runs/0190a5b0-0000-7000-8000-000000000000", e.a.key, nil)
	wantError(t, r, 500, umami.EInternal)
	if strings.Contains(r.raw, "sql") || strings.Contains(r.raw, "closed") {
		t.Errorf("500 leaks detail: %s", r.raw)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 503 {
		t.Errorf("readyz on a closed store = %d", r.status)
	}
}

func TestHealthAndOpenAPI(t *testing.T) { forEachStore(t, testHealthAndOpenAPI) }

func testHealthAndOpenAPI(t *testing.T, store string) {
	e := setup(t, store, options{noWorkers: true})
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.do("GET", path, "", nil); r.status != 200 || r.str("status") != "ok" {
			t.Errorf("%s = %d %s", path, r.status, r.raw)
		}
	}
	r := e.do("GET", "/openapi.json", "", nil)
	if r.status != 200 || r.str("openapi") != "3.1.0" {
		t.Errorf("openapi.json = %d", r.status)
	}
	e.createRun(e.a, "count me")
	m := e.do("GET", "/metrics", "", nil)
	if m.status != 200 || !strings.Contains(m.raw, `umami_http_requests_total{code="201"}`) {
		t.Errorf("metrics = %d %s", m.status, m.raw)
	}
}
