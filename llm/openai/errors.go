package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	sdk "github.com/openai/openai-go/v3"

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
		// The body had no OpenAI error object, so the SDK could not decode it.
		return &llm.Error{Provider: providerName, StatusCode: resp.StatusCode, Message: llm.BodyMessage(resp)}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &llm.Error{Provider: providerName, Message: fmt.Sprintf("no response within the timeout of %s", p.timeout)}
	}
	return &llm.Error{Provider: providerName, Message: err.Error()}
}
