package anthropic

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/umamiai/umami/llm"
)

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
			msg = llm.BodyMessage(apiErr.Response)
		}
		return &llm.Error{Provider: providerName, StatusCode: apiErr.StatusCode, Message: msg}
	}
	if resp != nil && resp.StatusCode >= http.StatusBadRequest {
		// The SDK could not decode the body as an error.
		return &llm.Error{Provider: providerName, StatusCode: resp.StatusCode, Message: llm.BodyMessage(resp)}
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
