package platform_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/sqlite"
)

// A run whose job River gave up on (the worker died on its last attempt)
// is ended by the sweeper with worker_lost; other runs are left alone.
func TestFailOrphanedRuns(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "umami.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p := platform.New(platform.Config{Store: store, Providers: []string{"test"}})
	demo, err := p.CreateDemo(ctx, "test/echo")
	if err != nil {
		t.Fatal(err)
	}
	pr := demo.Key.Key.Principal()
	create := func() *umami.Run {
		run, _, err := p.CreateRun(ctx, pr, platform.CreateRunInput{OrgID: demo.Org.ID, AgentVersionID: demo.Version.ID, Input: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	lost, waiting := create(), create()
	if _, _, err := p.StartRun(ctx, lost.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Writer().Exec(`UPDATE river_job SET state = 'discarded', finalized_at = CURRENT_TIMESTAMP WHERE id = ?`, lost.JobID); err != nil {
		t.Fatal(err)
	}
	n, err := p.FailOrphanedRuns(ctx)
	if err != nil || n != 1 {
		t.Fatalf("FailOrphanedRuns = %d, %v; want 1", n, err)
	}
	got, _ := p.GetRun(ctx, pr, lost.ID)
	if got.Status != umami.RunFailed || got.Error == nil || got.Error.Code != umami.RunErrWorkerLost || got.CompletedAt == nil {
		t.Errorf("lost run = %s %+v", got.Status, got.Error)
	}
	if got, _ := p.GetRun(ctx, pr, waiting.ID); got.Status != umami.RunQueued {
		t.Errorf("queued run with a live job became %s", got.Status)
	}
	if n, _ := p.FailOrphanedRuns(ctx); n != 0 {
		t.Errorf("second sweep ended %d runs, want 0", n)
	}
}
