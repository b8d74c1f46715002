package worker_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/agent"
	"github.com/umamiai/umami/llm"
	"github.com/umamiai/umami/llm/testmodel"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/queue"
	"github.com/umamiai/umami/sqlite"
	"github.com/umamiai/umami/worker"
)

// A run whose worker died mid-run (job left "running", long ago) is rescued
// by River and finished by a new worker, which resumes it from the start.
func TestLostRunIsRescued(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "umami.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := platform.New(platform.Config{Store: store, Providers: []string{"test"}, Logger: log})
	demo, err := p.CreateDemo(ctx, "test/echo")
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := p.CreateRun(ctx, demo.Key.Key.Principal(), platform.CreateRunInput{
		OrgID: demo.Org.ID, AgentVersionID: demo.Version.ID, Input: "resume me"})
	if err != nil {
		t.Fatal(err)
	}
	// What a worker that died a minute into the run leaves behind.
	if _, _, err := p.StartRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Writer().Exec(`UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-60 seconds') WHERE id = ?`, run.JobID); err != nil {
		t.Fatal(err)
	}

	w := &worker.RunWorker{Platform: p, Runtime: &agent.Runtime{Models: llm.Registry{"test": testmodel.New()}},
		RunTimeout: 5 * time.Second, Logger: log}
	client, err := worker.NewClient(store.RiverDriver(), w, queue.Settings{RescueAfter: 10 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(ctx)

	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		got, err := p.GetRun(ctx, demo.Key.Key.Principal(), run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if umami.Terminal(got.Status) {
			if got.Status != umami.RunSucceeded || got.Attempt != 2 || *got.Output != "Echo: resume me" {
				t.Fatalf("rescued run = %s (attempt %d, error %v), want succeeded on attempt 2", got.Status, got.Attempt, got.Error)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the lost run was never rescued")
}
