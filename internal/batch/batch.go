// Package batch coalesces concurrent calls into batches, the way a database
// commits a group of transactions with one flush: while a batch is being
// written, calls that arrive wait and go together in the next one. An idle
// caller is never delayed (a lone call is a batch of one, written at once),
// and under load the batches grow by themselves, so that the per-statement
// and per-commit costs are paid once for many rows.
package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Func writes a batch and returns one result per item, in order. It must
// write all the items or none: a failed batch may be written again in parts.
type Func[I, O any] func(ctx context.Context, items []I) ([]O, error)

// ErrFull is returned by Do when MaxPending calls are already waiting: the
// writes are slower than the calls, and waiting longer would only grow the
// queue.
var ErrFull = errors.New("too many writes are waiting")

// ErrTimeout is in the error chain of every item of a batch that was not
// written within Config.Timeout.
var ErrTimeout = errors.New("batch not written in time")

// Config tunes a Batcher. Zero values take the defaults.
type Config[I any] struct {
	// MaxSize bounds the items written together (default 128).
	MaxSize int
	// MaxBytes bounds the sum of Size over the items written together
	// (default: no bound, or when Size is nil). An item larger than
	// MaxBytes is written alone.
	MaxBytes int
	// Size returns the size of an item, for MaxBytes.
	Size func(I) int
	// MaxPending, if positive, bounds the calls waiting for a batch; Do
	// returns ErrFull beyond it. By default the callers' own number bounds
	// them.
	MaxPending int
	// MaxInFlight bounds the batches written at the same time (default 1):
	// more overlap the writes, fewer let the batches grow.
	MaxInFlight int
	// Timeout bounds the writing of one batch (default 30s). Batches are
	// not written under any one caller's context, whose cancellation would
	// fail the others' items.
	Timeout time.Duration
	// Split, when it returns true for the error of a batch of several
	// items, has the batch written again in two halves, and so on, so that
	// a bad item fails alone and every caller gets its own error. It should
	// accept only errors that one item causes: for one that every item
	// would meet (a lost database, a timeout) all the items get the batch's
	// error at once.
	Split func(error) bool
}

// Batcher coalesces concurrent calls of Do into calls of a Func.
type Batcher[I, O any] struct {
	fn  Func[I, O]
	cfg Config[I]

	mu       sync.Mutex
	pending  []*call[I, O]
	inFlight int
}

type call[I, O any] struct {
	in   I
	out  O
	err  error
	done chan struct{}
}

// New returns a Batcher that writes with fn.
func New[I, O any](fn Func[I, O], cfg Config[I]) *Batcher[I, O] {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 128
	}
	if cfg.MaxBytes <= 0 || cfg.Size == nil {
		cfg.MaxBytes, cfg.Size = 0, nil
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
// returns its result. If ctx ends while in still waits for a batch, in is
// dropped and Do returns ctx's error; once its batch has started, Do
// returns the batch's result (Timeout bounds each write of it), so that a
// caller never takes for failed what was written.
func (b *Batcher[I, O]) Do(ctx context.Context, in I) (O, error) {
	var zero O
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c := &call[I, O]{in: in, done: make(chan struct{})}
	b.mu.Lock()
	if b.cfg.MaxPending > 0 && len(b.pending) >= b.cfg.MaxPending {
		b.mu.Unlock()
		return zero, ErrFull
	}
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
	case <-ctx.Done():
		if b.withdraw(c) {
			return zero, ctx.Err()
		}
		<-c.done
	}
	return c.out, c.err
}

// withdraw removes c from the waiting calls and reports whether it was
// still there.
func (b *Batcher[I, O]) withdraw(c *call[I, O]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.pending, c)
	if i < 0 {
		return false
	}
	b.pending = slices.Delete(b.pending, i, i+1)
	return true
}

// drain writes batches until no call is waiting.
func (b *Batcher[I, O]) drain() {
	for {
		calls := b.take()
		if calls == nil {
			return
		}
		b.write(calls)
	}
}

// take removes the next batch from the waiting calls, or returns nil (and
// ends this writer) when none waits.
func (b *Batcher[I, O]) take() []*call[I, O] {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, bytes := 0, 0
	for n < len(b.pending) && n < b.cfg.MaxSize {
		if b.cfg.Size != nil {
			bytes += b.cfg.Size(b.pending[n].in)
			if n > 0 && bytes > b.cfg.MaxBytes {
				break
			}
		}
		n++
	}
	if n == 0 {
		b.inFlight--
		return nil
	}
	calls := slices.Clone(b.pending[:n])
	b.pending = slices.Delete(b.pending, 0, n) // clears the moved slots: no taken item stays referenced
	return calls
}

// write writes calls as one batch and ends them with their results. A
// batch that fails with an error Split accepts is written again in halves.
func (b *Batcher[I, O]) write(calls []*call[I, O]) {
	items := make([]I, len(calls))
	for i, c := range calls {
		items[i] = c.in
	}
	out, err := b.call(items)
	if err != nil && len(calls) > 1 && b.cfg.Split != nil && b.cfg.Split(err) {
		half := len(calls) / 2
		b.write(calls[:half])
		b.write(calls[half:])
		return
	}
	for i, c := range calls {
		if c.err = err; err == nil {
			c.out = out[i]
		}
		close(c.done)
	}
}

// call runs fn under the batch timeout, turns a panic into the batch's
// error, and checks that fn kept its promise of one result per item.
func (b *Batcher[I, O]) call(items []I) (out []O, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("batch: write panicked: %v", v)
		}
	}()
	out, err = b.fn(ctx, items)
	switch {
	case err != nil && ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("%w (%s): %w", ErrTimeout, b.cfg.Timeout, err)
	case err == nil && len(out) != len(items):
		return nil, fmt.Errorf("batch: write returned %d results for %d items", len(out), len(items))
	}
	return out, err
}
