package httpapi

import (
	"net/http"

	"github.com/umamiai/umami"

	"github.com/umamiai/umami/httpapi/openapi"
)

// routes lists every route in one place, with the scope its key needs:
// checked before the request is decoded, so a key without it gets 403
// whatever it sends (the platform checks again). With api false (a worker
// node) only the health checks and the metrics are served.
func (s *Server) routes(api bool) {
	s.mux.HandleFunc("/", s.unrouted) // least specific: only what nothing else matches
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", s.metrics)
	if !api {
		return
	}
	s.handle("GET /openapi.json", http.HandlerFunc(serveOpenAPI))
	s.handle("POST /api/v1/agents", s.authed(umami.ScopeAgentsWrite, s.createAgent))
	s.handle("GET /api/v1/agents", s.authed(umami.ScopeAgentsRead, s.listAgents))
	s.handle("GET /api/v1/agents/{agent_id}", s.authed(umami.ScopeAgentsRead, s.getAgent))
	s.handle("POST /api/v1/agents/{agent_id}/versions", s.authed(umami.ScopeAgentsWrite, s.createVersion))
	s.handle("GET /api/v1/agents/{agent_id}/versions", s.authed(umami.ScopeAgentsRead, s.listVersions))
	s.handle("GET /api/v1/agent-versions/{agent_version_id}", s.authed(umami.ScopeAgentsRead, s.getVersion))
	s.handle("POST /api/v1/agent-versions/{agent_version_id}/publish", s.authed(umami.ScopeAgentsWrite, s.publishVersion))
	s.handle("POST /api/v1/agent-runs", s.authed(umami.ScopeRunsCreate, s.createRun))
	s.handle("GET /api/v1/agent-runs", s.authed(umami.ScopeRunsRead, s.listRuns))
	s.handle("GET /api/v1/agent-runs/{run_id}", s.authed(umami.ScopeRunsRead, s.getRun))
	s.handle("GET /api/v1/agent-runs/{run_id}/steps", s.authed(umami.ScopeRunsRead, s.listRunSteps))
	s.handle("POST /api/v1/agent-runs/{run_id}/cancel", s.authed(umami.ScopeRunsCreate, s.cancelRun))
}

// handle registers a route on the mux and on the catch-all's route table.
func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.known.Handle(pattern, h)
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapi.Document)
}
