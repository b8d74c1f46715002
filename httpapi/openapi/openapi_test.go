package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// contract lists every operation of the Platform API contract, with the
// scope it needs ("" for no API key). The document must have exactly these.
var contract = []struct {
	method, path, scope string
	hasBody             bool // takes a JSON request body
}{
	{"GET", "/healthz", "", false},
	{"GET", "/readyz", "", false},
	{"GET", "/metrics", "", false},
	{"GET", "/openapi.json", "", false},
	{"POST", "/api/v1/agents", "agents:write", true},
	{"GET", "/api/v1/agents", "agents:read", false},
	{"GET", "/api/v1/agents/{agent_id}", "agents:read", false},
	{"POST", "/api/v1/agents/{agent_id}/versions", "agents:write", true},
	{"GET", "/api/v1/agents/{agent_id}/versions", "agents:read", false},
	{"GET", "/api/v1/agent-versions/{agent_version_id}", "agents:read", false},
	{"POST", "/api/v1/agent-versions/{agent_version_id}/publish", "agents:write", false},
	{"POST", "/api/v1/agent-runs", "runs:create", true},
	{"GET", "/api/v1/agent-runs", "runs:read", false},
	{"GET", "/api/v1/agent-runs/{run_id}", "runs:read", false},
	{"GET", "/api/v1/agent-runs/{run_id}/steps", "runs:read", false},
	{"POST", "/api/v1/agent-runs/{run_id}/cancel", "runs:create", false},
}

func TestLoad(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Title != "UmamiAI Platform API" || doc.Info.Version != "1.0.0" {
		t.Errorf("info = %+v", doc.Info)
	}
	if !json.Valid(Document) {
		t.Error("Document is not valid JSON")
	}
}

func TestContractOperations(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range contract {
		want[c.method+" "+c.path] = true
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			item := doc.Paths.Value(c.path)
			if item == nil {
				t.Fatalf("path %s is not in the document", c.path)
			}
			op := item.GetOperation(c.method)
			if op == nil {
				t.Fatalf("operation %s %s is not in the document", c.method, c.path)
			}
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("operationId, summary and description are required: %q, %q, %q", op.OperationID, op.Summary, op.Description)
			}
			checkSecurity(t, doc, op, c.scope)

			if got := op.RequestBody != nil; got != c.hasBody {
				t.Errorf("has a request body: %v, want %v", got, c.hasBody)
			}
			statuses := []string{"200"}
			if c.method == "POST" && c.hasBody {
				statuses = []string{"201", "413", "415"}
			}
			if c.scope != "" {
				statuses = append(statuses, "400", "401", "403", "500", "503")
			}
			for _, s := range statuses {
				if op.Responses.Value(s) == nil {
					t.Errorf("response %s is not declared", s)
				}
			}
			for status, resp := range op.Responses.Map() {
				if resp.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("response %s does not declare X-Request-Id", status)
				}
			}
		})
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !want[method+" "+path] {
				t.Errorf("the document has %s %s, which is not in the contract table", method, path)
			}
		}
	}
}

func checkSecurity(t *testing.T, doc *openapi3.T, op *openapi3.Operation, scope string) {
	t.Helper()
	sec := op.Security
	if sec == nil {
		sec = &doc.Security
	}
	if scope == "" {
		if len(*sec) != 0 {
			t.Errorf("security = %v, want none", *sec)
		}
		return
	}
	if len(*sec) != 1 || !slices.Equal((*sec)[0]["bearer"], []string{scope}) {
		t.Errorf("security = %v, want bearer with scope %s", *sec, scope)
	}
}

// TestExamplesAreValidated makes sure Load checks the document's examples
// against their schemas, so that the examples cannot drift either.
func TestExamplesAreValidated(t *testing.T) {
	bad := bytes.Replace(Document, []byte(`"status": "queued",`), []byte(`"status": "pending",`), 1)
	if bytes.Equal(bad, Document) {
		t.Fatal("no queued run example to corrupt")
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(bad)
	if err != nil {
		t.Fatal(err)
	}
	err = doc.Validate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("Validate of a document with an invalid example = %v, want an error about it", err)
	}
}

func TestDocumentServers(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "http://127.0.0.1:8080" {
		t.Errorf("servers = %v", doc.Servers)
	}
	s := doc.Components.SecuritySchemes["bearer"]
	if s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearer = %+v", s)
	}
	if _, ok := doc.Paths.Value("/api/v1/agent-runs").Post.Responses.Status(http.StatusCreated).Value.Headers["Idempotent-Replayed"]; !ok {
		t.Error("create-run 201 does not declare Idempotent-Replayed")
	}
}
