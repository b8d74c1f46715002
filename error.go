package umami

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the public API: the "error" field of every
// error response, and the code of a failed run. Never rename one.
const (
	EInvalid           = "invalid_request"
	ENotFound          = "not_found"
	EMissingAPIKey     = "missing_api_key"
	EInvalidAPIKey     = "invalid_api_key"
	EInsufficientScope = "insufficient_scope"
	EOrgMismatch       = "org_mismatch"
	EIdempotency       = "idempotency_conflict"
	EConflict          = "conflict"
	ERunNotCancelable  = "run_not_cancelable"
	EPayloadTooLarge   = "payload_too_large"
	EUnsupportedMedia  = "unsupported_media_type"
	EMethodNotAllowed  = "method_not_allowed"
	EUnavailable       = "service_unavailable"
	EInternal          = "internal_error"
)

// Error is an application error: a stable code and a message that is safe to
// show to the caller. Anything that is not an *Error is an internal error
// whose detail goes only to the log.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("umami error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EInternal for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-safe message of err: the *Error's message,
// or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
