// Package llm defines the small interface behind which every model provider
// sits (OpenAI and OpenAI-compatible servers, Anthropic, the deterministic
// test model), and the registry that resolves "provider/model" names.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Role is the author of a message.
type Role string

// Message roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one turn of a conversation. An assistant message may carry tool
// calls; a tool message answers the call named by ToolCallID.
type Message struct {
	Role       Role
	Content    string
	ToolCalls  []ToolCall
	ToolCallID string
}

// Tool describes a function the model may call. Parameters is a JSON Schema
// object.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

// ToolCall is the model's request to call a tool. Arguments is a JSON object.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Request is one chat completion request. Model is the provider's own model
// name, without the "provider/" prefix.
type Request struct {
	Model           string
	Messages        []Message
	Tools           []Tool
	Temperature     *float64
	MaxOutputTokens *int
}

// Usage counts tokens of one call.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Response is the model's answer: text, tool calls, or both.
type Response struct {
	Content   string
	ToolCalls []ToolCall
	Usage     Usage
}

// Provider answers chat requests. Implementations must honour ctx
// cancellation and retry transient failures (429, 5xx) themselves.
type Provider interface {
	Chat(ctx context.Context, req Request) (*Response, error)
}

// Error is a provider failure after retries: the HTTP status when there was
// one, and the provider's message.
type Error struct {
	Provider   string
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: status %d: %s", e.Provider, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Provider, e.Message)
}

// ErrNotConfigured is returned for a provider this deployment has no
// credentials for.
var ErrNotConfigured = errors.New("provider not configured")

// Registry maps provider names ("openai", "anthropic", "test") to providers.
type Registry map[string]Provider

// SplitModel splits "provider/model" into its two parts.
func SplitModel(name string) (provider, model string, err error) {
	provider, model, ok := strings.Cut(name, "/")
	if !ok || provider == "" || model == "" {
		return "", "", fmt.Errorf("model %q must be written provider/model, e.g. openai/gpt-4o-mini", name)
	}
	return provider, model, nil
}

// Resolve returns the provider of a "provider/model" name and the model part.
func (r Registry) Resolve(name string) (Provider, string, error) {
	provider, model, err := SplitModel(name)
	if err != nil {
		return nil, "", err
	}
	p, ok := r[provider]
	if !ok || p == nil {
		return nil, "", fmt.Errorf("%w: %q", ErrNotConfigured, provider)
	}
	return p, model, nil
}
