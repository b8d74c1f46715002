package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/internal/batch"
)

// The run writes that every run makes (create, start, finish) go through
// batchers: concurrent calls share one statement and one commit, which is
// most of a small write's cost. A lone call is written at once, so batching
// adds no latency; under load, batches grow with the backlog.
type runBatches struct {
	creates  *batch.Batcher[*umami.Run, *umami.Run]
	starts   *batch.Batcher[string, *umami.Run]
	finishes *batch.Batcher[umami.RunFinish, bool]
}

// Limits of the run batches.
const (
	// DefaultBatchTimeout bounds the writing of one batch: past it, its
	// callers get 503 service_unavailable (the database does not answer in
	// time).
	DefaultBatchTimeout = 10 * time.Second
	// MaxPendingCreates bounds the run creations waiting on one node for
	// the database; more get 503 service_unavailable with Retry-After, and
	// their clients retry. Starts and finishes are bounded by the node's
	// workers instead, and never refused.
	MaxPendingCreates = 2048
	// maxBatchBytes bounds the text (inputs, outputs, steps) written in
	// one batch, so that runs with large texts make smaller batches.
	maxBatchBytes = 8 << 20
)

// batchConfig is what the run batchers share (128 runs a batch, one batch
// in flight: the package's defaults). A batch that fails on what one item
// can cause (a conflict, an invalid value) is written again in halves, so
// that the bad item fails alone; any other error (a lost or slow database,
// a bug) fails the batch at once.
func batchConfig[I any](timeout time.Duration, maxPending int, size func(I) int) batch.Config[I] {
	return batch.Config[I]{
		MaxBytes:   maxBatchBytes,
		Size:       size,
		MaxPending: maxPending,
		Timeout:    timeout,
		Split: func(err error) bool {
			code := umami.ErrorCode(err)
			return code == umami.EConflict || code == umami.EInvalid
		},
	}
}

func (p *Platform) newRunBatches(timeout time.Duration) runBatches {
	const unbounded = 0
	return runBatches{
		creates: batch.New(func(ctx context.Context, runs []*umami.Run) ([]*umami.Run, error) {
			err := p.store.Update(ctx, func(tx umami.Tx) error { return umami.InsertRuns(ctx, tx, runs...) })
			return runs, err
		}, batchConfig(timeout, MaxPendingCreates, runSize)),
		starts: batch.New(func(ctx context.Context, ids []string) (runs []*umami.Run, err error) {
			err = p.store.Exec(ctx, func(tx umami.Tx) error {
				runs, err = tx.StartRuns(ctx, p.Now(), ids...)
				return err
			})
			return runs, err
		}, batchConfig[string](timeout, unbounded, nil)),
		finishes: batch.New(func(ctx context.Context, fs []umami.RunFinish) (done []bool, err error) {
			err = p.store.Exec(ctx, func(tx umami.Tx) error {
				done, err = tx.FinishRuns(ctx, fs...)
				return err
			})
			return done, err
		}, batchConfig(timeout, unbounded, finishSize)),
	}
}

// batched calls b with in and turns the batcher's own errors into the
// domain's: a full queue or a batch past its timeout is 503.
func batched[I, O any](ctx context.Context, b *batch.Batcher[I, O], in I) (O, error) {
	out, err := b.Do(ctx, in)
	switch {
	case errors.Is(err, batch.ErrFull):
		err = fmt.Errorf("%w: %w", umami.Errorf(umami.EUnavailable,
			"too many writes are waiting for the database on this node; retry shortly"), err)
	case errors.Is(err, batch.ErrTimeout):
		err = fmt.Errorf("%w: %w", umami.Errorf(umami.EUnavailable,
			"the database did not answer in time; retry shortly"), err)
	}
	return out, err
}

// runSize is the text a run creation writes.
func runSize(r *umami.Run) int {
	n := len(r.Input)
	for k, v := range r.Metadata {
		n += len(k) + len(v)
	}
	return n
}

// finishSize is the text a run's finish writes.
func finishSize(f umami.RunFinish) int {
	n := 0
	if f.Run.Output != nil {
		n += len(*f.Run.Output)
	}
	for _, s := range f.Steps {
		n += len(s.Input) + len(s.Output)
	}
	return n
}
