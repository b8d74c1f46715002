package llm

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxMessageLen bounds an error message taken from a response body.
const maxMessageLen = 500

// BodyMessage extracts a message from a provider's error response body:
// the error.message, message or error field of a JSON body (OpenAI,
// Anthropic, Ollama, vLLM shapes), else the text itself, else the status
// text; at most 500 bytes.
func BodyMessage(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return "no response body"
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var flat string
		switch {
		case json.Unmarshal(v.Error, &nested) == nil && nested.Message != "":
			return truncate(nested.Message)
		case json.Unmarshal(v.Error, &flat) == nil && flat != "":
			return truncate(flat)
		case v.Message != "":
			return truncate(v.Message)
		}
	}
	if text := strings.TrimSpace(string(body)); text != "" {
		return truncate(text)
	}
	return http.StatusText(resp.StatusCode)
}

// truncate shortens s to at most maxMessageLen bytes, on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	n := maxMessageLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
