package openai

import (
	"encoding/json"
	"fmt"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/umamiai/umami/llm"
)

// newParams maps an llm request to Chat Completions parameters.
// MaxOutputTokens becomes max_completion_tokens, which OpenAI requires for
// its reasoning models and which replaces the deprecated max_tokens; the
// common OpenAI-compatible servers accept it too. Temperature and
// max_completion_tokens are only sent when set.
func newParams(req llm.Request) (sdk.ChatCompletionNewParams, error) {
	msgs, err := toMessages(req.Messages)
	if err != nil {
		return sdk.ChatCompletionNewParams{}, err
	}
	tools, err := toTools(req.Tools)
	if err != nil {
		return sdk.ChatCompletionNewParams{}, err
	}
	params := sdk.ChatCompletionNewParams{Model: req.Model, Messages: msgs, Tools: tools}
	if req.Temperature != nil {
		params.Temperature = sdk.Float(*req.Temperature)
	}
	if req.MaxOutputTokens != nil {
		params.MaxCompletionTokens = sdk.Int(int64(*req.MaxOutputTokens))
	}
	return params, nil
}

// toMessages maps llm messages to chat messages.
func toMessages(msgs []llm.Message) ([]sdk.ChatCompletionMessageParamUnion, error) {
	out := make([]sdk.ChatCompletionMessageParamUnion, 0, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case llm.RoleSystem:
			out = append(out, sdk.SystemMessage(m.Content))
		case llm.RoleUser:
			out = append(out, sdk.UserMessage(m.Content))
		case llm.RoleAssistant:
			out = append(out, assistantMessage(m))
		case llm.RoleTool:
			out = append(out, sdk.ToolMessage(m.Content, m.ToolCallID))
		default:
			return nil, requestError(fmt.Sprintf("message %d has unknown role %q", i, m.Role))
		}
	}
	return out, nil
}

// assistantMessage maps an assistant turn with its tool calls.
func assistantMessage(m llm.Message) sdk.ChatCompletionMessageParamUnion {
	var a sdk.ChatCompletionAssistantMessageParam
	if m.Content != "" || len(m.ToolCalls) == 0 {
		a.Content.OfString = sdk.String(m.Content)
	}
	for _, c := range m.ToolCalls {
		a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
				ID: c.ID,
				Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{
					Name:      c.Name,
					Arguments: argumentsOrEmpty(c.Arguments),
				},
			},
		})
	}
	return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}
}

// toTools maps llm tools to function tools. No tools map to nil, so that
// no empty tools array is sent: OpenAI rejects one.
func toTools(tools []llm.Tool) ([]sdk.ChatCompletionToolUnionParam, error) {
	var out []sdk.ChatCompletionToolUnionParam
	for _, t := range tools {
		fn := shared.FunctionDefinitionParam{Name: t.Name}
		if t.Description != "" {
			fn.Description = sdk.String(t.Description)
		}
		if len(t.Parameters) > 0 {
			if err := json.Unmarshal(t.Parameters, &fn.Parameters); err != nil {
				return nil, requestError(fmt.Sprintf("tool %q: parameters are not a JSON object: %v", t.Name, err))
			}
		}
		out = append(out, sdk.ChatCompletionFunctionTool(fn))
	}
	return out, nil
}

// fromCompletion maps the first choice and the usage of a completion. A
// refusal stands in for empty content.
func fromCompletion(c *sdk.ChatCompletion) (*llm.Response, error) {
	if len(c.Choices) == 0 {
		return nil, &llm.Error{Provider: providerName, Message: "the response has no choices"}
	}
	msg := c.Choices[0].Message
	resp := &llm.Response{
		Content: msg.Content,
		Usage: llm.Usage{
			InputTokens:  int(c.Usage.PromptTokens),
			OutputTokens: int(c.Usage.CompletionTokens),
		},
	}
	if resp.Content == "" {
		resp.Content = msg.Refusal
	}
	for _, tc := range msg.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			continue
		}
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
			ID:        tc.ID,
			Name:      tc.Function.Name,
			Arguments: argumentsOrEmpty(tc.Function.Arguments),
		})
	}
	return resp, nil
}

// argumentsOrEmpty returns args, or the empty JSON object when it is empty.
func argumentsOrEmpty(args string) string {
	if args == "" {
		return "{}"
	}
	return args
}

// requestError reports a request this package cannot send.
func requestError(msg string) *llm.Error {
	return &llm.Error{Provider: providerName, Message: msg}
}
