package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/umamiai/umami"
)

// decode reads a JSON object body strictly into dst: the media type must be
// JSON, unknown fields and trailing data are rejected, and every error names
// what was wrong.
func decode(r *http.Request, dst any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return umami.Errorf(umami.EUnsupportedMedia, "Content-Type must be application/json, got %q",
			r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return umami.Errorf(umami.EInvalid, "request body must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return umami.Errorf(umami.EPayloadTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return umami.Errorf(umami.EInvalid, "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return umami.Errorf(umami.EInvalid, "request body is not valid JSON: %v", err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return umami.Errorf(umami.EInvalid, "request body must be a JSON object")
		}
		return umami.Errorf(umami.EInvalid, "%s must be %s, got %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return umami.Errorf(umami.EInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return umami.Errorf(umami.EInvalid, "request body: %v", err)
	}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	case "float64", "float32":
		return "a number"
	case "int", "int64":
		return "an integer"
	}
	return "of another type"
}

// requireNoBody rejects a body on endpoints that take none.
func requireNoBody(r *http.Request) error {
	var buf [1]byte
	if n, _ := io.ReadFull(r.Body, buf[:]); n > 0 {
		return umami.Errorf(umami.EInvalid, "this endpoint takes no request body")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, umami.Errorf(umami.EInvalid, "%s must be an integer, got %q", name, v)
	}
	if n == 0 {
		return 0, umami.Errorf(umami.EInvalid, "%s must be at least 1", name)
	}
	return n, nil
}

// checkQuery rejects query parameters the endpoint does not know.
func checkQuery(r *http.Request, known ...string) error {
	for name := range r.URL.Query() {
		ok := false
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			return umami.Errorf(umami.EInvalid, "unknown query parameter %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	return nil
}
