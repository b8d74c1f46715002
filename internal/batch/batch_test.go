package batch_test

import (
	"context"
	"errors"
	"slices"
	"strings"
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

// holding returns a batcher over g whose first batch, of the one item
// first, has started and is held until g opens, and the channel that
// delivers every later call's result too.
func holding(g *gate, cfg batch.Config[int], first int) (*batch.Batcher[int, int], chan result) {
	b := batch.New(g.fn, cfg)
	results := make(chan result, 10)
	doAsync(context.Background(), b, first, results)
	<-g.started
	return b, results
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
	b := batch.New(g.fn, batch.Config[int]{})
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
	b, results := holding(g, batch.Config[int]{}, 1)
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
	if !slices.Equal(g.batches[0], []int{1}) || !slices.Equal(second, []int{2, 3, 4, 5, 6}) || len(g.batches) != 2 {
		t.Fatalf("batches = %v; want [1] then [2..6] together", g.batches)
	}
}

func TestMaxSizeBoundsABatch(t *testing.T) {
	g := newGate()
	b, results := holding(g, batch.Config[int]{MaxSize: 2}, 0)
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
	b, results := holding(g, batch.Config[int]{MaxInFlight: 2}, 1)
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

func TestSplitIsolatesTheBadItem(t *testing.T) {
	g := newGate()
	bad := errors.New("item 3 is bad")
	g.fail = func(items []int) error {
		if slices.Contains(items, 3) {
			return bad
		}
		return nil
	}
	b, results := holding(g, batch.Config[int]{Split: func(err error) bool { return errors.Is(err, bad) }}, 1)
	for n, i := range []int{2, 3, 4} {
		doAsync(context.Background(), b, i, results)
		waitPending(t, b, n+1) // keep the arrival order
	}
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
	// [1], then [2 3 4] fails and is halved: [2] and [3 4]; [3 4] fails: [3], [4].
	if want := [][]int{{1}, {2, 3, 4}, {2}, {3, 4}, {3}, {4}}; !slices.EqualFunc(g.batches, want, slices.Equal) {
		t.Errorf("batches = %v; want %v", g.batches, want)
	}
}

func TestWithoutSplitEveryItemGetsTheBatchError(t *testing.T) {
	g := newGate()
	down := errors.New("database down")
	g.fail = func([]int) error { return down }
	b, results := holding(g, batch.Config[int]{Split: func(err error) bool { return !errors.Is(err, down) }}, 1)
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
	b, results := holding(g, batch.Config[int]{}, 1)
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
	b := batch.New(fn, batch.Config[int]{MaxSize: 16, MaxInFlight: 2})
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

func TestCallerCanceledAfterItsBatchStartedGetsTheResult(t *testing.T) {
	g := newGate()
	b := batch.New(g.fn, batch.Config[int]{})
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan result, 1)
	doAsync(ctx, b, 4, results)
	<-g.started
	cancel()
	select {
	case r := <-results:
		t.Fatalf("Do returned %+v while its batch was being written", r)
	case <-time.After(50 * time.Millisecond):
	}
	g.open()
	if r := <-results; r.err != nil || r.out != 40 {
		t.Fatalf("Do(4) = %d, %v; want 40, nil: the item was written", r.out, r.err)
	}
}

func TestMaxPendingRefusesCalls(t *testing.T) {
	g := newGate()
	b, results := holding(g, batch.Config[int]{MaxSize: 2, MaxPending: 3}, 0)
	for i := 1; i <= 3; i++ {
		doAsync(context.Background(), b, i, results)
	}
	waitPending(t, b, 3)
	if _, err := b.Do(context.Background(), 4); !errors.Is(err, batch.ErrFull) {
		t.Fatalf("Do with 3 calls pending = %v; want ErrFull", err)
	}
	g.open()
	for range 4 {
		if r := <-results; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if out, err := b.Do(context.Background(), 5); err != nil || out != 50 {
		t.Fatalf("Do once the queue drained = %d, %v", out, err)
	}
}

func TestMaxBytesBoundsABatch(t *testing.T) {
	g := newGate()
	// Items weigh their value; at most 10 per batch, and 20 goes alone.
	b, results := holding(g, batch.Config[int]{MaxBytes: 10, Size: func(i int) int { return i }}, 1)
	for n, i := range []int{4, 5, 3, 20, 2} {
		doAsync(context.Background(), b, i, results)
		waitPending(t, b, n+1) // keep the arrival order
	}
	g.open()
	for range 6 {
		if r := <-results; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if want := [][]int{{1}, {4, 5}, {3}, {20}, {2}}; !slices.EqualFunc(g.batches, want, slices.Equal) {
		t.Fatalf("batches = %v; want %v", g.batches, want)
	}
}

func TestPanicFailsItsBatchOnly(t *testing.T) {
	n := 0
	b := batch.New(func(ctx context.Context, in []int) ([]int, error) {
		if n++; n == 1 {
			panic("boom")
		}
		return in, nil
	}, batch.Config[int]{})
	if _, err := b.Do(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Do in a panicking batch = %v; want an error naming the panic", err)
	}
	if out, err := b.Do(context.Background(), 2); err != nil || out != 2 {
		t.Fatalf("Do after the panic = %d, %v; want 2, nil", out, err)
	}
}

func TestTimeoutIsErrTimeout(t *testing.T) {
	b := batch.New(func(ctx context.Context, in []int) ([]int, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, batch.Config[int]{Timeout: 20 * time.Millisecond})
	_, err := b.Do(context.Background(), 1)
	if !errors.Is(err, batch.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do = %v; want ErrTimeout wrapping the deadline", err)
	}
}
