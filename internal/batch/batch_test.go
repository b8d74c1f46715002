package batch_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umamiai/umami/internal/batch"
)

// gate is a Func that records each batch and holds it until released.
type gate struct {
	mu      sync.Mutex
	batches [][]int
	started chan []int    // each batch, as it starts
	release chan struct{} // one receive per batch
	fail    func(items []int) error
}

func newGate() *gate {
	return &gate{started: make(chan []int, 100), release: make(chan struct{}, 100)}
}

func (g *gate) fn(ctx context.Context, items []int) ([]int, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(items))
	g.mu.Unlock()
	g.started <- slices.Clone(items)
	<-g.release
	if g.fail != nil {
		if err := g.fail(items); err != nil {
			return nil, err
		}
	}
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = v * 10
	}
	return out, nil
}

func (g *gate) open() { close(g.release) }

type result struct {
	in, out int
	err     error
}

// doAsync calls Do in a goroutine and delivers its result on the channel.
func doAsync(ctx context.Context, b *batch.Batcher[int, int], in int, results chan<- result) {
	go func() {
		out, err := b.Do(ctx, in)
		results <- result{in, out, err}
	}()
}

// waitPending waits until n calls queue behind a held batch.
func waitPending(t *testing.T, b *batch.Batcher[int, int], n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); batch.Pending(b) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls pending; want %d", batch.Pending(b), n)
		}
	}
}

func TestLoneCallIsWrittenAtOnce(t *testing.T) {
	g := newGate()
	g.open()
	b := batch.New(g.fn, batch.Config{})
	out, err := b.Do(context.Background(), 7)
	if err != nil || out != 70 {
		t.Fatalf("Do(7) = %d, %v; want 70, nil", out, err)
	}
	if len(g.batches) != 1 || !slices.Equal(g.batches[0], []int{7}) {
		t.Fatalf("batches = %v; want [[7]]", g.batches)
	}
}

func TestCallsWaitingBehindABatchGoTogether(t *testing.T) {
	g := newGate()
	b := batch.New(g.fn, batch.Config{})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 1, results)
	if first := <-g.started; !slices.Equal(first, []int{1}) {
		t.Fatalf("first batch = %v; want [1]", first)
	}
	for i := 2; i <= 6; i++ {
		doAsync(context.Background(), b, i, results)
	}
	waitPending(t, b, 5)
	g.open()
	got := map[int]int{}
	for range 6 {
		r := <-results
		if r.err != nil {
			t.Fatalf("Do(%d): %v", r.in, r.err)
		}
		got[r.in] = r.out
	}
	for i := 1; i <= 6; i++ {
		if got[i] != i*10 {
			t.Errorf("Do(%d) = %d; want %d", i, got[i], i*10)
		}
	}
	second := <-g.started
	slices.Sort(second)
	if !slices.Equal(second, []int{2, 3, 4, 5, 6}) || len(g.batches) != 2 {
		t.Fatalf("batches = %v; want [1] then [2..6] together", g.batches)
	}
}

func TestMaxSizeBoundsABatch(t *testing.T) {
	g := newGate()
	b := batch.New(g.fn, batch.Config{MaxSize: 2})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 0, results)
	<-g.started
	for i := 1; i <= 5; i++ {
		doAsync(context.Background(), b, i, results)
	}
	waitPending(t, b, 5)
	g.open()
	for range 6 {
		if r := <-results; r.err != nil || r.out != r.in*10 {
			t.Fatalf("Do(%d) = %d, %v", r.in, r.out, r.err)
		}
	}
	sizes := []int{}
	for _, bt := range g.batches {
		sizes = append(sizes, len(bt))
	}
	if !slices.Equal(sizes, []int{1, 2, 2, 1}) {
		t.Fatalf("batch sizes = %v; want [1 2 2 1]", sizes)
	}
}

func TestMaxInFlightOverlapsBatches(t *testing.T) {
	g := newGate()
	b := batch.New(g.fn, batch.Config{MaxInFlight: 2})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 1, results)
	<-g.started
	doAsync(context.Background(), b, 2, results) // a second writer starts while the first is held
	select {
	case second := <-g.started:
		if !slices.Equal(second, []int{2}) {
			t.Fatalf("second batch = %v; want [2]", second)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second batch did not start while the first was in flight")
	}
	g.open()
	for range 2 {
		if r := <-results; r.err != nil {
			t.Fatal(r.err)
		}
	}
}

func TestSplitRetriesEachItemAlone(t *testing.T) {
	g := newGate()
	bad := errors.New("item 3 is bad")
	g.fail = func(items []int) error {
		if slices.Contains(items, 3) {
			return bad
		}
		return nil
	}
	b := batch.New(g.fn, batch.Config{Split: func(err error) bool { return errors.Is(err, bad) }})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 1, results)
	<-g.started
	for _, i := range []int{2, 3, 4} {
		doAsync(context.Background(), b, i, results)
	}
	waitPending(t, b, 3)
	g.open()
	for range 4 {
		r := <-results
		switch {
		case r.in == 3 && !errors.Is(r.err, bad):
			t.Errorf("Do(3) err = %v; want the item's own error", r.err)
		case r.in != 3 && (r.err != nil || r.out != r.in*10):
			t.Errorf("Do(%d) = %d, %v; want %d, nil (only item 3 is bad)", r.in, r.out, r.err, r.in*10)
		}
	}
}

func TestWithoutSplitEveryItemGetsTheBatchError(t *testing.T) {
	g := newGate()
	down := errors.New("database down")
	g.fail = func([]int) error { return down }
	b := batch.New(g.fn, batch.Config{Split: func(err error) bool { return !errors.Is(err, down) }})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 1, results)
	<-g.started
	doAsync(context.Background(), b, 2, results)
	doAsync(context.Background(), b, 3, results)
	waitPending(t, b, 2)
	g.open()
	for range 3 {
		if r := <-results; !errors.Is(r.err, down) {
			t.Errorf("Do(%d) err = %v; want %v", r.in, r.err, down)
		}
	}
	if len(g.batches) != 2 {
		t.Errorf("batches = %v; want 2 (no item retried alone)", g.batches)
	}
}

func TestCanceledCallerIsDroppedBeforeItsBatch(t *testing.T) {
	g := newGate()
	b := batch.New(g.fn, batch.Config{})
	results := make(chan result, 10)
	doAsync(context.Background(), b, 1, results)
	<-g.started
	ctx, cancel := context.WithCancel(context.Background())
	doAsync(ctx, b, 2, results)
	doAsync(context.Background(), b, 3, results)
	waitPending(t, b, 2)
	cancel()
	if r := <-results; r.in != 2 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("first result = %+v; want Do(2) canceled", r)
	}
	g.open()
	for range 2 {
		if r := <-results; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if len(g.batches) != 2 || !slices.Equal(g.batches[1], []int{3}) {
		t.Fatalf("batches = %v; want [1] then [3] (2 dropped)", g.batches)
	}
}

// TestManyCallers checks, under the race detector, that every concurrent
// caller gets its own result and that batches did form.
func TestManyCallers(t *testing.T) {
	var batches, items atomic.Int64
	fn := func(ctx context.Context, in []int) ([]int, error) {
		batches.Add(1)
		items.Add(int64(len(in)))
		time.Sleep(time.Millisecond)
		out := make([]int, len(in))
		for i, v := range in {
			out[i] = -v
		}
		return out, nil
	}
	b := batch.New(fn, batch.Config{MaxSize: 16, MaxInFlight: 2})
	var wg sync.WaitGroup
	for i := range 2000 {
		wg.Go(func() {
			if out, err := b.Do(context.Background(), i); err != nil || out != -i {
				t.Errorf("Do(%d) = %d, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if items.Load() != 2000 || batches.Load() >= 2000 {
		t.Fatalf("%d items in %d batches; want 2000 items in fewer batches", items.Load(), batches.Load())
	}
}
