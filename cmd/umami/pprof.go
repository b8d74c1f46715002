//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // profiling endpoints, only in builds tagged pprof
	"os"
)

// Builds tagged "pprof" serve the profiler on UMAMI_PPROF_ADDR (default
// 127.0.0.1:6060), for benchmark investigations.
func init() {
	addr := os.Getenv("UMAMI_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go http.ListenAndServe(addr, nil)
}
