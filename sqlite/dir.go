package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
)

// ensureDir creates the directory that holds the database file, private to
// the owner: the file holds key hashes and every run's input and output.
func ensureDir(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	return nil
}
