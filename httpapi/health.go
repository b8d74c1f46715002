package httpapi

import "net/http"

type statusJSON struct {
	Status string `json:"status"`
}

// healthz answers while the process is alive.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusJSON{"ok"})
}

// readyz answers 200 when the node can serve: its store answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, statusJSON{"unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, statusJSON{"ok"})
}
