package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/umamiai/umami"
)

// statusOf maps each error code to its HTTP status. Codes not listed are 500.
var statusOf = map[string]int{
	umami.EInvalid:           http.StatusBadRequest,
	umami.EMissingAPIKey:     http.StatusUnauthorized,
	umami.EInvalidAPIKey:     http.StatusUnauthorized,
	umami.EInsufficientScope: http.StatusForbidden,
	umami.EOrgMismatch:       http.StatusForbidden,
	umami.ENotFound:          http.StatusNotFound,
	umami.EMethodNotAllowed:  http.StatusMethodNotAllowed,
	umami.EIdempotency:       http.StatusConflict,
	umami.ERunNotCancelable:  http.StatusConflict,
	umami.EConflict:          http.StatusConflict,
	umami.EPayloadTooLarge:   http.StatusRequestEntityTooLarge,
	umami.EUnsupportedMedia:  http.StatusUnsupportedMediaType,
	umami.EUnavailable:       http.StatusServiceUnavailable,
}

type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// writeError is the one place where errors become HTTP responses. Internal
// errors are logged with the request id and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := umami.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
		log.Error("internal error", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == umami.EUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: code, Message: umami.ErrorMessage(err), RequestID: requestID(r)})
}

var errInternalPanic = errors.New("handler panicked")

func errMethodNotAllowed(method, path string) error {
	return umami.Errorf(umami.EMethodNotAllowed, "method %s is not allowed on %s", method, path)
}

func errNoRoute(path string) error {
	return umami.Errorf(umami.ENotFound, "no such endpoint: %s", path)
}
