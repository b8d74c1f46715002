package batch

// Pending returns how many calls wait for a batch, for tests that must
// know that their calls queued.
func Pending[I, O any](b *Batcher[I, O]) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}
