package anthropic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestMain removes the environment the SDK would read, so that every test,
// parallel ones included, sees only its own Config.
func TestMain(m *testing.M) {
	for _, name := range []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS"} {
		os.Unsetenv(name)
	}
	os.Exit(m.Run())
}

// reply is one canned answer of the fake server.
type reply struct {
	status int
	body   string
	delay  time.Duration // waits this long, or until the client gives up
	header map[string]string
}

// recorded is one request the fake server received.
type recorded struct {
	method, path string
	header       http.Header
	body         map[string]any
}

// fakeServer speaks the Messages API wire format: it answers the n-th
// request with replies[n], repeating the last reply.
type fakeServer struct {
	*httptest.Server
	t       *testing.T
	replies []reply
	mu      sync.Mutex
	got     []recorded
}

// newFake starts a fake server that is closed when the test ends.
func newFake(t *testing.T, replies ...reply) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
	if err := json.Unmarshal(raw, &rec.body); err != nil {
		f.t.Errorf("request body is not JSON: %v: %s", err, raw)
	}
	f.mu.Lock()
	f.got = append(f.got, rec)
	rep := f.replies[min(len(f.got), len(f.replies))-1]
	f.mu.Unlock()
	if rep.delay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(rep.delay):
		}
	}
	w.Header().Set("Content-Type", "application/json")
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// requests returns the requests received so far.
func (f *fakeServer) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.got...)
}

// provider returns a Provider talking to f.
func (f *fakeServer) provider(cfg Config) *Provider {
	cfg.BaseURL = f.URL
	if cfg.APIKey == "" {
		cfg.APIKey = "test-key"
	}
	return New(cfg)
}

// quickRetry makes the SDK wait only 5ms before the next attempt.
var quickRetry = map[string]string{"Retry-After-Ms": "5"}

// message returns a Messages API response body with the given content
// blocks (a JSON array) and usage.
func message(content, stopReason string, inputTokens, outputTokens int) string {
	return fmt.Sprintf(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-test",`+
		`"content":%s,"stop_reason":%q,"stop_sequence":null,`+
		`"usage":{"input_tokens":%d,"output_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`,
		content, stopReason, inputTokens, outputTokens)
}

// apiError returns a Messages API error body.
func apiError(typ, msg string) string {
	return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_1"}`, typ, msg)
}

// assertJSON fails unless got equals the JSON document want.
func assertJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want for %s: %v", what, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s =\n%s\nwant\n%s", what, g, want)
	}
}
