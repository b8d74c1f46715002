package bench

import (
	"math"
	"slices"
	"time"
)

// Percentiles summarizes a latency distribution in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted, which must
// be in ascending order, by the nearest-rank method: the smallest value such
// that at least p percent of the values are less than or equal to it. It
// returns 0 for an empty slice.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// p*n first keeps integer percentiles exact (0.07*100 is not 7).
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// NewPercentiles returns the nearest-rank p50, p95 and p99 of values, which
// need not be sorted and are not modified.
func NewPercentiles(values []float64) Percentiles {
	s := slices.Clone(values)
	slices.Sort(s)
	return Percentiles{P50: Percentile(s, 50), P95: Percentile(s, 95), P99: Percentile(s, 99)}
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
