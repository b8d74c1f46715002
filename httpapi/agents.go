package httpapi

import (
	"net/http"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
)

type createAgentRequest struct {
	OrgID       string `json:"org_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	var req createAgentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.platform.CreateAgent(r.Context(), pr, platform.CreateAgentInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, agentView(a))
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	if err := checkQuery(r, "org_id", "limit", "after"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.platform.ListAgents(r.Context(), pr, q.Get("org_id"), limit, q.Get("after"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listView(l, agentView))
	return nil
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	a, err := s.platform.GetAgent(r.Context(), pr, r.PathValue("agent_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, agentView(a))
	return nil
}

type createVersionRequest struct {
	Model           string            `json:"model"`
	Instructions    string            `json:"instructions"`
	Temperature     *float64          `json:"temperature"`
	MaxOutputTokens *int              `json:"max_output_tokens"`
	Tools           []string          `json:"tools"`
	Metadata        map[string]string `json:"metadata"`
}

func (s *Server) createVersion(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	var req createVersionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := s.platform.CreateVersion(r.Context(), pr, r.PathValue("agent_id"), platform.CreateVersionInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, versionView(v))
	return nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	if err := checkQuery(r, "limit", "after"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	l, err := s.platform.ListVersions(r.Context(), pr, r.PathValue("agent_id"), limit, r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listView(l, versionView))
	return nil
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	v, err := s.platform.GetVersion(r.Context(), pr, r.PathValue("agent_version_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, versionView(v))
	return nil
}

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error {
	if err := requireNoBody(r); err != nil {
		return err
	}
	v, err := s.platform.PublishVersion(r.Context(), pr, r.PathValue("agent_version_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, versionView(v))
	return nil
}
