package anthropic

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/umamiai/umami/llm"
)

func ptr[T any](v T) *T { return &v }

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Current weather of a city",
	Parameters:  []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`),
}

var hello = reply{status: 200, body: message(`[{"type":"text","text":"Hello there"}]`, "end_turn", 12, 3)}

func userMsg(s string) llm.Message { return llm.Message{Role: llm.RoleUser, Content: s} }

func TestChatRequestAndAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      llm.Request
		wantBody string
	}{
		{
			name:     "minimal request gets the default max_tokens",
			req:      llm.Request{Model: "claude-test", Messages: []llm.Message{userMsg("Hi")}},
			wantBody: `{"model":"claude-test","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "full request",
			req: llm.Request{
				Model: "claude-test",
				Messages: []llm.Message{
					{Role: llm.RoleSystem, Content: "Be brief."},
					userMsg("Weather in Paris?"),
					{Role: llm.RoleSystem, Content: "Answer in French."},
				},
				Tools:           []llm.Tool{weatherTool, {Name: "now"}, {Name: "null", Parameters: []byte("null")}},
				Temperature:     ptr(0.2),
				MaxOutputTokens: ptr(100),
			},
			wantBody: `{
				"model": "claude-test",
				"max_tokens": 100,
				"temperature": 0.2,
				"system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}],
				"messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}],
				"tools": [
					{
						"name": "get_weather",
						"description": "Current weather of a city",
						"input_schema": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}
					},
					{"name": "now", "input_schema": {"type": "object", "properties": {}}},
					{"name": "null", "input_schema": {"type": "object", "properties": {}}}
				]
			}`,
		},
		{
			name: "consecutive user messages share a turn",
			req:  llm.Request{Model: "m", Messages: []llm.Message{userMsg("a"), userMsg(""), userMsg("b")}, Temperature: ptr(0.0)},
			wantBody: `{"model":"m","max_tokens":1024,"temperature":0,
				"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, hello)
			got, err := srv.provider(Config{APIKey: "sk-ant-test"}).Chat(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := &llm.Response{Content: "Hello there", Usage: llm.Usage{InputTokens: 12, OutputTokens: 3}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Chat = %#v, want %#v", got, want)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/v1/messages" {
				t.Errorf("request = %s %s, want POST /v1/messages", r.method, r.path)
			}
			if r.header.Get("X-Api-Key") != "sk-ant-test" || r.header.Get("Anthropic-Version") == "" {
				t.Errorf("the API key was not sent; headers: %v", r.header)
			}
			if r.header.Get("Anthropic-Version") == "" {
				t.Errorf("no anthropic-version header")
			}
			assertJSON(t, "request body", r.body, tt.wantBody)
		})
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	srv := newFake(t,
		reply{status: 200, body: message(`[{"type":"text","text":"Let me check."},`+
			`{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]`, "tool_use", 20, 7)},
		reply{status: 200, body: message(`[{"type":"text","text":"It is sunny in Paris."}]`, "end_turn", 40, 6)},
	)
	p := srv.provider(Config{})
	req := llm.Request{
		Model:    "claude-test",
		Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Use tools."}, userMsg("Weather in Paris?")},
		Tools:    []llm.Tool{weatherTool},
	}
	first, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("first Chat: %v", err)
	}
	wantFirst := &llm.Response{
		Content:   "Let me check.",
		ToolCalls: []llm.ToolCall{{ID: "toolu_01", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		Usage:     llm.Usage{InputTokens: 20, OutputTokens: 7},
	}
	if !reflect.DeepEqual(first, wantFirst) {
		t.Fatalf("first Chat = %#v, want %#v", first, wantFirst)
	}

	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Content: first.Content, ToolCalls: first.ToolCalls},
		llm.Message{Role: llm.RoleTool, ToolCallID: "toolu_01", Content: "sunny, 21°C"},
	)
	second, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("second Chat: %v", err)
	}
	if second.Content != "It is sunny in Paris." || len(second.ToolCalls) != 0 || second.Usage.InputTokens != 40 {
		t.Errorf("second Chat = %#v", second)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want 2", len(reqs))
	}
	assertJSON(t, "second request system", reqs[1].body["system"], `[{"type":"text","text":"Use tools."}]`)
	assertJSON(t, "second request messages", reqs[1].body["messages"], `[
		{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
		{"role": "assistant", "content": [
			{"type": "text", "text": "Let me check."},
			{"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
		]},
		{"role": "user", "content": [
			{"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "sunny, 21°C"}]}
		]}
	]`)
}

func TestParallelToolResultsShareATurn(t *testing.T) {
	t.Parallel()
	srv := newFake(t, hello)
	req := llm.Request{Model: "m", Messages: []llm.Message{
		userMsg("a"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "now"}, {ID: "t2", Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
		{Role: llm.RoleTool, ToolCallID: "t1", Content: "noon"},
		{Role: llm.RoleTool, ToolCallID: "t2", Content: ""},
		userMsg("and?"),
	}}
	if _, err := srv.provider(Config{}).Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	assertJSON(t, "messages", srv.requests()[0].body["messages"], `[
		{"role": "user", "content": [{"type": "text", "text": "a"}]},
		{"role": "assistant", "content": [
			{"type": "tool_use", "id": "t1", "name": "now", "input": {}},
			{"type": "tool_use", "id": "t2", "name": "get_weather", "input": {"city": "Rome"}}
		]},
		{"role": "user", "content": [
			{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "noon"}]},
			{"type": "tool_result", "tool_use_id": "t2"},
			{"type": "text", "text": "and?"}
		]}
	]`)
}

func TestErrorsAndRetries(t *testing.T) {
	t.Parallel()
	ok := reply{status: 200, body: message(`[{"type":"text","text":"fine"}]`, "end_turn", 1, 1)}
	tests := []struct {
		name       string
		replies    []reply
		maxRetries int
		wantCalls  int
		wantStatus int    // the *llm.Error status
		wantMsg    string // the *llm.Error message; empty: the call succeeds
	}{
		{
			name:      "429 then 200 is retried",
			replies:   []reply{{status: 429, header: quickRetry, body: apiError("rate_limit_error", "Rate limited")}, ok},
			wantCalls: 2,
		},
		{
			name:      "529 overloaded then 200 is retried",
			replies:   []reply{{status: 529, header: quickRetry, body: apiError("overloaded_error", "Overloaded")}, ok},
			wantCalls: 2,
		},
		{
			name:       "persisting 500 fails after MaxRetries+1 attempts",
			replies:    []reply{{status: 500, header: quickRetry, body: apiError("api_error", "Internal server error")}},
			wantCalls:  4,
			wantStatus: 500,
			wantMsg:    "Internal server error",
		},
		{
			name:       "MaxRetries is honoured",
			replies:    []reply{{status: 503, header: quickRetry, body: apiError("api_error", "unavailable")}},
			maxRetries: 1,
			wantCalls:  2,
			wantStatus: 503,
			wantMsg:    "unavailable",
		},
		{
			name:       "negative MaxRetries disables retries",
			replies:    []reply{{status: 500, header: quickRetry, body: apiError("api_error", "boom")}},
			maxRetries: -1,
			wantCalls:  1,
			wantStatus: 500,
			wantMsg:    "boom",
		},
		{
			name:       "400 is not retried",
			replies:    []reply{{status: 400, body: apiError("invalid_request_error", "max_tokens: Field required")}},
			wantCalls:  1,
			wantStatus: 400,
			wantMsg:    "max_tokens: Field required",
		},
		{
			name:       "plain-text body",
			replies:    []reply{{status: 403, body: "Forbidden by proxy"}},
			wantCalls:  1,
			wantStatus: 403,
			wantMsg:    "Forbidden by proxy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, tt.replies...)
			got, err := srv.provider(Config{MaxRetries: tt.maxRetries}).Chat(context.Background(), llm.Request{
				Model: "m", Messages: []llm.Message{userMsg("x")},
			})
			if n := len(srv.requests()); n != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", n, tt.wantCalls)
			}
			if tt.wantMsg == "" {
				if err != nil || got.Content != "fine" {
					t.Fatalf("Chat = %v, %v; want the answer fine", got, err)
				}
				return
			}
			var lerr *llm.Error
			if !errors.As(err, &lerr) {
				t.Fatalf("Chat error = %v (%T), want *llm.Error", err, err)
			}
			want := llm.Error{Provider: "anthropic", StatusCode: tt.wantStatus, Message: tt.wantMsg}
			if *lerr != want {
				t.Errorf("error = %#v, want %#v", *lerr, want)
			}
		})
	}
}

func TestContextCancelDuringSlowResponse(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply{status: 200, delay: 30 * time.Second, body: message(`[]`, "end_turn", 1, 1)})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := srv.provider(Config{}).Chat(ctx, llm.Request{Model: "m", Messages: []llm.Message{userMsg("x")}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("returned after %s, want promptly after the cancel", elapsed)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server got %d requests, want 1 (no retry after cancel)", n)
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply{status: 200, delay: 30 * time.Second, body: message(`[]`, "end_turn", 1, 1)})
	start := time.Now()
	_, err := srv.provider(Config{Timeout: 100 * time.Millisecond, MaxRetries: 1}).Chat(context.Background(),
		llm.Request{Model: "m", Messages: []llm.Message{userMsg("x")}})
	want := llm.Error{Provider: "anthropic", Message: "no response within the per-attempt timeout of 100ms"}
	var lerr *llm.Error
	if !errors.As(err, &lerr) || *lerr != want {
		t.Fatalf("err = %#v, want %#v", err, want)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("server got %d requests, want 2: a timed-out attempt is retried", n)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %s", elapsed)
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  llm.Request
	}{
		{name: "unknown role", req: llm.Request{Model: "m", Messages: []llm.Message{{Role: "narrator", Content: "x"}}}},
		{name: "arguments not JSON", req: llm.Request{Model: "m", Messages: []llm.Message{
			userMsg("x"), {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t", Name: "n", Arguments: "{oops"}}},
		}}},
		{name: "schema not an object", req: llm.Request{Model: "m", Messages: []llm.Message{userMsg("x")}, Tools: []llm.Tool{{Name: "t", Parameters: []byte(`[1]`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, hello)
			_, err := srv.provider(Config{}).Chat(context.Background(), tt.req)
			var lerr *llm.Error
			if !errors.As(err, &lerr) || lerr.Provider != "anthropic" {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("server got %d requests, want none", n)
			}
		})
	}
}

// TestConfigBeatsEnvironment may not run in parallel: it sets the
// environment the SDK would read by itself.
func TestConfigBeatsEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "env-key")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "env-token")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1/env")
	tests := []struct {
		name, apiKey string
	}{
		{name: "configured key", apiKey: "cfg-key"},
		{name: "no key sends no credential", apiKey: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, hello)
			p := New(Config{APIKey: tt.apiKey, BaseURL: srv.URL, MaxRetries: -1})
			if _, err := p.Chat(context.Background(), llm.Request{Model: "m", Messages: []llm.Message{userMsg("x")}}); err != nil {
				t.Fatalf("Chat: %v (did the environment win?)", err)
			}
			h := srv.requests()[0].header
			for _, name := range []string{"X-Api-Key", "Authorization"} {
				if v := h.Get(name); v != "" && v != tt.apiKey && v != "Bearer "+tt.apiKey {
					t.Errorf("%s = %q, want only the configured key %q", name, v, tt.apiKey)
				}
			}
			if tt.apiKey != "" && h.Get("X-Api-Key") == "" && h.Get("Authorization") == "" {
				t.Errorf("the configured key was not sent")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := Config{}.withDefaults()
	want := Config{BaseURL: "https://api.anthropic.com", MaxRetries: 3, Timeout: 60 * time.Second}
	if got != want {
		t.Errorf("defaults = %#v, want %#v", got, want)
	}
	kept := Config{BaseURL: "http://localhost:4000", MaxRetries: -1, Timeout: time.Second}
	if got := kept.withDefaults(); got != kept {
		t.Errorf("withDefaults changed %#v to %#v", kept, got)
	}
}
