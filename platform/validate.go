package platform

import (
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/umamiai/umami"
)

// Limits on what callers send. They are part of the public contract: the
// OpenAPI document and the README list the same numbers.
const (
	MaxInputChars        = 100_000
	MaxNameChars         = 200
	MaxDescriptionChars  = 2_000
	MaxInstructionsChars = 32_000
	MaxModelChars        = 200
	MaxMetadataEntries   = 16
	MaxMetadataKeyChars  = 64
	MaxMetadataValChars  = 512
	MaxTools             = 16
	MaxOutputTokens      = 100_000
	MaxTemperature       = 2.0
	MaxIdempotencyKey    = 255
	DefaultPageLimit     = 20
	MaxPageLimit         = 100
)

func invalid(format string, args ...any) error { return umami.Errorf(umami.EInvalid, format, args...) }

// checkUUID requires a well-formed UUID.
func checkUUID(field, v string) error {
	if v == "" {
		return invalid("%s is required", field)
	}
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return invalid("%s must be a UUID, got %q", field, truncate(v, 60))
	}
	return nil
}

// checkText requires between min and max characters of valid UTF-8
// without NUL, which PostgreSQL cannot store in text.
func checkText(field, v string, min, max int) error {
	if !utf8.ValidString(v) {
		return invalid("%s must be valid UTF-8", field)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid("%s must not contain the NUL character (U+0000)", field)
	}
	n := utf8.RuneCountInString(v)
	if n < min {
		if min == 1 {
			return invalid("%s is required and must not be empty", field)
		}
		return invalid("%s must have at least %d characters", field, min)
	}
	if n > max {
		return invalid("%s has %d characters; the limit is %d", field, n, max)
	}
	return nil
}

// checkMetadata enforces the metadata limits.
func checkMetadata(m map[string]string) error {
	if len(m) > MaxMetadataEntries {
		return invalid("metadata has %d entries; the limit is %d", len(m), MaxMetadataEntries)
	}
	for k, v := range m {
		if err := checkText("metadata key", k, 1, MaxMetadataKeyChars); err != nil {
			return err
		}
		if err := checkText("metadata."+k, v, 0, MaxMetadataValChars); err != nil {
			return err
		}
	}
	return nil
}

// page validates a list request's limit and cursor.
func page(limit int, after string) (umami.Page, error) {
	if limit == 0 {
		limit = DefaultPageLimit
	}
	if limit < 1 || limit > MaxPageLimit {
		return umami.Page{}, invalid("limit must be between 1 and %d", MaxPageLimit)
	}
	if after != "" {
		if err := checkUUID("after", after); err != nil {
			return umami.Page{}, err
		}
	}
	return umami.Page{Limit: limit, After: after}, nil
}

// emptyIfNil returns a non-nil map, so that JSON shows {} rather than null.
func emptyIfNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
