package pgtest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test to observe Skip and Fatal.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

func TestNoServerSkipsOrFailsInCI(t *testing.T) {
	t.Setenv(EnvURL, "")
	t.Setenv("PATH", "")
	saved := fallbackBindirs
	fallbackBindirs = nil
	defer func() { fallbackBindirs = saved }()
	s := findServer()
	if s.info != nil || s.err != nil || !strings.Contains(s.missing, "no PostgreSQL binaries") {
		t.Fatalf("findServer without server = %+v", s)
	}
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	unavailable(r, s.missing)
	if r.failed != "" || !strings.Contains(r.skipped, "NO POSTGRESQL") || !strings.Contains(r.skipped, "install-pgvector.sh") {
		t.Errorf("outside CI: skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	unavailable(r, s.missing)
	if r.skipped != "" || r.failed == "" {
		t.Errorf("in CI: skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Log(r.failed)
}

func TestDBName(t *testing.T) {
	a, b := dbName("TestX/Sub-Case #1"), dbName("TestX/Sub-Case #1")
	if a == b || !strings.HasPrefix(a, "t_testx_sub_case_1_") || len(dbName(strings.Repeat("x", 200))) > 63 {
		t.Errorf("dbName: %q, %q", a, b)
	}
}
