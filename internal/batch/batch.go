// Package batch coalesces concurrent calls into batches, the way a database
// commits a group of transactions with one flush: while a batch is being
// written, calls that arrive wait and go together in the next one. An idle
// caller is never delayed (a lone call is a batch of one, written at once),
// and under load the batches grow by themselves, so that the per-statement
// and per-commit costs are paid once for many rows.
package batch

import (
	"context"
	"sync"
	"time"
)

// Func writes a batch and returns one result per item, in order.
type Func[I, O any] func(ctx context.Context, items []I) ([]O, error)

// Config tunes a Batcher. Zero values take the defaults.
type Config struct {
	// MaxSize bounds the items written together (default 128).
	MaxSize int
	// MaxInFlight bounds the batches written at the same time (default 1):
	// more overlap the writes, fewer let the batches grow.
	MaxInFlight int
	// Timeout bounds the writing of one batch (default 30s). Batches are
	// not written under any one caller's context, whose cancellation would
	// fail the others' items.
	Timeout time.Duration
	// Split, when it returns true for the error of a batch of several
	// items, has each item written again alone, so that one bad item fails
	// alone and every caller gets its own error. Without it (or when it
	// returns false, for an error such as a lost database that every item
	// would meet) all the items get the batch's error.
	Split func(error) bool
}

// Batcher coalesces concurrent calls of Do into calls of a Func.
type Batcher[I, O any] struct {
	fn  Func[I, O]
	cfg Config

	mu       sync.Mutex
	pending  []*call[I, O]
	inFlight int
}

type call[I, O any] struct {
	ctx  context.Context
	in   I
	out  O
	err  error
	done chan struct{}
}

// New returns a Batcher that writes with fn.
func New[I, O any](fn Func[I, O], cfg Config) *Batcher[I, O] {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 128
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Batcher[I, O]{fn: fn, cfg: cfg}
}

// Do writes in, together with whatever other calls are waiting, and
// returns its result. If ctx ends first, Do returns ctx's error; the item is
// then dropped if its batch has not started, and written otherwise.
func (b *Batcher[I, O]) Do(ctx context.Context, in I) (O, error) {
	c := &call[I, O]{ctx: ctx, in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	start := b.inFlight < b.cfg.MaxInFlight
	if start {
		b.inFlight++
	}
	b.mu.Unlock()
	if start {
		go b.drain()
	}
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		var zero O
		return zero, ctx.Err()
	}
}

// drain writes batches until no call is waiting.
func (b *Batcher[I, O]) drain() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.cfg.MaxSize)
		if n == 0 {
			b.inFlight--
			b.mu.Unlock()
			return
		}
		calls := b.pending[:n:n]
		b.pending = b.pending[n:]
		if len(b.pending) == 0 {
			b.pending = nil // let the backing array go
		}
		b.mu.Unlock()
		b.write(live(calls))
	}
}

// live ends the calls whose context is done and returns the others.
func live[I, O any](calls []*call[I, O]) []*call[I, O] {
	out := calls[:0]
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		out = append(out, c)
	}
	return out
}

// write writes calls as one batch and ends them with their results.
func (b *Batcher[I, O]) write(calls []*call[I, O]) {
	if len(calls) == 0 {
		return
	}
	items := make([]I, len(calls))
	for i, c := range calls {
		items[i] = c.in
	}
	out, err := b.call(items)
	if err != nil && len(calls) > 1 && b.cfg.Split != nil && b.cfg.Split(err) {
		for _, c := range calls {
			b.write([]*call[I, O]{c})
		}
		return
	}
	for i, c := range calls {
		if c.err = err; err == nil {
			c.out = out[i]
		}
		close(c.done)
	}
}

// call runs fn under the batch timeout and checks that it kept its promise
// of one result per item.
func (b *Batcher[I, O]) call(items []I) ([]O, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	out, err := b.fn(ctx, items)
	if err == nil && len(out) != len(items) {
		panic("batch: Func returned a result count different from its item count")
	}
	return out, err
}
