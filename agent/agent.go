// Package agent is the agent runtime: it assembles the prompt of a version,
// calls the model, runs the tool calls the model asks for in a bounded loop,
// and records every model and tool call as a step with its token usage.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/llm"
)

// DefaultMaxSteps bounds the model calls of one run.
const DefaultMaxSteps = 8

// Runtime executes runs.
type Runtime struct {
	Models   llm.Registry
	Tools    map[string]Tool
	MaxSteps int
	Now      func() time.Time
}

// Execute runs version v on the run's input and returns the outcome. It
// never returns a Go error: every failure is a stable run error code.
func (rt *Runtime) Execute(ctx context.Context, v *umami.AgentVersion, run *umami.Run) umami.Outcome {
	ex := &execution{rt: rt, run: run}
	out, err := ex.loop(ctx, v)
	if err != nil {
		return umami.Outcome{Error: classify(ctx, err), Usage: ex.usage, Steps: ex.steps}
	}
	return umami.Outcome{Output: out, Usage: ex.usage, Steps: ex.steps}
}

type execution struct {
	rt    *Runtime
	run   *umami.Run
	steps []umami.RunStep
	usage umami.Usage
}

func (ex *execution) loop(ctx context.Context, v *umami.AgentVersion) (string, error) {
	provider, model, err := ex.rt.Models.Resolve(v.Model)
	if err != nil {
		return "", err
	}
	req := llm.Request{Model: model, Temperature: v.Temperature, MaxOutputTokens: v.MaxOutputTokens,
		Messages: initialMessages(v, ex.run.Input)}
	for _, name := range v.Tools {
		if t, ok := ex.rt.Tools[name]; ok {
			req.Tools = append(req.Tools, t.Definition())
		}
	}
	maxSteps := cmp.Or(ex.rt.MaxSteps, DefaultMaxSteps)
	for range maxSteps {
		resp, err := ex.callModel(ctx, provider, v.Model, req)
		if err != nil {
			return "", err
		}
		if len(resp.ToolCalls) == 0 {
			return resp.Content, nil
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls})
		for _, call := range resp.ToolCalls {
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: call.ID,
				Content: ex.callTool(ctx, call)})
		}
	}
	return "", errTooManySteps
}

func initialMessages(v *umami.AgentVersion, input string) []llm.Message {
	var msgs []llm.Message
	if v.Instructions != "" {
		msgs = append(msgs, llm.Message{Role: llm.RoleSystem, Content: v.Instructions})
	}
	return append(msgs, llm.Message{Role: llm.RoleUser, Content: input})
}

func (ex *execution) callModel(ctx context.Context, p llm.Provider, model string, req llm.Request) (*llm.Response, error) {
	started := ex.now()
	resp, err := p.Chat(ctx, req)
	step := umami.RunStep{RunID: ex.run.ID, Type: umami.StepModelCall, Name: model,
		Input: lastContent(req.Messages), StartedAt: started, CompletedAt: ex.now()}
	if err != nil {
		step.Error = classify(ctx, err)
		ex.steps = append(ex.steps, step)
		return nil, err
	}
	u := umami.Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens}
	step.Output, step.Usage = describe(resp), &u
	ex.usage = ex.usage.Add(u)
	ex.steps = append(ex.steps, step)
	return resp, nil
}

// callTool runs one tool call. A tool's failure goes back to the model as
// the tool's answer, as providers expect; it does not end the run.
func (ex *execution) callTool(ctx context.Context, call llm.ToolCall) string {
	started := ex.now()
	step := umami.RunStep{RunID: ex.run.ID, Type: umami.StepToolCall, Name: call.Name, Input: call.Arguments, StartedAt: started}
	var result string
	t, ok := ex.rt.Tools[call.Name]
	if !ok {
		result = fmt.Sprintf("error: unknown tool %q", call.Name)
		step.Error = &umami.RunError{Code: "unknown_tool", Message: result}
	} else if out, err := t.Call(ctx, call.Arguments); err != nil {
		result = "error: " + err.Error()
		step.Error = &umami.RunError{Code: "tool_error", Message: err.Error()}
	} else {
		result = out
	}
	step.Output, step.CompletedAt = result, ex.now()
	ex.steps = append(ex.steps, step)
	return result
}

func (ex *execution) now() time.Time {
	now := time.Now
	if ex.rt.Now != nil {
		now = ex.rt.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

var errTooManySteps = errors.New("too many steps")

// classify maps an execution error to a stable run error.
func classify(ctx context.Context, err error) *umami.RunError {
	var le *llm.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &umami.RunError{Code: umami.RunErrTimeout, Message: "The run exceeded its time limit."}
	case errors.Is(ctx.Err(), context.Canceled):
		return &umami.RunError{Code: umami.RunErrCanceled, Message: "The run was canceled."}
	case errors.Is(err, llm.ErrNotConfigured):
		return &umami.RunError{Code: umami.RunErrUnavailable, Message: err.Error() + " on this deployment"}
	case errors.Is(err, errTooManySteps):
		return &umami.RunError{Code: umami.RunErrTooManySteps, Message: "The model kept calling tools past the step limit."}
	case errors.As(err, &le):
		return &umami.RunError{Code: umami.RunErrModel, Message: le.Error()}
	default:
		return &umami.RunError{Code: umami.RunErrModel, Message: err.Error()}
	}
}

func lastContent(msgs []llm.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Content
}

func describe(resp *llm.Response) string {
	if len(resp.ToolCalls) == 0 {
		return resp.Content
	}
	s := resp.Content
	for _, c := range resp.ToolCalls {
		s += fmt.Sprintf("[call %s %s]", c.Name, c.Arguments)
	}
	return s
}
