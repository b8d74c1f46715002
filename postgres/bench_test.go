package postgres_test

import (
	"testing"

	"github.com/umamiai/umami/storetest"
)

// BenchmarkRunWrites measures a run's writes, one run at a time and 16
// together (storetest.BenchmarkRunWrites). The throwaway cluster runs
// without fsync; set UMAMI_TEST_DATABASE_URL to measure a durable server.
func BenchmarkRunWrites(b *testing.B) {
	storetest.BenchmarkRunWrites(b, open(b))
}
