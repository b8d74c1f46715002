package queue

import "os"

// logWriter sends River's warnings to standard error.
type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) { return os.Stderr.Write(p) }
