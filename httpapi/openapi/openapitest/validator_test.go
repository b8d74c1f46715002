package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/umamiai/umami/httpapi/openapi"
)

// fakeTB records Errorf calls instead of failing the test, so that the
// validator's reports can be observed.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) reports() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

const (
	runID     = "01938a60-1d2e-7f3a-b4c5-d6e7f8a9b0c1"
	requestID = "01938a60-2f4b-7c5d-8e6f-7a8b9c0d1e2f"
	apiKey    = "Bearer umami_0123456789abcdefghijABCDEFGHIJ0123456789"
)

// runJSON renders a queued run, replacing fields by those of overrides
// (a nil value removes the field).
func runJSON(overrides map[string]any) string {
	run := map[string]any{
		"run_id":           runID,
		"org_id":           "01938a5c-0f3e-7a21-8b4c-2d9e6f1a0b37",
		"agent_id":         "01938a5d-4c12-7e8f-9a03-5b6c7d8e9f10",
		"agent_version_id": "01938a5e-7a90-7b1c-a2d3-e4f5a6b7c8d9",
		"status":           "queued",
		"input":            "Draft a concise incident summary for leadership.",
		"output":           nil,
		"error":            nil,
		"usage":            map[string]any{"input_tokens": 0, "output_tokens": 0},
		"metadata":         map[string]any{},
		"created_at":       "2026-12-03T18:49:18.123456Z",
		"started_at":       nil,
		"completed_at":     nil,
	}
	for k, v := range overrides {
		if v == nil {
			delete(run, k)
		} else {
			run[k] = v
		}
	}
	return mustJSON(run)
}

func mustJSON(v any) string {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		panic(err)
	}
	return b.String()
}

func errorJSON(code string) string {
	return fmt.Sprintf(`{"error":%q,"message":"Something was wrong.","request_id":%q}`, code, requestID)
}

// reply answers with status, a JSON body and the X-Request-Id header;
// headers are extra name/value pairs (an empty value deletes the header).
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-Id", requestID)
		for i := 0; i+1 < len(headers); i += 2 {
			if headers[i+1] == "" {
				h.Del(headers[i])
			} else {
				h.Set(headers[i], headers[i+1])
			}
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

type request struct {
	method, path, body string
	headers            []string // name/value pairs
}

var (
	getRun = request{method: "GET", path: "/api/v1/agent-runs/" + runID, headers: []string{"Authorization", apiKey}}

	createRun = request{method: "POST", path: "/api/v1/agent-runs",
		body:    `{"org_id":"01938a5c-0f3e-7a21-8b4c-2d9e6f1a0b37","agent_version_id":"01938a5e-7a90-7b1c-a2d3-e4f5a6b7c8d9","input":"Draft a concise incident summary for leadership."}`,
		headers: []string{"Authorization", apiKey, "Content-Type", "application/json"}}

	createRunUnknownField = request{method: "POST", path: "/api/v1/agent-runs",
		body:    `{"org_id":"01938a5c-0f3e-7a21-8b4c-2d9e6f1a0b37","agent_version_id":"01938a5e-7a90-7b1c-a2d3-e4f5a6b7c8d9","prompt":"hi"}`,
		headers: []string{"Authorization", apiKey, "Content-Type", "application/json"}}
)

func TestValidatorTransport(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		req     request
		handler http.HandlerFunc
		wantErr string // a substring of the report; "" for no report
	}{
		{"valid run", getRun, reply(200, runJSON(nil)), ""},
		{"valid run with charset", getRun, reply(200, runJSON(nil), "Content-Type", "application/json; charset=utf-8"), ""},
		{"run missing a required field", getRun, reply(200, runJSON(map[string]any{"usage": nil})), "usage"},
		{"run with an unknown field", getRun, reply(200, runJSON(map[string]any{"object": "run"})), "object"},
		{"run with a malformed timestamp", getRun, reply(200, runJSON(map[string]any{"created_at": "2026-12-03 18:49"})), "date-time"},
		{"run with a malformed ID", getRun, reply(200, runJSON(map[string]any{"run_id": "run_42"})), "uuid"},
		{"run with an unknown status", getRun, reply(200, runJSON(map[string]any{"status": "pending"})), "status"},
		{"undeclared status", getRun, reply(http.StatusTeapot, errorJSON("internal_error")), "status is not supported"},
		{"missing X-Request-Id", getRun, reply(200, runJSON(nil), "X-Request-Id", ""), "X-Request-Id"},
		{"response not JSON", getRun, reply(200, runJSON(nil), "Content-Type", "text/plain"), "text/plain"},
		{"error with the code of another status", getRun, reply(404, errorJSON("invalid_request")), "invalid_request"},
		{"error without request_id", getRun, reply(404, `{"error":"not_found","message":"No such run."}`), "request_id"},
		{"not found", getRun, reply(404, errorJSON("not_found")), ""},

		{"valid create", createRun, reply(201, runJSON(nil)), ""},
		{"replayed create", createRun, reply(201, runJSON(nil), "Idempotent-Replayed", "true"), ""},
		{"bad Idempotent-Replayed", createRun, reply(201, runJSON(nil), "Idempotent-Replayed", "yes"), "Idempotent-Replayed"},
		{"bad request answered 400", createRunUnknownField, reply(400, errorJSON("invalid_request")), ""},
		{"bad request answered 201", createRunUnknownField, reply(201, runJSON(nil)), "the request violates the document"},
		{"no API key answered 401", request{method: "GET", path: getRun.path}, reply(401, errorJSON("missing_api_key")), ""},
		{"no API key answered 200", request{method: "GET", path: getRun.path}, reply(200, runJSON(nil)), "Authorization"},
		{"malformed path UUID answered 400", request{method: "GET", path: "/api/v1/agent-runs/42", headers: getRun.headers}, reply(400, errorJSON("invalid_request")), ""},
		{"malformed path UUID answered 200", request{method: "GET", path: "/api/v1/agent-runs/42", headers: getRun.headers}, reply(200, runJSON(nil)), "the request violates the document"},
		{"limit out of range answered 200", request{method: "GET", path: "/api/v1/agent-runs?limit=500", headers: getRun.headers},
			reply(200, `{"data":[],"has_more":false,"next_cursor":null}`), "limit"},
		{"list", request{method: "GET", path: "/api/v1/agent-runs?limit=5&status=queued", headers: getRun.headers},
			reply(200, `{"data":[`+runJSON(nil)+`],"has_more":true,"next_cursor":"`+runID+`"}`), ""},
		{"cancel of a succeeded run", request{method: "POST", path: "/api/v1/agent-runs/" + runID + "/cancel", headers: getRun.headers}, reply(409, errorJSON("run_not_cancelable")), ""},
		{"create answered run_not_cancelable", createRun, reply(409, errorJSON("run_not_cancelable")), "run_not_cancelable"},

		{"health without API key", request{method: "GET", path: "/healthz"}, reply(200, `{"status":"ok"}`), ""},
		{"not ready", request{method: "GET", path: "/readyz"}, reply(503, `{"status":"unavailable"}`), ""},

		{"unknown path answered 404 with charset", request{method: "GET", path: "/nope"}, reply(404, errorJSON("not_found"), "Content-Type", "application/json; charset=utf-8"), ""},
		{"unknown path answered 404", request{method: "GET", path: "/api/v1/nope", headers: getRun.headers}, reply(404, errorJSON("not_found")), ""},
		{"unknown path answered 200", request{method: "GET", path: "/api/v1/nope", headers: getRun.headers}, reply(200, `{}`), "no operation"},
		{"unknown path answered plain 404", request{method: "GET", path: "/nope"}, reply(404, "404 page not found\n", "Content-Type", "text/plain; charset=utf-8"), "Content-Type"},
		{"unknown path answered 404 with another code", request{method: "GET", path: "/nope"}, reply(404, errorJSON("invalid_request")), "not_found"},
		{"wrong method answered 405", request{method: "DELETE", path: "/api/v1/agents", headers: getRun.headers},
			reply(405, errorJSON("method_not_allowed"), "Allow", "GET, POST"), ""},
		{"wrong method answered 405 without Allow", request{method: "DELETE", path: "/api/v1/agents", headers: getRun.headers},
			reply(405, errorJSON("method_not_allowed")), "Allow"},
		{"wrong method answered 404", request{method: "DELETE", path: "/api/v1/agents", headers: getRun.headers},
			reply(404, errorJSON("not_found")), "want a 405"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			ft := &fakeTB{TB: t}
			client := &http.Client{Transport: v.Transport(ft, srv.Client().Transport)}

			var body io.Reader
			if tc.req.body != "" {
				body = strings.NewReader(tc.req.body)
			}
			req, err := http.NewRequest(tc.req.method, srv.URL+tc.req.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.req.headers); i += 2 {
				req.Header.Set(tc.req.headers[i], tc.req.headers[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			reports := ft.reports()
			switch {
			case tc.wantErr == "" && len(reports) > 0:
				t.Errorf("want no report, got:\n%s", strings.Join(reports, "\n"))
			case tc.wantErr != "" && len(reports) == 0:
				t.Errorf("want a report about %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(strings.Join(reports, "\n"), tc.wantErr):
				t.Errorf("want a report about %q, got:\n%s", tc.wantErr, strings.Join(reports, "\n"))
			}
			for _, r := range reports {
				if !strings.Contains(r, tc.req.method+" "+strings.SplitN(tc.req.path, "?", 2)[0]) {
					t.Errorf("report does not name the method and path: %s", r)
				}
			}
		})
	}
}

// TestTransportRestoresBodies checks that the server receives the request
// body and the caller the response body, although the transport reads both.
func TestTransportRestoresBodies(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := runJSON(nil)
	var gotReq string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotReq = string(b)
		reply(201, want)(w, r)
	}))
	defer srv.Close()

	ft := &fakeTB{TB: t}
	client := &http.Client{Transport: v.Transport(ft, nil)}
	req, err := http.NewRequest(createRun.method, srv.URL+createRun.path, strings.NewReader(createRun.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gotResp, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if gotReq != createRun.body {
		t.Errorf("server got request body %q, want %q", gotReq, createRun.body)
	}
	if string(gotResp) != want {
		t.Errorf("caller got response body %q, want %q", gotResp, want)
	}
	if r := ft.reports(); len(r) > 0 {
		t.Errorf("unexpected reports:\n%s", strings.Join(r, "\n"))
	}
}

func TestNewValidatorNeedsErrorSchema(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	delete(doc.Components.Schemas, "Error")
	if _, err := NewValidator(doc); err == nil {
		t.Error("NewValidator without an Error schema succeeded")
	}
}

// TestValidatorConcurrent runs exchanges in parallel through one Validator
// (run with -race).
func TestValidatorConcurrent(t *testing.T) {
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(doc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reply(200, runJSON(nil)))
	defer srv.Close()
	ft := &fakeTB{TB: t}
	client := &http.Client{Transport: v.Transport(ft, srv.Client().Transport)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				resp, err := client.Get(srv.URL + "/api/v1/agent-runs/42") // violates the document, answered 200
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := len(ft.reports()); got != 80 {
		t.Errorf("got %d reports, want 80", got)
	}
}
