package httpapi

import (
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
)

// The JSON shapes of the API. Field order follows the OpenAPI document.

type agentJSON struct {
	AgentID     string `json:"agent_id"`
	OrgID       string `json:"org_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
}

func agentView(a *umami.Agent) agentJSON {
	return agentJSON{AgentID: a.ID, OrgID: a.OrgID, Name: a.Name, Description: a.Description, CreatedAt: ts(a.CreatedAt)}
}

type versionJSON struct {
	AgentVersionID  string            `json:"agent_version_id"`
	AgentID         string            `json:"agent_id"`
	OrgID           string            `json:"org_id"`
	Version         int               `json:"version"`
	Status          string            `json:"status"`
	Model           string            `json:"model"`
	Instructions    string            `json:"instructions"`
	Temperature     *float64          `json:"temperature"`
	MaxOutputTokens *int              `json:"max_output_tokens"`
	Tools           []string          `json:"tools"`
	Metadata        map[string]string `json:"metadata"`
	CreatedAt       string            `json:"created_at"`
	PublishedAt     *string           `json:"published_at"`
}

func versionView(v *umami.AgentVersion) versionJSON {
	return versionJSON{AgentVersionID: v.ID, AgentID: v.AgentID, OrgID: v.OrgID, Version: v.Number, Status: v.Status,
		Model: v.Model, Instructions: v.Instructions, Temperature: v.Temperature, MaxOutputTokens: v.MaxOutputTokens,
		Tools: v.Tools, Metadata: v.Metadata, CreatedAt: ts(v.CreatedAt), PublishedAt: tsPtr(v.PublishedAt)}
}

type runErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type usageJSON struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type runJSON struct {
	RunID          string            `json:"run_id"`
	OrgID          string            `json:"org_id"`
	AgentID        string            `json:"agent_id"`
	AgentVersionID string            `json:"agent_version_id"`
	Status         string            `json:"status"`
	Input          string            `json:"input"`
	Output         *string           `json:"output"`
	Error          *runErrorJSON     `json:"error"`
	Usage          usageJSON         `json:"usage"`
	Metadata       map[string]string `json:"metadata"`
	CreatedAt      string            `json:"created_at"`
	StartedAt      *string           `json:"started_at"`
	CompletedAt    *string           `json:"completed_at"`
}

func runView(r *umami.Run) runJSON {
	return runJSON{RunID: r.ID, OrgID: r.OrgID, AgentID: r.AgentID, AgentVersionID: r.AgentVersionID,
		Status: r.Status, Input: r.Input, Output: r.Output, Error: runErrorView(r.Error),
		Usage: usageJSON{r.Usage.InputTokens, r.Usage.OutputTokens}, Metadata: r.Metadata,
		CreatedAt: ts(r.CreatedAt), StartedAt: tsPtr(r.StartedAt), CompletedAt: tsPtr(r.CompletedAt)}
}

func runErrorView(e *umami.RunError) *runErrorJSON {
	if e == nil {
		return nil
	}
	return &runErrorJSON{Code: e.Code, Message: e.Message}
}

type stepJSON struct {
	Index       int           `json:"index"`
	Type        string        `json:"type"`
	Name        string        `json:"name"`
	Input       string        `json:"input"`
	Output      string        `json:"output"`
	Error       *runErrorJSON `json:"error"`
	Usage       *usageJSON    `json:"usage"`
	StartedAt   string        `json:"started_at"`
	CompletedAt string        `json:"completed_at"`
}

func stepView(s umami.RunStep) stepJSON {
	out := stepJSON{Index: s.Index, Type: s.Type, Name: s.Name, Input: s.Input, Output: s.Output,
		Error: runErrorView(s.Error), StartedAt: ts(s.StartedAt), CompletedAt: ts(s.CompletedAt)}
	if s.Usage != nil {
		out.Usage = &usageJSON{s.Usage.InputTokens, s.Usage.OutputTokens}
	}
	return out
}

type listJSON[T any] struct {
	Data       []T     `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

func listView[S, T any](l platform.List[S], view func(S) T) listJSON[T] {
	out := listJSON[T]{Data: make([]T, len(l.Items)), HasMore: l.HasMore}
	for i, item := range l.Items {
		out.Data[i] = view(item)
	}
	if l.HasMore {
		out.NextCursor = &l.NextCursor
	}
	return out
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}
