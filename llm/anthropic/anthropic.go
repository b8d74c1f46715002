// Package anthropic is the llm.Provider for the Anthropic Messages API, built
// on github.com/anthropics/anthropic-sdk-go/v2.
//
// Only the Config decides where requests go and with which key: the SDK's
// environment defaults (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN,
// ANTHROPIC_BASE_URL, profiles) are switched off.
//
// System messages become the system parameter, tool calls tool_use blocks
// and tool messages tool_result blocks in user turns. max_tokens, which
// Anthropic requires, is MaxOutputTokens or DefaultMaxTokens. Temperature is
// only sent when set; SDK v2 has no field for it, so it is added to the body
// as an extra field.
package anthropic

import (
	"context"
	"net/http"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/umamiai/umami/llm"
)

// Defaults of Config and of requests.
const (
	// DefaultBaseURL is the Anthropic API root.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultMaxRetries is how often a failed request is retried.
	DefaultMaxRetries = 3
	// DefaultTimeout bounds each attempt.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxTokens is the max_tokens sent when a request has no
	// MaxOutputTokens: Anthropic requires the field.
	DefaultMaxTokens = 1024
)

// providerName is the Provider field of the errors this package returns.
const providerName = "anthropic"

// Config configures a Provider.
type Config struct {
	// APIKey authenticates the requests. Empty sends no credential, which
	// suits a proxy that adds its own; ANTHROPIC_API_KEY is not read.
	APIKey string
	// BaseURL is the API root, without /v1. Empty means DefaultBaseURL;
	// ANTHROPIC_BASE_URL is not read.
	BaseURL string
	// MaxRetries is how often a request that failed with a connection
	// error, a timeout, 408, 409, 429 or 5xx is retried, with exponential
	// backoff (or the server's Retry-After). 0 means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int
	// Timeout bounds each attempt. 0 means DefaultTimeout; a negative value
	// leaves the SDK's own per-attempt timeout (10 minutes).
	Timeout time.Duration
	// HTTPClient, when set, sends the requests instead of the SDK's
	// default client.
	HTTPClient *http.Client
}

// Provider answers llm requests with the Messages API. It is safe for
// concurrent use.
type Provider struct {
	client  sdk.Client
	timeout time.Duration
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for cfg.
func New(cfg Config) *Provider {
	cfg = cfg.withDefaults()
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(cfg.BaseURL),
		option.WithMaxRetries(max(cfg.MaxRetries, 0)),
	}
	if cfg.APIKey != "" {
		// The Messages API documents the x-api-key header; this SDK's
		// WithAPIKey sends a Bearer token instead.
		opts = append(opts, option.WithHeader("x-api-key", cfg.APIKey))
	}
	if cfg.Timeout > 0 {
		opts = append(opts, option.WithRequestTimeout(cfg.Timeout))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &Provider{client: sdk.NewClient(opts...), timeout: cfg.Timeout}
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

// Chat sends req to POST /v1/messages. Failures after the retries are
// *llm.Error; a done ctx yields an error wrapping ctx.Err().
func (p *Provider) Chat(ctx context.Context, req llm.Request) (*llm.Response, error) {
	params, err := newParams(req)
	if err != nil {
		return nil, err
	}
	var httpResp *http.Response
	msg, err := p.client.Messages.New(ctx, params, option.WithResponseInto(&httpResp))
	if err != nil {
		return nil, p.chatError(ctx, err, httpResp)
	}
	return fromMessage(msg), nil
}
