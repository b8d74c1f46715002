package anthropic

import (
	"encoding/json"
	"fmt"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/umamiai/umami/llm"
)

// newParams maps an llm request to Messages API parameters. System
// messages, wherever they are, become the system parameter. max_tokens is
// MaxOutputTokens or DefaultMaxTokens. Temperature is only sent when set;
// the SDK has no field for it any more, so it goes in as an extra field.
func newParams(req llm.Request) (sdk.MessageNewParams, error) {
	system, msgs, err := toMessages(req.Messages)
	if err != nil {
		return sdk.MessageNewParams{}, err
	}
	tools, err := toTools(req.Tools)
	if err != nil {
		return sdk.MessageNewParams{}, err
	}
	params := sdk.MessageNewParams{
		Model:     req.Model,
		MaxTokens: DefaultMaxTokens,
		System:    system,
		Messages:  msgs,
		Tools:     tools,
	}
	if req.MaxOutputTokens != nil {
		params.MaxTokens = int64(*req.MaxOutputTokens)
	}
	if req.Temperature != nil {
		params.SetExtraFields(map[string]any{"temperature": *req.Temperature})
	}
	return params, nil
}

// turn is one message under construction: its role and content blocks.
type turn struct {
	assistant bool
	blocks    []sdk.ContentBlockParamUnion
}

// toMessages splits llm messages into the system prompt and the turns.
// Tool results go into user turns, and consecutive messages of one role
// share a turn, as the Messages API wants. Empty text is left out: the API
// rejects empty text blocks.
func toMessages(msgs []llm.Message) ([]sdk.TextBlockParam, []sdk.MessageParam, error) {
	var system []sdk.TextBlockParam
	var turns []turn
	for i, m := range msgs {
		if m.Role == llm.RoleSystem {
			if m.Content != "" {
				system = append(system, sdk.TextBlockParam{Text: m.Content})
			}
			continue
		}
		blocks, err := toBlocks(i, m)
		if err != nil {
			return nil, nil, err
		}
		turns = addTurn(turns, m.Role == llm.RoleAssistant, blocks)
	}
	out := make([]sdk.MessageParam, 0, len(turns))
	for _, t := range turns {
		if t.assistant {
			out = append(out, sdk.NewAssistantMessage(t.blocks...))
		} else {
			out = append(out, sdk.NewUserMessage(t.blocks...))
		}
	}
	return system, out, nil
}

// addTurn appends blocks to the last turn when it has the same role, else
// as a new turn.
func addTurn(turns []turn, assistant bool, blocks []sdk.ContentBlockParamUnion) []turn {
	if len(blocks) == 0 {
		return turns
	}
	if n := len(turns); n > 0 && turns[n-1].assistant == assistant {
		turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
		return turns
	}
	return append(turns, turn{assistant: assistant, blocks: blocks})
}

// toBlocks maps a user, assistant or tool message (number i) to blocks.
func toBlocks(i int, m llm.Message) ([]sdk.ContentBlockParamUnion, error) {
	switch m.Role {
	case llm.RoleUser:
		return textBlocks(m.Content), nil
	case llm.RoleAssistant:
		return assistantBlocks(m)
	case llm.RoleTool:
		return []sdk.ContentBlockParamUnion{toolResult(m)}, nil
	default:
		return nil, requestError(fmt.Sprintf("message %d has unknown role %q", i, m.Role))
	}
}

// textBlocks returns one text block, or none for empty text.
func textBlocks(text string) []sdk.ContentBlockParamUnion {
	if text == "" {
		return nil
	}
	return []sdk.ContentBlockParamUnion{sdk.NewTextBlock(text)}
}

// assistantBlocks maps an assistant turn: its text, then its tool calls.
func assistantBlocks(m llm.Message) ([]sdk.ContentBlockParamUnion, error) {
	blocks := textBlocks(m.Content)
	for _, c := range m.ToolCalls {
		input, err := toolInput(c)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, sdk.NewToolUseBlock(c.ID, input, c.Name))
	}
	return blocks, nil
}

// toolResult maps a tool message to a tool_result block.
func toolResult(m llm.Message) sdk.ContentBlockParamUnion {
	result := sdk.ToolResultBlockParam{ToolUseID: m.ToolCallID}
	if m.Content != "" {
		result.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: m.Content}}}
	}
	return sdk.ContentBlockParamUnion{OfToolResult: &result}
}

// toolInput returns the arguments of a tool call as the JSON object
// tool_use wants.
func toolInput(c llm.ToolCall) (json.RawMessage, error) {
	if c.Arguments == "" {
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid([]byte(c.Arguments)) {
		return nil, requestError(fmt.Sprintf("tool call %q: arguments are not JSON", c.ID))
	}
	return json.RawMessage(c.Arguments), nil
}

// toTools maps llm tools to custom tools. No tools map to nil, so that no
// empty tools array is sent.
func toTools(tools []llm.Tool) ([]sdk.ToolUnionParam, error) {
	var out []sdk.ToolUnionParam
	for _, t := range tools {
		schema, err := inputSchema(t)
		if err != nil {
			return nil, err
		}
		tool := sdk.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tool.Description = sdk.String(t.Description)
		}
		out = append(out, sdk.ToolUnionParam{OfTool: &tool})
	}
	return out, nil
}

// inputSchema returns the parameters of t as input_schema, which the API
// requires: a tool without parameters gets an object without properties.
func inputSchema(t llm.Tool) (sdk.ToolInputSchemaParam, error) {
	empty := sdk.ToolInputSchemaParam{Properties: map[string]any{}}
	if len(t.Parameters) == 0 {
		return empty, nil
	}
	var object map[string]any
	if err := json.Unmarshal(t.Parameters, &object); err != nil {
		return empty, requestError(fmt.Sprintf("tool %q: parameters are not a JSON Schema object: %v", t.Name, err))
	}
	if object == nil { // null
		return empty, nil
	}
	var schema sdk.ToolInputSchemaParam
	if err := json.Unmarshal(t.Parameters, &schema); err != nil {
		return empty, requestError(fmt.Sprintf("tool %q: parameters: %v", t.Name, err))
	}
	return schema, nil
}

// fromMessage maps the text, tool_use blocks and usage of a response; other
// blocks (thinking, ...) are dropped.
func fromMessage(msg *sdk.Message) *llm.Response {
	resp := &llm.Response{Usage: llm.Usage{
		InputTokens:  int(msg.Usage.InputTokens),
		OutputTokens: int(msg.Usage.OutputTokens),
	}}
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			resp.Content += b.Text
		case "tool_use":
			args := string(b.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	return resp
}

// requestError reports a request this package cannot send.
func requestError(msg string) *llm.Error {
	return &llm.Error{Provider: providerName, Message: msg}
}
