package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/umamiai/umami/llm"
)

// Tool is a function an agent version may let the model call.
type Tool interface {
	Definition() llm.Tool
	Call(ctx context.Context, arguments string) (string, error)
}

// BuiltinTools returns the tools every deployment has, by name.
func BuiltinTools(now func() time.Time) map[string]Tool {
	return map[string]Tool{"current_time": currentTime{now: now}}
}

// currentTime tells the model the current UTC time.
type currentTime struct{ now func() time.Time }

func (currentTime) Definition() llm.Tool {
	return llm.Tool{Name: "current_time", Description: "Returns the current date and time in UTC (RFC 3339).",
		Parameters: json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`)}
}

func (t currentTime) Call(context.Context, string) (string, error) {
	return t.now().UTC().Format(time.RFC3339), nil
}
