package httpapi

import (
	"net/http"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
)

type createRunRequest struct {
	OrgID          string            `json:"org_id"`
	AgentVersionID string            `json:"agent_version_id"`
	Input          string            `json:"input"`
	Metadata       map[string]string `json:"metadata"`
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	var req createRunRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	idem, hasIdem := r.Header["Idempotency-Key"]
	in := platform.CreateRunInput{OrgID: req.OrgID, AgentVersionID: req.AgentVersionID, Input: req.Input, Metadata: req.Metadata}
	if hasIdem {
		if in.IdempotencyKey = idem[0]; in.IdempotencyKey == "" {
			return umami.Errorf(umami.EInvalid, "Idempotency-Key must not be empty")
		}
	}
	run, replayed, err := s.platform.CreateRun(r.Context(), pr, in)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/agent-runs/"+run.ID)
	writeJSON(w, http.StatusCreated, runView(run))
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	run, err := s.platform.GetRun(r.Context(), pr, r.PathValue("run_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runView(run))
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	if err := checkQuery(r, "org_id", "status", "agent_version_id", "limit", "after"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.platform.ListRuns(r.Context(), pr, platform.ListRunsInput{OrgID: q.Get("org_id"), Status: q.Get("status"),
		AgentVersionID: q.Get("agent_version_id"), Limit: limit, After: q.Get("after")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listView(l, runView))
	return nil
}

func (s *Server) listRunSteps(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	steps, err := s.platform.ListRunSteps(r.Context(), pr, r.PathValue("run_id"))
	if err != nil {
		return err
	}
	out := struct {
		Data []stepJSON `json:"data"`
	}{Data: make([]stepJSON, len(steps))}
	for i, st := range steps {
		out.Data[i] = stepView(st)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	if err := requireNoBody(r); err != nil {
		return err
	}
	run, err := s.platform.CancelRun(r.Context(), pr, r.PathValue("run_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runView(run))
	return nil
}
