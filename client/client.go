// Package client is a small Go client of the UmamiAI Platform API v1.
//
// Create a Client with New and call its methods; every method takes a
// context and returns the decoded object or an error. Responses with a non-2xx
// status become an *APIError carrying the API's stable error code:
//
//	c := client.New("http://127.0.0.1:8080", "umami_...")
//	run, err := c.CreateRun(ctx, client.CreateRun{OrgID: org, AgentVersionID: v, Input: "hi"},
//		client.IdempotencyKey("order-42"))
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == umami.EIdempotency { ... }
//	run, err = c.WaitRun(ctx, run.RunID, 200*time.Millisecond)
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/umamiai/umami"
)

// maxResponseBytes bounds how much of a response body the client reads.
const maxResponseBytes = 32 << 20

// DefaultWaitInterval is the polling interval WaitRun uses when given a
// non-positive one.
const DefaultWaitInterval = 500 * time.Millisecond

// Client calls the Platform API. It is safe for concurrent use.
type Client struct {
	baseURL    string
	apiKey     string
	httpClient *http.Client
	userAgent  string
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of
// http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// New returns a Client of the API served at baseURL (the server root, e.g.
// "http://127.0.0.1:8080"; a trailing slash is ignored) that authenticates
// with apiKey as a Bearer token.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		apiKey:     apiKey,
		httpClient: http.DefaultClient,
		userAgent:  "umami-go-client/" + umami.Version,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CallOption configures a single call, such as CreateRun's idempotency key.
type CallOption func(*callOptions)

type callOptions struct {
	idempotencyKey string
	header         *http.Header
}

// IdempotencyKey sends key as the Idempotency-Key header, so that retrying
// the call with the same key and body returns the run the first call created
// instead of creating another.
func IdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.idempotencyKey = key }
}

// CaptureHeader stores the response's headers in *h when the call receives a
// response (also an error response), e.g. to read X-Request-Id or
// Idempotent-Replayed.
func CaptureHeader(h *http.Header) CallOption {
	return func(o *callOptions) { o.header = h }
}

// APIError is a non-2xx response of the API.
type APIError struct {
	// StatusCode is the HTTP status, e.g. 404.
	StatusCode int
	// Code is the stable error code, e.g. "not_found" (see the E* constants
	// of package umami). When the body is not the API's error shape (e.g. a
	// proxy's error page) it is derived from the status where that is
	// unambiguous (400, 404, 405, 413, 415, 5xx) and is "http_<status>"
	// otherwise.
	Code string
	// Message is the human-readable explanation.
	Message string
	// RequestID identifies the request in the server's logs.
	RequestID string
}

// Error implements the error interface.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "umami api: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request_id %s)", e.RequestID)
	}
	return b.String()
}

// Agent is a named assistant of an org.
type Agent struct {
	AgentID     string    `json:"agent_id"`
	OrgID       string    `json:"org_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// AgentVersion is one configuration of an agent. Runs may only use published
// versions.
type AgentVersion struct {
	AgentVersionID  string            `json:"agent_version_id"`
	AgentID         string            `json:"agent_id"`
	OrgID           string            `json:"org_id"`
	Version         int               `json:"version"`
	Status          string            `json:"status"` // "draft" or "published"
	Model           string            `json:"model"`
	Instructions    string            `json:"instructions"`
	Temperature     *float64          `json:"temperature"`
	MaxOutputTokens *int              `json:"max_output_tokens"`
	Tools           []string          `json:"tools"`
	Metadata        map[string]string `json:"metadata"`
	CreatedAt       time.Time         `json:"created_at"`
	PublishedAt     *time.Time        `json:"published_at"`
}

// Run is one execution of a published agent version on one input.
type Run struct {
	RunID          string            `json:"run_id"`
	OrgID          string            `json:"org_id"`
	AgentID        string            `json:"agent_id"`
	AgentVersionID string            `json:"agent_version_id"`
	Status         string            `json:"status"` // queued, running, succeeded, failed or canceled
	Input          string            `json:"input"`
	Output         *string           `json:"output"`
	Error          *RunError         `json:"error"`
	Usage          Usage             `json:"usage"`
	Metadata       map[string]string `json:"metadata"`
	CreatedAt      time.Time         `json:"created_at"`
	StartedAt      *time.Time        `json:"started_at"`
	CompletedAt    *time.Time        `json:"completed_at"`
}

// Terminal reports whether the run's status is final: succeeded, failed or
// canceled.
func (r *Run) Terminal() bool { return umami.Terminal(r.Status) }

// RunError says why a run or a step failed.
type RunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Usage counts model tokens.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// RunStep is one model call or tool call of a run.
type RunStep struct {
	Index       int       `json:"index"`
	Type        string    `json:"type"` // "model_call" or "tool_call"
	Name        string    `json:"name"` // the model or the tool
	Input       string    `json:"input"`
	Output      string    `json:"output"`
	Error       *RunError `json:"error"`
	Usage       *Usage    `json:"usage"`
	StartedAt   time.Time `json:"started_at"`
	CompletedAt time.Time `json:"completed_at"`
}

// AgentList is one page of agents, newest first.
type AgentList struct {
	Data    []Agent `json:"data"`
	HasMore bool    `json:"has_more"`
	// NextCursor, when not nil, is the After of the next page.
	NextCursor *string `json:"next_cursor"`
}

// AgentVersionList is one page of an agent's versions, newest first.
type AgentVersionList struct {
	Data    []AgentVersion `json:"data"`
	HasMore bool           `json:"has_more"`
	// NextCursor, when not nil, is the After of the next page.
	NextCursor *string `json:"next_cursor"`
}

// RunList is one page of runs, newest first.
type RunList struct {
	Data    []Run `json:"data"`
	HasMore bool  `json:"has_more"`
	// NextCursor, when not nil, is the After of the next page.
	NextCursor *string `json:"next_cursor"`
}

// CreateAgent is the body of CreateAgent.
type CreateAgent struct {
	OrgID       string `json:"org_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// CreateAgentVersion is the body of CreateAgentVersion. Zero-valued optional
// fields are left out, so the server applies its defaults.
type CreateAgentVersion struct {
	Model           string            `json:"model"`
	Instructions    string            `json:"instructions,omitempty"`
	Temperature     *float64          `json:"temperature,omitempty"`
	MaxOutputTokens *int              `json:"max_output_tokens,omitempty"`
	Tools           []string          `json:"tools,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// CreateRun is the body of CreateRun.
type CreateRun struct {
	OrgID          string            `json:"org_id"`
	AgentVersionID string            `json:"agent_version_id"`
	Input          string            `json:"input"`
	Metadata       map[string]string `json:"metadata,omitempty"`
}

// ListAgentsParams filters ListAgents. Zero-valued fields are not sent.
type ListAgentsParams struct {
	OrgID string // defaults to the API key's org
	Limit int    // 1..100, default 20
	After string // a previous page's NextCursor
}

// ListAgentVersionsParams pages ListAgentVersions. Zero-valued fields are not
// sent.
type ListAgentVersionsParams struct {
	Limit int    // 1..100, default 20
	After string // a previous page's NextCursor
}

// ListRunsParams filters ListRuns. Zero-valued fields are not sent.
type ListRunsParams struct {
	OrgID          string // defaults to the API key's org
	Status         string // queued, running, succeeded, failed or canceled
	AgentVersionID string
	Limit          int    // 1..100, default 20
	After          string // a previous page's NextCursor
}

// CreateAgent creates an agent (POST /api/v1/agents).
func (c *Client) CreateAgent(ctx context.Context, req CreateAgent) (*Agent, error) {
	var a Agent
	if err := c.do(ctx, http.MethodPost, "/api/v1/agents", nil, req, &a, nil); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAgents returns one page of agents (GET /api/v1/agents).
func (c *Client) ListAgents(ctx context.Context, p ListAgentsParams) (*AgentList, error) {
	q := url.Values{}
	setQuery(q, "org_id", p.OrgID)
	setLimit(q, p.Limit)
	setQuery(q, "after", p.After)
	var l AgentList
	if err := c.do(ctx, http.MethodGet, "/api/v1/agents", q, nil, &l, nil); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetAgent returns an agent (GET /api/v1/agents/{agent_id}).
func (c *Client) GetAgent(ctx context.Context, agentID string) (*Agent, error) {
	var a Agent
	if err := c.do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(agentID), nil, nil, &a, nil); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateAgentVersion creates a draft version of an agent
// (POST /api/v1/agents/{agent_id}/versions).
func (c *Client) CreateAgentVersion(ctx context.Context, agentID string, req CreateAgentVersion) (*AgentVersion, error) {
	var v AgentVersion
	if err := c.do(ctx, http.MethodPost, "/api/v1/agents/"+url.PathEscape(agentID)+"/versions", nil, req, &v, nil); err != nil {
		return nil, err
	}
	return &v, nil
}

// ListAgentVersions returns one page of an agent's versions
// (GET /api/v1/agents/{agent_id}/versions).
func (c *Client) ListAgentVersions(ctx context.Context, agentID string, p ListAgentVersionsParams) (*AgentVersionList, error) {
	q := url.Values{}
	setLimit(q, p.Limit)
	setQuery(q, "after", p.After)
	var l AgentVersionList
	if err := c.do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(agentID)+"/versions", q, nil, &l, nil); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetAgentVersion returns an agent version
// (GET /api/v1/agent-versions/{agent_version_id}).
func (c *Client) GetAgentVersion(ctx context.Context, agentVersionID string) (*AgentVersion, error) {
	var v AgentVersion
	if err := c.do(ctx, http.MethodGet, "/api/v1/agent-versions/"+url.PathEscape(agentVersionID), nil, nil, &v, nil); err != nil {
		return nil, err
	}
	return &v, nil
}

// PublishAgentVersion publishes a draft version, making it usable by runs
// (POST /api/v1/agent-versions/{agent_version_id}/publish). Publishing a
// published version returns it unchanged.
func (c *Client) PublishAgentVersion(ctx context.Context, agentVersionID string) (*AgentVersion, error) {
	var v AgentVersion
	if err := c.do(ctx, http.MethodPost, "/api/v1/agent-versions/"+url.PathEscape(agentVersionID)+"/publish", nil, nil, &v, nil); err != nil {
		return nil, err
	}
	return &v, nil
}

// CreateRun queues a run of a published agent version
// (POST /api/v1/agent-runs). Pass IdempotencyKey to make retries safe.
func (c *Client) CreateRun(ctx context.Context, req CreateRun, opts ...CallOption) (*Run, error) {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	var r Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/agent-runs", nil, req, &r, &o); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetRun returns a run (GET /api/v1/agent-runs/{run_id}).
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	var r Run
	if err := c.do(ctx, http.MethodGet, "/api/v1/agent-runs/"+url.PathEscape(runID), nil, nil, &r, nil); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRuns returns one page of runs (GET /api/v1/agent-runs).
func (c *Client) ListRuns(ctx context.Context, p ListRunsParams) (*RunList, error) {
	q := url.Values{}
	setQuery(q, "org_id", p.OrgID)
	setQuery(q, "status", p.Status)
	setQuery(q, "agent_version_id", p.AgentVersionID)
	setLimit(q, p.Limit)
	setQuery(q, "after", p.After)
	var l RunList
	if err := c.do(ctx, http.MethodGet, "/api/v1/agent-runs", q, nil, &l, nil); err != nil {
		return nil, err
	}
	return &l, nil
}

// CancelRun cancels a queued or running run
// (POST /api/v1/agent-runs/{run_id}/cancel). Canceling a canceled run returns
// it unchanged; a succeeded or failed run gives an *APIError with code
// "run_not_cancelable".
func (c *Client) CancelRun(ctx context.Context, runID string) (*Run, error) {
	var r Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/agent-runs/"+url.PathEscape(runID)+"/cancel", nil, nil, &r, nil); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRunSteps returns the steps of a run in order
// (GET /api/v1/agent-runs/{run_id}/steps).
func (c *Client) ListRunSteps(ctx context.Context, runID string) ([]RunStep, error) {
	var l struct {
		Data []RunStep `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/agent-runs/"+url.PathEscape(runID)+"/steps", nil, nil, &l, nil); err != nil {
		return nil, err
	}
	return l.Data, nil
}

// WaitRun polls GetRun every interval (DefaultWaitInterval if interval ≤ 0)
// until the run reaches a terminal status (succeeded, failed or canceled) and
// returns it. It returns the first error of GetRun, or, when ctx is done
// first, an error wrapping ctx.Err().
func (c *Client) WaitRun(ctx context.Context, runID string, interval time.Duration) (*Run, error) {
	if interval <= 0 {
		interval = DefaultWaitInterval
	}
	timer := time.NewTimer(interval)
	timer.Stop() // started by the first Reset; since Go 1.23 no drain is needed
	defer timer.Stop()
	for {
		r, err := c.GetRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		if r.Terminal() {
			return r, nil
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("umami: waiting for run %s (last status %q): %w", runID, r.Status, ctx.Err())
		case <-timer.C:
		}
	}
}

func setQuery(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

func setLimit(q url.Values, limit int) {
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

// do sends one request: body (if not nil) is encoded as JSON, a 2xx response
// is decoded into out (if not nil), any other becomes an *APIError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any, o *callOptions) error {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("umami: encoding %s %s request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("umami: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o != nil && o.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", o.idempotencyKey)
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("umami: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if o != nil && o.header != nil {
		*o.header = resp.Header
	}
	if err != nil {
		return fmt.Errorf("umami: reading %s %s response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("umami: decoding %s %s response (status %d): %w", method, path, resp.StatusCode, err)
	}
	return nil
}

// parseAPIError builds the *APIError of a non-2xx response. A body in the
// API's error shape gives the code and message; otherwise the code is
// derived from the status and the message is the (truncated) body text, or
// the status text when the body is empty.
func parseAPIError(resp *http.Response, data []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode}
	var body struct {
		Error     string `json:"error"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(data, &body); err == nil && body.Error != "" {
		e.Code, e.Message, e.RequestID = body.Error, body.Message, body.RequestID
	} else {
		e.Code = codeForStatus(resp.StatusCode)
		msg := strings.TrimSpace(string(data))
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		e.Message = msg
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	return e
}

// codeForStatus guesses the error code of a response that is not in the
// API's error shape (e.g. from a proxy in front of the server).
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return umami.EInvalid
	case http.StatusNotFound:
		return umami.ENotFound
	case http.StatusMethodNotAllowed:
		return umami.EMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return umami.EPayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return umami.EUnsupportedMedia
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return umami.EUnavailable
	}
	if status >= 500 {
		return umami.EInternal
	}
	return "http_" + strconv.Itoa(status)
}

// IsCode reports whether err is, or wraps, an *APIError with the given code.
func IsCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}
