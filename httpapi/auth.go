package httpapi

import (
	"net/http"
	"strings"

	"github.com/umamiai/umami"
)

// handlerFunc is an API handler that runs as an authenticated principal and
// returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request, pr *umami.Principal) error

// authed authenticates the Bearer key, checks that it carries scope, then
// calls h; any error is written in the one error shape.
func (s *Server) authed(scope umami.Scope, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, err := s.authenticate(r)
		if err == nil {
			err = pr.Require(scope)
		}
		if err == nil {
			err = h(w, r, pr)
		}
		if err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (*umami.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, umami.Errorf(umami.EMissingAPIKey, "send the API key as: Authorization: Bearer umami_...")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return nil, umami.Errorf(umami.EMissingAPIKey, "the Authorization header must be: Bearer umami_...")
	}
	return s.platform.Authenticate(r.Context(), strings.TrimSpace(secret))
}
