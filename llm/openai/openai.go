// Package openai is the llm.Provider for the OpenAI Chat Completions API and
// every server that speaks it (Ollama, vLLM, LiteLLM, ...), built on
// github.com/openai/openai-go/v3.
//
// Only the Config decides where requests go and with which key: the SDK's
// own environment defaults (OPENAI_API_KEY, OPENAI_BASE_URL) are always
// overridden.
//
// Request.MaxOutputTokens is sent as max_completion_tokens, which OpenAI
// requires for its reasoning models in place of the deprecated max_tokens;
// Temperature and max_completion_tokens are only sent when set. A server
// that knows only max_tokens ignores the limit.
package openai

import (
	"context"
	"net/http"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/umamiai/umami/llm"
)

// Defaults of Config.
const (
	// DefaultBaseURL is the OpenAI API root.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultMaxRetries is how often a failed request is retried.
	DefaultMaxRetries = 3
	// DefaultTimeout bounds each attempt.
	DefaultTimeout = 60 * time.Second
)

// providerName is the Provider field of the errors this package returns.
const providerName = "openai"

// Config configures a Provider.
type Config struct {
	// APIKey is sent as a bearer token. Empty sends no Authorization header,
	// which suits local servers such as Ollama; OPENAI_API_KEY is not read.
	APIKey string
	// BaseURL is the API root, up to and including /v1. Empty means
	// DefaultBaseURL; OPENAI_BASE_URL is not read.
	BaseURL string
	// MaxRetries is how often a request that failed with a connection
	// error, 408, 409, 429 or 5xx is retried, with exponential backoff (or
	// the server's Retry-After). 0 means DefaultMaxRetries; a negative
	// value disables retries.
	MaxRetries int
	// Timeout bounds each attempt. 0 means DefaultTimeout; a negative
	// value means no timeout besides the caller's context. The SDK does
	// not retry an attempt that timed out.
	Timeout time.Duration
	// HTTPClient, when set, sends the requests instead of the SDK's
	// default client.
	HTTPClient *http.Client
}

// Provider answers llm requests with the Chat Completions API. It is safe
// for concurrent use.
type Provider struct {
	client  sdk.Client
	timeout time.Duration
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for cfg.
func New(cfg Config) *Provider {
	cfg = cfg.withDefaults()
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(max(cfg.MaxRetries, 0)),
		option.WithRequestTimeout(max(cfg.Timeout, 0)),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &Provider{client: sdk.NewClient(opts...), timeout: max(cfg.Timeout, 0)}
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Chat sends req to POST /chat/completions and returns the first choice.
// Failures after the retries are *llm.Error; a done ctx yields an error
// wrapping ctx.Err().
func (p *Provider) Chat(ctx context.Context, req llm.Request) (*llm.Response, error) {
	params, err := newParams(req)
	if err != nil {
		return nil, err
	}
	var httpResp *http.Response
	completion, err := p.client.Chat.Completions.New(ctx, params, option.WithResponseInto(&httpResp))
	if err != nil {
		return nil, p.chatError(ctx, err, httpResp)
	}
	return fromCompletion(completion)
}
