package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	m := New()
	m.ObserveRequest(200)
	m.ObserveRequest(200)
	m.ObserveRequest(404)
	m.ObserveRun("succeeded", 1500*time.Millisecond)
	m.ObserveRun("failed", 500*time.Millisecond)
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE umami_http_requests_total counter\n",
		`umami_http_requests_total{code="200"} 2` + "\n",
		`umami_http_requests_total{code="404"} 1` + "\n",
		`umami_runs_finished_total{status="failed"} 1` + "\n",
		`umami_runs_finished_total{status="succeeded"} 1` + "\n",
		"umami_run_execution_seconds_total 2\n",
		`umami_build_info{version="dev"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	// Labels come sorted, so scrapes are stable.
	if strings.Index(body, `code="200"`) > strings.Index(body, `code="404"`) {
		t.Error("labels not sorted")
	}
}
