package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umamiai/umami"
)

// setup creates an agent with a published version on f.
func setup(t *testing.T, f *fakeAPI) (*Client, *Agent, *AgentVersion) {
	t.Helper()
	ctx := context.Background()
	c := f.client()
	a, err := c.CreateAgent(ctx, CreateAgent{OrgID: testOrg, Name: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.CreateAgentVersion(ctx, a.AgentID, CreateAgentVersion{Model: "test/echo"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = c.PublishAgentVersion(ctx, v.AgentVersionID); err != nil {
		t.Fatal(err)
	}
	return c, a, v
}

func assertJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestHeaders(t *testing.T) {
	f := newFakeAPI(t)
	c, _, v := setup(t, f)
	ctx := context.Background()

	run, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	post := f.last()
	if post.Method != "POST" || post.Path != "/api/v1/agent-runs" {
		t.Errorf("request = %s %s", post.Method, post.Path)
	}
	if got := post.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := post.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := post.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if _, ok := post.Header["Idempotency-Key"]; ok {
		t.Error("Idempotency-Key sent without the option")
	}

	if _, err := c.GetRun(ctx, run.RunID); err != nil {
		t.Fatal(err)
	}
	get := f.last()
	if get.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("GET Authorization = %q", get.Header.Get("Authorization"))
	}
	if ct := get.Header.Get("Content-Type"); ct != "" || get.Body != "" {
		t.Errorf("GET has Content-Type %q, body %q", ct, get.Body)
	}

	// POST without a body: no Content-Type, empty body.
	if _, err := c.CancelRun(ctx, run.RunID); err != nil {
		t.Fatal(err)
	}
	cancel := f.last()
	if ct := cancel.Header.Get("Content-Type"); ct != "" || cancel.Body != "" {
		t.Errorf("cancel has Content-Type %q, body %q", ct, cancel.Body)
	}
}

func TestAgentsAndVersions(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client()
	ctx := context.Background()

	a, err := c.CreateAgent(ctx, CreateAgent{OrgID: testOrg, Name: "support"})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.last().Body, `{"org_id":"`+testOrg+`","name":"support"}`)
	if a.AgentID == "" || a.OrgID != testOrg || a.Name != "support" || a.Description != "" || a.CreatedAt.IsZero() {
		t.Errorf("agent = %+v", a)
	}
	a2, err := c.CreateAgent(ctx, CreateAgent{OrgID: testOrg, Name: "sales", Description: "Sells."})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.last().Body, `{"org_id":"`+testOrg+`","name":"sales","description":"Sells."}`)

	got, err := c.GetAgent(ctx, a.AgentID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("GetAgent = %+v, want %+v", got, a)
	}

	list, err := c.ListAgents(ctx, ListAgentsParams{OrgID: testOrg, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if uri := f.last().RequestURI; uri != "/api/v1/agents?limit=1&org_id="+testOrg {
		t.Errorf("RequestURI = %q", uri)
	}
	if len(list.Data) != 1 || list.Data[0].AgentID != a2.AgentID || !list.HasMore || list.NextCursor == nil {
		t.Fatalf("first page = %+v", list)
	}
	list, err = c.ListAgents(ctx, ListAgentsParams{After: *list.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || list.Data[0].AgentID != a.AgentID || list.HasMore || list.NextCursor != nil {
		t.Fatalf("second page = %+v", list)
	}

	temp, maxTok := 0.0, 256
	v, err := c.CreateAgentVersion(ctx, a.AgentID, CreateAgentVersion{
		Model: "test/echo", Instructions: "Be brief.", Temperature: &temp, MaxOutputTokens: &maxTok,
		Tools: []string{"current_time"}, Metadata: map[string]string{"team": "core"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.last().Path; p != "/api/v1/agents/"+a.AgentID+"/versions" {
		t.Errorf("path = %q", p)
	}
	assertJSON(t, f.last().Body, `{"model":"test/echo","instructions":"Be brief.","temperature":0,
		"max_output_tokens":256,"tools":["current_time"],"metadata":{"team":"core"}}`)
	if v.Status != "draft" || v.Version != 1 || v.PublishedAt != nil || v.Temperature == nil || *v.Temperature != 0 ||
		v.MaxOutputTokens == nil || *v.MaxOutputTokens != 256 || !reflect.DeepEqual(v.Tools, []string{"current_time"}) ||
		v.Metadata["team"] != "core" || v.AgentID != a.AgentID || v.OrgID != testOrg || v.Model != "test/echo" ||
		v.Instructions != "Be brief." {
		t.Errorf("version = %+v", v)
	}

	v2, err := c.CreateAgentVersion(ctx, a.AgentID, CreateAgentVersion{Model: "test/echo"})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.last().Body, `{"model":"test/echo"}`)
	if v2.Version != 2 || v2.Temperature != nil || v2.MaxOutputTokens != nil || v2.Tools == nil || len(v2.Tools) != 0 {
		t.Errorf("version 2 = %+v", v2)
	}

	pub, err := c.PublishAgentVersion(ctx, v2.AgentVersionID)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Method != "POST" || r.Path != "/api/v1/agent-versions/"+v2.AgentVersionID+"/publish" {
		t.Errorf("publish request = %s %s", r.Method, r.Path)
	}
	if pub.Status != "published" || pub.PublishedAt == nil {
		t.Errorf("published = %+v", pub)
	}
	gv, err := c.GetAgentVersion(ctx, v2.AgentVersionID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gv, pub) {
		t.Errorf("GetAgentVersion = %+v, want %+v", gv, pub)
	}

	vl, err := c.ListAgentVersions(ctx, a.AgentID, ListAgentVersionsParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if uri := f.last().RequestURI; uri != "/api/v1/agents/"+a.AgentID+"/versions?limit=10" {
		t.Errorf("RequestURI = %q", uri)
	}
	if len(vl.Data) != 2 || vl.Data[0].Version != 2 || vl.Data[1].Version != 1 || vl.HasMore || vl.NextCursor != nil {
		t.Errorf("versions = %+v", vl)
	}
}

func TestRunDecoding(t *testing.T) {
	// A fixed response in the contract's shape: fractional timestamps, nulls,
	// nested error and usage.
	const body = `{"run_id":"r1","org_id":"o1","agent_id":"a1","agent_version_id":"v1","status":"failed",
		"input":"[[fail]]","output":null,"error":{"code":"model_error","message":"boom"},
		"usage":{"input_tokens":3,"output_tokens":4},"metadata":{"k":"v"},
		"created_at":"2026-12-03T18:49:18.123456Z","started_at":"2026-12-03T18:49:18.2Z","completed_at":null}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	run, err := New(srv.URL, testKey).GetRun(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 12, 3, 18, 49, 18, 200000000, time.UTC)
	want := &Run{
		RunID: "r1", OrgID: "o1", AgentID: "a1", AgentVersionID: "v1", Status: "failed", Input: "[[fail]]",
		Error: &RunError{Code: "model_error", Message: "boom"}, Usage: Usage{InputTokens: 3, OutputTokens: 4},
		Metadata:  map[string]string{"k": "v"},
		CreatedAt: time.Date(2026, 12, 3, 18, 49, 18, 123456000, time.UTC), StartedAt: &started,
	}
	if !reflect.DeepEqual(run, want) {
		t.Errorf("run = %+v\nwant  %+v", run, want)
	}
	if !run.Terminal() {
		t.Error("failed run is not terminal")
	}

	// Encoding the client type gives back the contract's field names.
	b, _ := json.Marshal(run)
	assertJSON(t, string(b), body)
}

func TestRunLifecycle(t *testing.T) {
	f := newFakeAPI(t)
	c, a, v := setup(t, f)
	ctx := context.Background()

	run, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "hello",
		Metadata: map[string]string{"customer": "42"}})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.last().Body, `{"org_id":"`+testOrg+`","agent_version_id":"`+v.AgentVersionID+
		`","input":"hello","metadata":{"customer":"42"}}`)
	if run.Status != "queued" || run.AgentID != a.AgentID || run.Output != nil || run.Error != nil ||
		run.StartedAt != nil || run.CompletedAt != nil || run.Metadata["customer"] != "42" || run.Terminal() {
		t.Errorf("created run = %+v", run)
	}

	f.completeAfter = 1
	done, err := c.WaitRun(ctx, run.RunID, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != "succeeded" || done.Output == nil || *done.Output != "Echo: hello" ||
		done.StartedAt == nil || done.CompletedAt == nil || done.Usage != (Usage{7, 9}) {
		t.Errorf("done run = %+v", done)
	}

	steps, err := c.ListRunSteps(ctx, run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.last().Path; p != "/api/v1/agent-runs/"+run.RunID+"/steps" {
		t.Errorf("path = %q", p)
	}
	if len(steps) != 2 || steps[0].Type != "tool_call" || steps[0].Usage != nil || steps[0].Name != "current_time" ||
		steps[1].Index != 1 || steps[1].Type != "model_call" || steps[1].Usage == nil || *steps[1].Usage != (Usage{7, 9}) ||
		steps[1].Output != "Echo: hello" || steps[1].CompletedAt.IsZero() {
		t.Errorf("steps = %+v", steps)
	}

	// A succeeded run cannot be canceled.
	_, err = c.CancelRun(ctx, run.RunID)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || apiErr.Code != umami.ERunNotCancelable {
		t.Errorf("cancel succeeded run: %v", err)
	}

	// A queued one can, twice.
	run2, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "bye"})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.last().Body, `{"org_id":"`+testOrg+`","agent_version_id":"`+v.AgentVersionID+`","input":"bye"}`)
	for range 2 {
		canceled, err := c.CancelRun(ctx, run2.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if canceled.Status != "canceled" || canceled.Error == nil || canceled.Error.Code != "canceled" || !canceled.Terminal() {
			t.Errorf("canceled run = %+v", canceled)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFakeAPI(t)
	c, _, v := setup(t, f)
	ctx := context.Background()
	req := CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "once"}

	var h http.Header
	first, err := c.CreateRun(ctx, req, IdempotencyKey("order-42"), CaptureHeader(&h))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last().Header.Get("Idempotency-Key"); got != "order-42" {
		t.Errorf("Idempotency-Key = %q", got)
	}
	if h.Get("X-Request-Id") == "" || h.Get("Idempotent-Replayed") != "" {
		t.Errorf("first response headers = %v", h)
	}

	again, err := c.CreateRun(ctx, req, IdempotencyKey("order-42"), CaptureHeader(&h))
	if err != nil {
		t.Fatal(err)
	}
	if again.RunID != first.RunID || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay gave run %s (first %s), Idempotent-Replayed %q", again.RunID, first.RunID, h.Get("Idempotent-Replayed"))
	}

	req.Input = "different"
	_, err = c.CreateRun(ctx, req, IdempotencyKey("order-42"), CaptureHeader(&h))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || apiErr.Code != umami.EIdempotency {
		t.Fatalf("conflict: %v", err)
	}
	if apiErr.RequestID == "" || apiErr.RequestID != h.Get("X-Request-Id") {
		t.Errorf("RequestID = %q, header %q", apiErr.RequestID, h.Get("X-Request-Id"))
	}
	if !IsCode(err, umami.EIdempotency) || IsCode(err, umami.ENotFound) || IsCode(errors.New("x"), umami.EIdempotency) {
		t.Error("IsCode is wrong")
	}
}

func TestListRunsQuery(t *testing.T) {
	f := newFakeAPI(t)
	c, _, v := setup(t, f)
	ctx := context.Background()
	var ids []string
	for _, in := range []string{"a", "b", "c"} {
		r, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: in})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.RunID)
	}

	if _, err := c.ListRuns(ctx, ListRunsParams{}); err != nil {
		t.Fatal(err)
	}
	if uri := f.last().RequestURI; uri != "/api/v1/agent-runs" {
		t.Errorf("RequestURI without params = %q", uri)
	}

	l, err := c.ListRuns(ctx, ListRunsParams{OrgID: testOrg, Status: "queued", AgentVersionID: v.AgentVersionID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	q := f.last()
	want := "/api/v1/agent-runs?agent_version_id=" + v.AgentVersionID + "&limit=2&org_id=" + testOrg + "&status=queued"
	if q.RequestURI != want {
		t.Errorf("RequestURI = %q, want %q", q.RequestURI, want)
	}
	if len(l.Data) != 2 || l.Data[0].RunID != ids[2] || l.Data[1].RunID != ids[1] || !l.HasMore || l.NextCursor == nil {
		t.Fatalf("page 1 = %+v", l)
	}
	l, err = c.ListRuns(ctx, ListRunsParams{Limit: 2, After: *l.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if uri := f.last().RequestURI; uri != "/api/v1/agent-runs?after="+ids[1]+"&limit=2" {
		t.Errorf("RequestURI = %q", uri)
	}
	if len(l.Data) != 1 || l.Data[0].RunID != ids[0] || l.HasMore || l.NextCursor != nil {
		t.Fatalf("page 2 = %+v", l)
	}

	l, err = c.ListRuns(ctx, ListRunsParams{Status: "succeeded"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Data == nil || len(l.Data) != 0 {
		t.Errorf("empty page = %+v", l)
	}

	// A bad parameter is the server's invalid_request.
	_, err = c.ListRuns(ctx, ListRunsParams{Limit: 1000})
	if !IsCode(err, umami.EInvalid) {
		t.Errorf("limit 1000: %v", err)
	}
}

func TestAPIError(t *testing.T) {
	f := newFakeAPI(t)
	ctx := context.Background()

	_, err := New(f.srv.URL, "umami_wrong").GetRun(ctx, "x")
	var e *APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if e.StatusCode != 401 || e.Code != umami.EInvalidAPIKey || e.Message != "Invalid API key." || !strings.HasPrefix(e.RequestID, "req_") {
		t.Errorf("APIError = %+v", e)
	}
	if s := e.Error(); !strings.Contains(s, "401") || !strings.Contains(s, "invalid_api_key") ||
		!strings.Contains(s, "Invalid API key.") || !strings.Contains(s, e.RequestID) {
		t.Errorf("Error() = %q", s)
	}

	_, err = New(f.srv.URL, "").GetAgent(ctx, "x")
	if !IsCode(err, umami.EMissingAPIKey) {
		t.Errorf("empty key: %v", err)
	}

	_, err = f.client().GetAgent(ctx, "nope")
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != umami.ENotFound {
		t.Errorf("unknown agent: %v", err)
	}

	_, err = f.client().CreateAgent(ctx, CreateAgent{OrgID: "other", Name: "x"})
	if !errors.As(err, &e) || e.StatusCode != 403 || e.Code != umami.EOrgMismatch {
		t.Errorf("other org: %v", err)
	}

	// Bodies that are not the error shape.
	cases := []struct {
		name        string
		status      int
		body        string
		code, msg   string
		headerReqID string
	}{
		{"html", 502, "<html><body>Bad Gateway</body></html>\n", umami.EUnavailable, "<html><body>Bad Gateway</body></html>", "gw-1"},
		{"empty", 401, "", "http_401", "Unauthorized", ""},
		{"other json", 500, `{"detail":"x"}`, umami.EInternal, `{"detail":"x"}`, ""},
		{"plain 404", 404, "404 page not found", umami.ENotFound, "404 page not found", "r9"},
		{"long", 418, strings.Repeat("x", 2000), "http_418", strings.Repeat("x", 512) + "...", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.headerReqID != "" {
					w.Header().Set("X-Request-Id", tc.headerReqID)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := New(srv.URL, testKey).GetRun(ctx, "r")
			var e *APIError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			want := APIError{StatusCode: tc.status, Code: tc.code, Message: tc.msg, RequestID: tc.headerReqID}
			if *e != want {
				t.Errorf("APIError = %+v, want %+v", *e, want)
			}
		})
	}

	// A 2xx whose body is not JSON is a decoding error, not an APIError.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	_, err = New(srv.URL, testKey).GetRun(ctx, "r")
	if err == nil || errors.As(err, &e) {
		t.Errorf("non-JSON 200: %v", err)
	}
}

func TestWaitRun(t *testing.T) {
	f := newFakeAPI(t)
	c, _, v := setup(t, f)
	ctx := context.Background()
	f.completeAfter = 4

	for _, tc := range []struct{ input, status string }{{"hi", "succeeded"}, {"[[fail]]", "failed"}} {
		run, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: tc.input})
		if err != nil {
			t.Fatal(err)
		}
		done, err := c.WaitRun(ctx, run.RunID, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != tc.status || done.RunID != run.RunID {
			t.Errorf("WaitRun = %+v, want status %s", done, tc.status)
		}
		// Polling stopped at the terminal status: exactly completeAfter GETs.
		gets := 0
		for _, r := range f.requests() {
			if r.Method == "GET" && r.Path == "/api/v1/agent-runs/"+run.RunID {
				gets++
			}
		}
		if gets != f.completeAfter {
			t.Errorf("%s: %d GETs, want %d", tc.input, gets, f.completeAfter)
		}
	}

	// A canceled run is terminal: one GET.
	run, err := c.CreateRun(ctx, CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "[[never]]"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelRun(ctx, run.RunID); err != nil {
		t.Fatal(err)
	}
	if done, err := c.WaitRun(ctx, run.RunID, time.Hour); err != nil || done.Status != "canceled" {
		t.Errorf("WaitRun canceled = %+v, %v", done, err)
	}

	// An error of GetRun ends the wait.
	if _, err := c.WaitRun(ctx, "missing", time.Millisecond); !IsCode(err, umami.ENotFound) {
		t.Errorf("WaitRun missing: %v", err)
	}
}

func TestWaitRunContext(t *testing.T) {
	f := newFakeAPI(t)
	c, _, v := setup(t, f)
	run, err := c.CreateRun(context.Background(), CreateRun{OrgID: testOrg, AgentVersionID: v.AgentVersionID, Input: "[[never]]"})
	if err != nil {
		t.Fatal(err)
	}

	// The deadline interrupts the sleep between polls.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.WaitRun(ctx, run.RunID, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("WaitRun took %v after the deadline", d)
	}
	if err != nil && !strings.Contains(err.Error(), `"queued"`) {
		t.Errorf("err %q does not name the last status", err)
	}

	// With short intervals it polls repeatedly until the deadline.
	before := len(f.requests())
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	_, err = c.WaitRun(ctx2, run.RunID, 5*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if n := len(f.requests()) - before; n < 3 {
		t.Errorf("only %d polls in 100ms at 5ms", n)
	}

	// An already canceled context: no request completes.
	ctx3, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if _, err := c.WaitRun(ctx3, run.RunID, time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
}

func TestOptionsAndPaths(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	// A trailing slash on the base URL is ignored.
	c := New(f.srv.URL+"/", testKey, WithHTTPClient(hc))
	_, err := c.GetRun(context.Background(), "a/b c")
	if !IsCode(err, umami.ENotFound) {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("custom HTTP client used %d times", calls.Load())
	}
	if uri := f.last().RequestURI; uri != "/api/v1/agent-runs/a%2Fb%20c" {
		t.Errorf("RequestURI = %q", uri)
	}
	if ua := f.last().Header.Get("User-Agent"); !strings.HasPrefix(ua, "umami-go-client/") {
		t.Errorf("User-Agent = %q", ua)
	}
	// A nil HTTP client keeps the default.
	if New("http://x", "k", WithHTTPClient(nil)).httpClient != http.DefaultClient {
		t.Error("WithHTTPClient(nil) replaced the default client")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
