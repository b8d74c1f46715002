package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/umamiai/umami/llm"
)

// maxMessageLen bounds an error message taken from a response body.
const maxMessageLen = 500

// chatError maps a failed call. A done ctx wins, so that errors.Is finds
// context.Canceled or context.DeadlineExceeded; everything else becomes an
// *llm.Error, with the HTTP status when there was a response.
func (p *Provider) chatError(ctx context.Context, err error, resp *http.Response) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", providerName, ctxErr)
	}
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if msg == "" {
			msg = bodyMessage(apiErr.Response)
		}
		return &llm.Error{Provider: providerName, StatusCode: apiErr.StatusCode, Message: msg}
	}
	if resp != nil && resp.StatusCode >= http.StatusBadRequest {
		// The SDK could not decode the body as an error.
		return &llm.Error{Provider: providerName, StatusCode: resp.StatusCode, Message: bodyMessage(resp)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &llm.Error{Provider: providerName, Message: p.timeoutMessage()}
	}
	return &llm.Error{Provider: providerName, Message: err.Error()}
}

// timeoutMessage reports that every attempt timed out.
func (p *Provider) timeoutMessage() string {
	if p.timeout <= 0 {
		return "no response within the SDK's per-attempt timeout"
	}
	return fmt.Sprintf("no response within the per-attempt timeout of %s", p.timeout)
}

// bodyMessage extracts a message from an error response body: the
// error.message, message or error field of a JSON body, else the text
// itself, else the status text.
func bodyMessage(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return "no response body"
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var flat string
		switch {
		case json.Unmarshal(v.Error, &nested) == nil && nested.Message != "":
			return truncate(nested.Message)
		case json.Unmarshal(v.Error, &flat) == nil && flat != "":
			return truncate(flat)
		case v.Message != "":
			return truncate(v.Message)
		}
	}
	if text := strings.TrimSpace(string(body)); text != "" {
		return truncate(text)
	}
	return http.StatusText(resp.StatusCode)
}

// truncate shortens s to at most maxMessageLen bytes, on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	n := maxMessageLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
