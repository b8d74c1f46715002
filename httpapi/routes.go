package httpapi

import (
	"net/http"

	"github.com/umamiai/umami"

	"github.com/umamiai/umami/httpapi/openapi"
)

// routes lists every route in one place, with the scope its key needs:
// checked before the request is decoded, so a key without it gets 403
// whatever it sends (the platform checks again). With api false (a worker node) only
// the health checks, the metrics and the OpenAPI document are served.
func (s *Server) routes(api bool) {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	s.mux.Handle("GET /metrics", s.metrics)
	if !api {
		return
	}
	s.mux.Handle("POST /api/v1/agents", s.authed(umami.ScopeAgentsWrite, s.createAgent))
	s.mux.Handle("GET /api/v1/agents", s.authed(umami.ScopeAgentsRead, s.listAgents))
	s.mux.Handle("GET /api/v1/agents/{agent_id}", s.authed(umami.ScopeAgentsRead, s.getAgent))
	s.mux.Handle("POST /api/v1/agents/{agent_id}/versions", s.authed(umami.ScopeAgentsWrite, s.createVersion))
	s.mux.Handle("GET /api/v1/agents/{agent_id}/versions", s.authed(umami.ScopeAgentsRead, s.listVersions))
	s.mux.Handle("GET /api/v1/agent-versions/{agent_version_id}", s.authed(umami.ScopeAgentsRead, s.getVersion))
	s.mux.Handle("POST /api/v1/agent-versions/{agent_version_id}/publish", s.authed(umami.ScopeAgentsWrite, s.publishVersion))
	s.mux.Handle("POST /api/v1/agent-runs", s.authed(umami.ScopeRunsCreate, s.createRun))
	s.mux.Handle("GET /api/v1/agent-runs", s.authed(umami.ScopeRunsRead, s.listRuns))
	s.mux.Handle("GET /api/v1/agent-runs/{run_id}", s.authed(umami.ScopeRunsRead, s.getRun))
	s.mux.Handle("GET /api/v1/agent-runs/{run_id}/steps", s.authed(umami.ScopeRunsRead, s.listRunSteps))
	s.mux.Handle("POST /api/v1/agent-runs/{run_id}/cancel", s.authed(umami.ScopeRunsCreate, s.cancelRun))
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapi.Document)
}
