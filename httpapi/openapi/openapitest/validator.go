// Package openapitest validates HTTP traffic against the OpenAPI document, for tests.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// A Validator checks HTTP exchanges (a request and the response it got)
// against an OpenAPI document, normally the one returned by Load. It is a
// test helper: wrap the HTTP client of an API test with Transport and every
// exchange the test makes is checked, so a handler cannot drift from the
// document unnoticed.
//
// The rules, for each exchange:
//
//   - The route is found by method and path only: the scheme, host and port
//     of the request do not matter, so a test server on
//     127.0.0.1:<random port> matches the document's paths.
//   - The response is always validated: its status must be declared by the
//     operation (or by a default response, which the Platform API document
//     never has), its declared headers (such as the required X-Request-Id)
//     must be present and valid, and its body must match the schema of its
//     status and Content-Type.
//   - The request is validated too (parameters, headers, body, and a
//     syntactically present "Authorization: Bearer <key>" for operations that
//     need a key), but a request violation is reported only when the response
//     status is 2xx. Tests send invalid requests on purpose to check that they
//     are rejected; a 4xx answer to them is expected. A 2xx answer to a request
//     that violates the document is a bug: the handler accepted something the
//     contract forbids (or the document is too strict).
//   - A request whose path is not in the document must be answered 404, and
//     one whose path is in the document but not with that method 405 with an
//     Allow header; either way with an X-Request-Id header and an Error body
//     (application/json) whose code is not_found or method_not_allowed.
//     Anything else is an error.
//   - HEAD requests are not checked.
//
// A Validator is safe for concurrent use.
type Validator struct {
	router      routers.Router
	options     *openapi3filter.Options
	errorSchema *openapi3.SchemaRef
	schemaOpts  []openapi3.SchemaValidationOption
}

// NewValidator returns a Validator for doc, which must have been validated
// (as Load does). doc is not modified; it must not be modified afterwards.
func NewValidator(doc *openapi3.T) (*Validator, error) {
	if doc == nil {
		return nil, errors.New("openapi: NewValidator: nil document")
	}
	var errorSchema *openapi3.SchemaRef
	if doc.Components != nil {
		errorSchema = doc.Components.Schemas["Error"]
	}
	if errorSchema == nil || errorSchema.Value == nil {
		return nil, errors.New("openapi: NewValidator: the document has no components.schemas.Error")
	}

	// Route on the path alone: without servers, the router matches any
	// scheme, host and port. The copy shares everything else with doc.
	routing := *doc
	routing.Servers = nil
	router, err := gorillamux.NewRouter(&routing)
	if err != nil {
		return nil, fmt.Errorf("openapi: NewValidator: %w", err)
	}

	// kin-openapi does not check the uuid format unless told how.
	schemaOpts := []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid",
			openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
	}
	options := &openapi3filter.Options{
		IncludeResponseStatus:   true,
		MultiError:              true,
		SkipSettingDefaults:     true,
		AuthenticationFunc:      authenticate,
		SchemaValidationOptions: schemaOpts,
	}
	options.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return &Validator{
		router:      router,
		options:     options,
		errorSchema: errorSchema,
		schemaOpts:  append(schemaOpts, openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage)),
	}, nil
}

// schemaErrorMessage renders a schema violation on one line, without the
// schema dump that kin-openapi appends by default: where, why, and the
// offending value when it is a scalar.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	msg := err.Reason
	if err.Origin != nil {
		msg = err.Origin.Error()
	} else if msg == "" {
		msg = fmt.Sprintf("doesn't match schema %q", err.SchemaField)
	}
	if p := err.JSONPointer(); len(p) > 0 && !strings.Contains(msg, "at '") {
		msg = fmt.Sprintf("at /%s: %s", strings.Join(p, "/"), msg)
	}
	switch val := err.Value.(type) {
	case string, float64, bool, nil:
		if b, jerr := json.Marshal(val); jerr == nil && !strings.Contains(msg, string(b)) && !strings.Contains(msg, fmt.Sprint(val)) {
			msg += fmt.Sprintf(" (got %s)", b)
		}
	}
	return msg
}

// authenticate accepts any syntactically present bearer credential: the
// Validator checks the shape of requests, not whether keys are valid.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme == nil || scheme.Type != "http" || !strings.EqualFold(scheme.Scheme, "bearer") {
		return nil
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	name, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(name, "Bearer") || strings.TrimSpace(token) == "" {
		return in.NewError(errors.New(`no "Authorization: Bearer <key>" header`))
	}
	return nil
}

// Transport returns an http.RoundTripper that sends each request with base
// (http.DefaultTransport when nil), checks the exchange with Check, and
// reports every violation with t.Errorf, naming the method, path and status.
// It reads the request and response bodies in full and restores them, so
// the server and the caller see them unchanged.
func (v *Validator) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{v: v, t: t, base: base}
}

type transport struct {
	v    *Validator
	t    testing.TB
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapi: read request body: %w", err)
		}
		reqBody = b
		req = req.Clone(req.Context()) // a RoundTripper must not modify the request
		setBody(req, reqBody)
	}

	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openapi: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	if err := tr.v.Check(req, reqBody, resp, respBody); err != nil {
		tr.t.Helper()
		tr.t.Errorf("openapi: %s %s → %d violates the API document:\n%v", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
	}
	return resp, nil
}

func setBody(req *http.Request, body []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
}

// Check validates one exchange by the rules of the Validator's doc comment:
// req with its body reqBody, and resp with its body respBody (resp.Body is
// not read). It returns nil when the exchange conforms, otherwise an error
// describing every violation found. Use it where there is no client, e.g.
// with an httptest.ResponseRecorder (resp = recorder.Result()).
func (v *Validator) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	if req.Method == http.MethodHead {
		return nil
	}
	ctx := context.Background()
	r := req.Clone(ctx)
	setBody(r, reqBody)

	route, pathParams, err := v.router.FindRoute(r)
	if err != nil {
		return v.checkUnrouted(err, resp, respBody)
	}

	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      route,
		Options:    v.options,
	}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		errs = append(errs, fmt.Errorf("the request violates the document, yet was answered %d: %w", resp.StatusCode, err))
	}

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                v.options,
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("response: %w", err))
	}
	return errors.Join(errs...)
}

// checkUnrouted checks the answer to a request for which the document has no
// operation: 404 not_found for an unknown path, 405 method_not_allowed (with
// Allow) for a known path with another method.
func (v *Validator) checkUnrouted(routeErr error, resp *http.Response, body []byte) error {
	status, code := http.StatusNotFound, "not_found"
	if errors.Is(routeErr, routers.ErrMethodNotAllowed) {
		status, code = http.StatusMethodNotAllowed, "method_not_allowed"
	} else if !errors.Is(routeErr, routers.ErrPathNotFound) {
		return fmt.Errorf("find route: %w", routeErr)
	}
	if resp.StatusCode != status {
		return fmt.Errorf("no operation in the document (%v): want a %d %s error, got status %d", routeErr, status, code, resp.StatusCode)
	}
	var errs []error
	if resp.Header.Get("X-Request-Id") == "" {
		errs = append(errs, errors.New(`response header "X-Request-Id" is missing`))
	}
	if status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
		errs = append(errs, errors.New(`405 response without an "Allow" header`))
	}
	if err := v.checkErrorBody(resp.Header, body, code); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkErrorBody checks that body is an Error object with the given code.
func (v *Validator) checkErrorBody(h http.Header, body []byte, code string) error {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("error response Content-Type is %q, want application/json", h.Get("Content-Type"))
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("error response body is not JSON: %w", err)
	}
	opts := append([]openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()}, v.schemaOpts...)
	if err := v.errorSchema.Value.VisitJSON(value, opts...); err != nil {
		return fmt.Errorf("error response body doesn't match schema Error: %w", err)
	}
	if got := value.(map[string]any)["error"]; got != code {
		return fmt.Errorf("error response has code %q, want %q", got, code)
	}
	return nil
}
