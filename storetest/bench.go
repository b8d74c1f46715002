package storetest

import (
	"fmt"
	"testing"

	"github.com/umamiai/umami"
)

// BenchmarkRunWrites measures the writes every run makes, on s: its
// creation (job and row, in one transaction), its start and its finish
// with one step, for one run at a time and for 16 together (one call of
// each store method), as the platform's batches write them under load. It
// reports ns/run.
func BenchmarkRunWrites(b *testing.B, s umami.Store) {
	f := newFixture(b, s)
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			for b.Loop() {
				writeRuns(b, s, f, size)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/run")
		})
	}
}

// writeRuns creates, starts and finishes n runs, n per store call.
func writeRuns(b *testing.B, s umami.Store, f fixture, n int) {
	runs := make([]*umami.Run, n)
	ids := make([]string, n)
	for i := range runs {
		runs[i] = f.run("hello")
		ids[i] = runs[i].ID
	}
	update(b, s, func(tx umami.Tx) error { return umami.InsertRuns(ctx, tx, runs...) })
	var started []*umami.Run
	exec(b, s, func(tx umami.Tx) (err error) { started, err = tx.StartRuns(ctx, now(), ids...); return err })
	fs := make([]umami.RunFinish, n)
	out := "Echo: hello"
	for i, r := range started {
		end := now()
		r.Status, r.Output, r.CompletedAt = umami.RunSucceeded, &out, &end
		fs[i] = umami.RunFinish{Run: r, Steps: []umami.RunStep{{RunID: r.ID, Type: umami.StepModelCall, Name: "test/echo",
			Input: "hello", Output: out, StartedAt: end, CompletedAt: end}}}
	}
	var done []bool
	exec(b, s, func(tx umami.Tx) (err error) { done, err = tx.FinishRuns(ctx, fs...); return err })
	for i, ok := range done {
		if !ok {
			b.Fatalf("run %s was not finished", runs[i].ID)
		}
	}
}
