package platform

import (
	"context"
	"errors"

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

// batchConfig is shared by the run batchers. A failed batch is written
// again item by item, so that one bad item (a conflict, say) fails alone,
// unless the database is out of reach, which every item would meet.
var batchConfig = batch.Config{
	MaxSize:     128,
	MaxInFlight: 1,
	Split: func(err error) bool {
		return umami.ErrorCode(err) != umami.EUnavailable && !errors.Is(err, context.DeadlineExceeded)
	},
}

func (p *Platform) newRunBatches() runBatches {
	return runBatches{
		creates: batch.New(func(ctx context.Context, runs []*umami.Run) ([]*umami.Run, error) {
			err := p.store.Update(ctx, func(tx umami.Tx) error { return insertRuns(ctx, tx, runs...) })
			return runs, err
		}, batchConfig),
		starts: batch.New(func(ctx context.Context, ids []string) (runs []*umami.Run, err error) {
			err = p.store.Exec(ctx, func(tx umami.Tx) error {
				runs, err = tx.StartRuns(ctx, p.Now(), ids...)
				return err
			})
			return runs, err
		}, batchConfig),
		finishes: batch.New(func(ctx context.Context, fs []umami.RunFinish) (done []bool, err error) {
			err = p.store.Exec(ctx, func(tx umami.Tx) error {
				done, err = tx.FinishRuns(ctx, fs...)
				return err
			})
			return done, err
		}, batchConfig),
	}
}
