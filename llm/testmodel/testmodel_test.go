package testmodel

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/umamiai/umami/llm"
)

func user(s string) llm.Message   { return llm.Message{Role: llm.RoleUser, Content: s} }
func system(s string) llm.Message { return llm.Message{Role: llm.RoleSystem, Content: s} }

var lookup = llm.Tool{Name: "lookup", Description: "looks things up", Parameters: []byte(`{"type":"object"}`)}

func TestChatAnswers(t *testing.T) {
	t.Parallel()
	toolCall := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: ToolCallID, Name: "lookup", Arguments: "{}"}}}
	toolMsg := llm.Message{Role: llm.RoleTool, ToolCallID: ToolCallID, Content: "42 apples"}
	tests := []struct {
		name string
		req  llm.Request
		want llm.Response
	}{
		{
			name: "echo with usage",
			req:  llm.Request{Model: "echo", Messages: []llm.Message{system("be terse now"), user("  hello   world ")}},
			want: llm.Response{Content: "Echo: hello   world", Usage: llm.Usage{InputTokens: 5, OutputTokens: 3}},
		},
		{
			name: "only the last user message counts",
			req: llm.Request{Messages: []llm.Message{
				user("first [[fail]]"), {Role: llm.RoleAssistant, Content: "Echo: first"}, user("second"),
			}},
			want: llm.Response{Content: "Echo: second", Usage: llm.Usage{InputTokens: 5, OutputTokens: 2}},
		},
		{
			name: "system magic is ignored",
			req:  llm.Request{Messages: []llm.Message{system("[[fail]] [[bogus]]"), user("hi")}},
			want: llm.Response{Content: "Echo: hi", Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}},
		},
		{
			name: "magic tokens are removed",
			req:  llm.Request{Messages: []llm.Message{user("[[sleep:1ms]] a [[Wiki Page]] b [[sleep :x]]")}},
			want: llm.Response{Content: "Echo: a [[Wiki Page]] b [[sleep :x]]", Usage: llm.Usage{InputTokens: 7, OutputTokens: 7}},
		},
		{
			name: "empty message",
			req:  llm.Request{Messages: []llm.Message{user("")}},
			want: llm.Response{Content: "Echo: ", Usage: llm.Usage{InputTokens: 0, OutputTokens: 1}},
		},
		{
			name: "tool call first",
			req:  llm.Request{Messages: []llm.Message{user("weather? [[tool:lookup]]")}, Tools: []llm.Tool{lookup}},
			want: llm.Response{
				ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "lookup", Arguments: "{}"}},
				Usage:     llm.Usage{InputTokens: 2, OutputTokens: 0},
			},
		},
		{
			name: "tool result afterwards",
			req: llm.Request{
				Messages: []llm.Message{system("sys"), user("count [[tool:lookup]]"), toolCall, toolMsg},
				Tools:    []llm.Tool{{Name: "other"}, lookup},
			},
			want: llm.Response{
				Content: "Echo: count\nTool lookup returned: 42 apples",
				Usage:   llm.Usage{InputTokens: 5, OutputTokens: 7},
			},
		},
		{
			name: "a tool result of an earlier turn does not count",
			req: llm.Request{
				Messages: []llm.Message{user("a [[tool:lookup]]"), toolCall, toolMsg, {Role: llm.RoleAssistant, Content: "done"}, user("b [[tool:lookup]]")},
				Tools:    []llm.Tool{lookup},
			},
			want: llm.Response{
				ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "lookup", Arguments: "{}"}},
				Usage:     llm.Usage{InputTokens: 7, OutputTokens: 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New().Chat(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Chat = %#v, want %#v", *got, tt.want)
			}
		})
	}
}

func TestChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		req     llm.Request
		message string // the exact message, or a substring when contains is set
		contain bool
	}{
		{name: "fail", req: req("please [[fail]] now"), message: "the test model was asked to fail ([[fail]])"},
		{name: "fail twice", req: req("[[fail]][[fail]]"), message: "the test model was asked to fail ([[fail]])"},
		{name: "fail after sleep", req: req("[[sleep:1ms]] [[fail]]"), message: "the test model was asked to fail ([[fail]])"},
		{name: "bad duration", req: req("x [[sleep:abc]]"), message: "malformed magic token [[sleep:abc]]", contain: true},
		{name: "missing duration", req: req("[[sleep]]"), message: "malformed magic token [[sleep]]", contain: true},
		{name: "too long", req: req("[[sleep:10m]]"), message: "malformed magic token [[sleep:10m]]: the duration must be between 0 and 5m0s"},
		{name: "negative", req: req("[[sleep:-1s]]"), message: "malformed magic token [[sleep:-1s]]", contain: true},
		{name: "two sleeps", req: req("[[sleep:1ms]] [[sleep:2ms]]"), message: "malformed magic token [[sleep:2ms]]", contain: true},
		{name: "fail with argument", req: req("[[fail:now]]"), message: "malformed magic token [[fail:now]]", contain: true},
		{name: "tool without name", req: req("[[tool:]]"), message: "malformed magic token [[tool:]]", contain: true},
		{name: "unknown token", req: req("[[bogus]]"), message: "malformed magic token [[bogus]]", contain: true},
		{name: "malformed beats fail", req: req("[[fail]] [[sleep:abc]]"), message: "malformed magic token [[sleep:abc]]", contain: true},
		{name: "tool not offered", req: req("[[tool:lookup]]"), message: "tool lookup is not available", contain: true},
		{name: "no user message", req: llm.Request{Messages: []llm.Message{system("hi")}}, message: "the test model needs a user message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New().Chat(context.Background(), tt.req)
			var lerr *llm.Error
			if !errors.As(err, &lerr) {
				t.Fatalf("Chat = %v, %v; want *llm.Error", got, err)
			}
			if lerr.Provider != "test" || lerr.StatusCode != 0 {
				t.Errorf("error = %#v, want provider test and no status", lerr)
			}
			if tt.contain && !strings.Contains(lerr.Message, tt.message) || !tt.contain && lerr.Message != tt.message {
				t.Errorf("message = %q, want %q", lerr.Message, tt.message)
			}
		})
	}
}

func req(content string) llm.Request {
	return llm.Request{Messages: []llm.Message{user(content)}}
}

func TestSleepWaits(t *testing.T) {
	t.Parallel()
	start := time.Now()
	got, err := New().Chat(context.Background(), req("slow [[sleep:150ms]]"))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Errorf("answered after %s, want at least 150ms", elapsed)
	}
	if got.Content != "Echo: slow" {
		t.Errorf("Content = %q, want %q", got.Content, "Echo: slow")
	}
}

func TestSleepCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := New().Chat(ctx, req("[[sleep:5m]]"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned after %s, want promptly after the cancel", elapsed)
	}
}

func TestSleepDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := New().Chat(ctx, req("[[sleep:1m]]"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCancelledBeforeCall(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Chat(ctx, req("hi")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	r := llm.Request{Messages: []llm.Message{system("a b"), user("c [[tool:lookup]]")}, Tools: []llm.Tool{lookup}}
	first, err := New().Chat(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := New().Chat(context.Background(), r)
		if err != nil || !reflect.DeepEqual(first, again) {
			t.Fatalf("Chat = %#v, %v; want %#v", again, err, first)
		}
	}
}

func TestMagicDocumentsEveryToken(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"[[fail]]", "[[sleep:DURATION]]", "[[tool:NAME]]", ToolCallID, failMessage, "5m", "Tool NAME returned: "} {
		if !strings.Contains(Magic, s) {
			t.Errorf("Magic does not mention %q", s)
		}
	}
}
