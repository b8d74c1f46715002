// Package httpapi serves the Platform API under /api/v1, the health checks
// and the OpenAPI document. Handlers decode, call the platform, and encode;
// errors become HTTP statuses in exactly one place (writeError).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/umamiai/umami/metrics"
	"github.com/umamiai/umami/platform"
)

// MaxBodyBytes is the largest request body accepted (413 beyond it).
const MaxBodyBytes = 1 << 20

// Server is the Platform API's HTTP handler.
type Server struct {
	platform *platform.Platform
	log      *slog.Logger
	metrics  *metrics.Metrics
	mux      *http.ServeMux
	// known holds the same routes as mux without its catch-all, to tell
	// an unknown path (404) from a known one asked with another method (405).
	known *http.ServeMux
	// ready reports whether the node can serve (store reachable, workers up).
	ready func(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	Platform *platform.Platform
	Logger   *slog.Logger
	// Ready is the readiness check behind /readyz; nil means always ready.
	Ready func(ctx context.Context) error
	// APIDisabled serves only /healthz, /readyz and /metrics (worker nodes).
	APIDisabled bool
	// Metrics counts requests and is served at /metrics; nil means a fresh set.
	Metrics *metrics.Metrics
}

// New returns the API handler.
func New(cfg Config) *Server {
	s := &Server{platform: cfg.Platform, log: cfg.Logger, metrics: cfg.Metrics,
		mux: http.NewServeMux(), known: http.NewServeMux(), ready: cfg.Ready}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	s.routes(!cfg.APIDisabled)
	return s
}

type ctxKey int

const requestIDKey ctxKey = iota

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ServeHTTP assigns a request id, bounds the body, routes, and logs one line
// per request. Unknown paths and methods get the JSON error shape too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !safeRequestID.MatchString(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic", "request_id", id, "panic", v)
			writeError(sw, r, s.log, errInternalPanic)
		}
		s.metrics.ObserveRequest(sw.status)
		s.log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "bytes", sw.bytes, "latency_ms", float64(time.Since(start).Microseconds())/1000)
	}()
	s.mux.ServeHTTP(sw, r)

}

// unrouted answers a request no route matched (the mux's catch-all): 405
// with Allow when the path exists for other methods, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.known.Handler(r)
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, r, s.log, errMethodNotAllowed(r.Method, r.URL.Path))
		return
	}
	writeError(w, r, s.log, errNoRoute(r.URL.Path))
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerProbe captures what the mux's own 404/405 handler would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }
