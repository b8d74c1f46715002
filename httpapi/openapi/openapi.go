// Package openapi holds the OpenAPI 3.1 description of the UmamiAI Platform
// API, openapi.json, which is the source of truth for the HTTP contract: the
// handlers implement it, GET /openapi.json serves it, and the HTTP tests check
// every exchange against it with a Validator.
//
// Lint the document with the pinned Redocly CLI from the module root:
//
//	REDOCLY_TELEMETRY=off npx --yes @redocly/cli@2.77.0 lint httpapi/openapi/openapi.json
package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Document is the OpenAPI 3.1 document of the Platform API, as JSON, exactly
// as written in openapi.json. Serve it as is (Content-Type application/json);
// do not modify the slice.
//
//go:embed openapi.json
var Document []byte

// Load parses Document and validates it as an OpenAPI document, including
// its examples against their schemas. Each call returns a new *openapi3.T,
// which the caller may modify.
func Load() (*openapi3.T, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(Document)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse openapi.json: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: invalid openapi.json: %w", err)
	}
	return doc, nil
}
