package openai

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
	Parameters:  []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
}

func TestChatRequestAndAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      llm.Request
		wantBody string
	}{
		{
			name:     "minimal request sends no optional fields",
			req:      llm.Request{Model: "gpt-test", Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}},
			wantBody: `{"model":"gpt-test","messages":[{"role":"user","content":"Hi"}]}`,
		},
		{
			name: "full request",
			req: llm.Request{
				Model: "gpt-test",
				Messages: []llm.Message{
					{Role: llm.RoleSystem, Content: "Be brief."},
					{Role: llm.RoleUser, Content: "Weather in Paris?"},
				},
				Tools:           []llm.Tool{weatherTool, {Name: "now"}},
				Temperature:     ptr(0.2),
				MaxOutputTokens: ptr(100),
			},
			wantBody: `{
				"model": "gpt-test",
				"messages": [
					{"role": "system", "content": "Be brief."},
					{"role": "user", "content": "Weather in Paris?"}
				],
				"temperature": 0.2,
				"max_completion_tokens": 100,
				"tools": [
					{"type": "function", "function": {
						"name": "get_weather",
						"description": "Current weather of a city",
						"parameters": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}
					}},
					{"type": "function", "function": {"name": "now"}}
				]
			}`,
		},
		{
			name:     "zero temperature is sent",
			req:      llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}, Temperature: ptr(0.0)},
			wantBody: `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, reply{status: 200, body: completion(`{"role":"assistant","content":"Hello there","refusal":null}`, 12, 3)})
			got, err := srv.provider(Config{APIKey: "sk-test"}).Chat(context.Background(), tt.req)
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
			if r.method != http.MethodPost || r.path != "/v1/chat/completions" {
				t.Errorf("request = %s %s, want POST /v1/chat/completions", r.method, r.path)
			}
			if auth := r.header.Get("Authorization"); auth != "Bearer sk-test" {
				t.Errorf("Authorization = %q, want Bearer sk-test", auth)
			}
			assertJSON(t, "request body", r.body, tt.wantBody)
		})
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	srv := newFake(t,
		reply{status: 200, body: completion(`{"role":"assistant","content":null,"tool_calls":[`+
			`{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`, 20, 7)},
		reply{status: 200, body: completion(`{"role":"assistant","content":"It is sunny in Paris."}`, 40, 6)},
	)
	p := srv.provider(Config{})
	req := llm.Request{
		Model:    "gpt-test",
		Messages: []llm.Message{{Role: llm.RoleSystem, Content: "Use tools."}, {Role: llm.RoleUser, Content: "Weather in Paris?"}},
		Tools:    []llm.Tool{weatherTool},
	}
	first, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("first Chat: %v", err)
	}
	wantCall := llm.ToolCall{ID: "call_abc", Name: "get_weather", Arguments: `{"city":"Paris"}`}
	wantFirst := &llm.Response{ToolCalls: []llm.ToolCall{wantCall}, Usage: llm.Usage{InputTokens: 20, OutputTokens: 7}}
	if !reflect.DeepEqual(first, wantFirst) {
		t.Fatalf("first Chat = %#v, want %#v", first, wantFirst)
	}

	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls},
		llm.Message{Role: llm.RoleTool, ToolCallID: "call_abc", Content: "sunny, 21°C"},
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
	assertJSON(t, "second request messages", reqs[1].body["messages"], `[
		{"role": "system", "content": "Use tools."},
		{"role": "user", "content": "Weather in Paris?"},
		{"role": "assistant", "tool_calls": [
			{"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
		]},
		{"role": "tool", "tool_call_id": "call_abc", "content": "sunny, 21°C"}
	]`)
}

func TestAssistantTextIsReplayed(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply{status: 200, body: completion(`{"role":"assistant","content":"ok"}`, 1, 1)})
	req := llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "a"},
		{Role: llm.RoleAssistant, Content: "let me look", ToolCalls: []llm.ToolCall{{ID: "c1", Name: "now"}}},
		{Role: llm.RoleTool, ToolCallID: "c1", Content: "noon"},
	}}
	if _, err := srv.provider(Config{}).Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	assertJSON(t, "messages", srv.requests()[0].body["messages"], `[
		{"role": "user", "content": "a"},
		{"role": "assistant", "content": "let me look", "tool_calls": [
			{"id": "c1", "type": "function", "function": {"name": "now", "arguments": "{}"}}
		]},
		{"role": "tool", "tool_call_id": "c1", "content": "noon"}
	]`)
}

func TestErrorsAndRetries(t *testing.T) {
	t.Parallel()
	ok := reply{status: 200, body: completion(`{"role":"assistant","content":"fine"}`, 1, 1)}
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
			replies:   []reply{{status: 429, header: quickRetry, body: `{"error":{"message":"Rate limit reached","type":"requests"}}`}, ok},
			wantCalls: 2,
		},
		{
			name:       "persisting 500 fails after MaxRetries+1 attempts",
			replies:    []reply{{status: 500, header: quickRetry, body: `{"error":{"message":"The server had an error","type":"server_error"}}`}},
			wantCalls:  4,
			wantStatus: 500,
			wantMsg:    "The server had an error",
		},
		{
			name:       "MaxRetries is honoured",
			replies:    []reply{{status: 503, header: quickRetry, body: `{"error":{"message":"overloaded"}}`}},
			maxRetries: 1,
			wantCalls:  2,
			wantStatus: 503,
			wantMsg:    "overloaded",
		},
		{
			name:       "negative MaxRetries disables retries",
			replies:    []reply{{status: 500, header: quickRetry, body: `{"error":{"message":"boom"}}`}},
			maxRetries: -1,
			wantCalls:  1,
			wantStatus: 500,
			wantMsg:    "boom",
		},
		{
			name:       "400 is not retried",
			replies:    []reply{{status: 400, body: `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}`}},
			wantCalls:  1,
			wantStatus: 400,
			wantMsg:    "Invalid value for 'temperature'",
		},
		{
			name:       "error as a string (Ollama style)",
			replies:    []reply{{status: 404, body: `{"error":"model \"llama9\" not found"}`}},
			wantCalls:  1,
			wantStatus: 404,
			wantMsg:    `model "llama9" not found`,
		},
		{
			name:       "top-level message (vLLM style)",
			replies:    []reply{{status: 400, body: `{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}`}},
			wantCalls:  1,
			wantStatus: 400,
			wantMsg:    "max_tokens is too large",
		},
		{
			name:       "plain-text body",
			replies:    []reply{{status: 401, body: `Unauthorized`}},
			wantCalls:  1,
			wantStatus: 401,
			wantMsg:    "Unauthorized",
		},
		{
			name:      "no choices",
			replies:   []reply{{status: 200, body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[]}`}},
			wantCalls: 1,
			wantMsg:   "the response has no choices",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, tt.replies...)
			got, err := srv.provider(Config{MaxRetries: tt.maxRetries}).Chat(context.Background(), llm.Request{
				Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}},
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
			want := llm.Error{Provider: "openai", StatusCode: tt.wantStatus, Message: tt.wantMsg}
			if *lerr != want {
				t.Errorf("error = %#v, want %#v", *lerr, want)
			}
		})
	}
}

func TestContextCancelDuringSlowResponse(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply{status: 200, delay: 30 * time.Second, body: completion(`{"role":"assistant","content":"late"}`, 1, 1)})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := srv.provider(Config{}).Chat(ctx, llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}})
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

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	srv := newFake(t, reply{status: 200, delay: 30 * time.Second, body: completion(`{"role":"assistant","content":"late"}`, 1, 1)})
	start := time.Now()
	_, err := srv.provider(Config{Timeout: 100 * time.Millisecond}).Chat(context.Background(),
		llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}})
	var lerr *llm.Error
	if !errors.As(err, &lerr) || lerr.Provider != "openai" || lerr.StatusCode != 0 {
		t.Fatalf("err = %#v, want *llm.Error without status", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %s", elapsed)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server got %d requests, want 1: the SDK does not retry a timed-out attempt", n)
	}
	if want := "no response within the timeout of 100ms"; lerr.Message != want {
		t.Errorf("message = %q, want %q", lerr.Message, want)
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  llm.Request
	}{
		{name: "unknown role", req: llm.Request{Model: "m", Messages: []llm.Message{{Role: "narrator", Content: "x"}}}},
		{name: "schema not an object", req: llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser}}, Tools: []llm.Tool{{Name: "t", Parameters: []byte(`[1]`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, reply{status: 200, body: completion(`{"role":"assistant","content":"x"}`, 1, 1)})
			_, err := srv.provider(Config{}).Chat(context.Background(), tt.req)
			var lerr *llm.Error
			if !errors.As(err, &lerr) || lerr.Provider != "openai" {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("server got %d requests, want none", n)
			}
		})
	}
}

// TestConfigBeatsEnvironment may not run in parallel: it sets the
// environment the SDK reads by itself.
func TestConfigBeatsEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "env-key")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/env")
	tests := []struct {
		name, apiKey, wantAuth string
	}{
		{name: "configured key", apiKey: "cfg-key", wantAuth: "Bearer cfg-key"},
		{name: "no key sends no header", apiKey: "", wantAuth: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, reply{status: 200, body: completion(`{"role":"assistant","content":"hi"}`, 1, 1)})
			p := New(Config{APIKey: tt.apiKey, BaseURL: srv.URL + "/v1", MaxRetries: -1})
			if _, err := p.Chat(context.Background(), llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}}); err != nil {
				t.Fatalf("Chat: %v (did the environment's base URL win?)", err)
			}
			if got := srv.requests()[0].header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := Config{}.withDefaults()
	want := Config{BaseURL: "https://api.openai.com/v1", MaxRetries: 3, Timeout: 60 * time.Second}
	if got != want {
		t.Errorf("defaults = %#v, want %#v", got, want)
	}
	kept := Config{BaseURL: "http://localhost:11434/v1", MaxRetries: -1, Timeout: time.Second}
	if got := kept.withDefaults(); got != kept {
		t.Errorf("withDefaults changed %#v to %#v", kept, got)
	}
}
