// Package testmodel is a deterministic stand-in for a language model, for
// integration tests. It is not AI: it echoes the last user message and obeys
// the magic tokens documented by [Magic], so a test can ask for a failure, a
// slow answer or a tool call and know exactly what comes back.
package testmodel

import (
	"context"
	"strings"
	"time"

	"github.com/umamiai/umami/llm"
)

// Magic is the reference of the test model's magic input, written to be
// pasted into a README as it is.
const Magic = `The test model (provider "test", any model name) is deterministic, not AI.
It reads the LAST user message; system messages are ignored (they only count
towards usage). A magic token is [[name]] or [[name:argument]] with a lowercase
name; other bracketed text is plain text.

- Answer: "Echo: " + the message with every magic token removed and the
  surrounding whitespace trimmed ("Hi [[sleep:1s]]" answers "Echo: Hi").
- [[fail]]: fail with an *llm.Error of Provider "test" and Message
  "the test model was asked to fail ([[fail]])".
- [[sleep:DURATION]]: wait DURATION (a Go duration such as 150ms or 2s, at
  most 5m) before answering; a cancelled context ends the wait with ctx.Err().
- [[tool:NAME]]: NAME must be one of the request's tools, else *llm.Error
  "tool NAME is not available". While no tool message (role tool) follows the
  last user message, the answer has no content and one tool call
  {ID: "call_1", Name: NAME, Arguments: "{}"}. Once one does, the answer is
  "Echo: <message>\nTool NAME returned: <content of the first such message>".
- Usage: InputTokens = whitespace-separated words in the content of all
  messages (magic tokens included); OutputTokens = words in the answer's
  content (0 for a tool call).
- Errors: a malformed or unknown token ([[sleep:abc]], [[sleep:10m]],
  [[fail:x]], [[tool:]], [[bogus]]), a second [[sleep]] or [[tool]] token, or
  a request without a user message fails with *llm.Error naming the problem.
- Order: tokens are checked first, then the model sleeps, then fails, then
  calls the tool or echoes.`

// ToolCallID is the ID of the tool call the test model asks for.
const ToolCallID = "call_1"

// MaxSleep is the longest [[sleep:DURATION]] the test model accepts.
const MaxSleep = 5 * time.Minute

// providerName is the Provider field of the errors the test model returns.
const providerName = "test"

// failMessage is the message of the error [[fail]] asks for.
const failMessage = "the test model was asked to fail ([[fail]])"

// Provider is the deterministic test model. The zero value is ready to use
// and safe for concurrent use.
type Provider struct{}

var _ llm.Provider = (*Provider)(nil)

// New returns the test model.
func New() *Provider { return &Provider{} }

// Chat answers req by the rules of [Magic].
func (p *Provider) Chat(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	last := lastUserIndex(req.Messages)
	if last < 0 {
		return nil, testError("the test model needs a user message")
	}
	m, err := parseMagic(req.Messages[last].Content)
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, m.sleep); err != nil {
		return nil, err
	}
	if m.fail {
		return nil, testError(failMessage)
	}
	resp, err := answer(req, last, m)
	if err != nil {
		return nil, err
	}
	resp.Usage = llm.Usage{
		InputTokens:  inputWords(req.Messages),
		OutputTokens: len(strings.Fields(resp.Content)),
	}
	return resp, nil
}

// answer builds the echo or tool-call answer to the user message at index
// last.
func answer(req llm.Request, last int, m magic) (*llm.Response, error) {
	echo := "Echo: " + m.text
	if m.tool == "" {
		return &llm.Response{Content: echo}, nil
	}
	if !offersTool(req.Tools, m.tool) {
		return nil, testError("tool " + m.tool + " is not available: the request does not offer it")
	}
	result, ok := toolResult(req.Messages[last+1:])
	if !ok {
		call := llm.ToolCall{ID: ToolCallID, Name: m.tool, Arguments: "{}"}
		return &llm.Response{ToolCalls: []llm.ToolCall{call}}, nil
	}
	return &llm.Response{Content: echo + "\nTool " + m.tool + " returned: " + result}, nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// lastUserIndex returns the index of the last user message, or -1.
func lastUserIndex(msgs []llm.Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return i
		}
	}
	return -1
}

// toolResult returns the content of the first tool message in msgs.
func toolResult(msgs []llm.Message) (string, bool) {
	for _, m := range msgs {
		if m.Role == llm.RoleTool {
			return m.Content, true
		}
	}
	return "", false
}

// offersTool reports whether tools contains one called name.
func offersTool(tools []llm.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// inputWords counts the whitespace-separated words of all messages.
func inputWords(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(strings.Fields(m.Content))
	}
	return n
}

// testError returns an *llm.Error of the test provider.
func testError(msg string) *llm.Error {
	return &llm.Error{Provider: providerName, Message: msg}
}
