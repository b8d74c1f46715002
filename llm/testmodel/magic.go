package testmodel

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// tokenPattern matches [[name]] and [[name:argument]] with a lowercase name.
var tokenPattern = regexp.MustCompile(`\[\[([a-z]+)(?::([^\[\]]*))?\]\]`)

// magic is what the magic tokens of one message ask for.
type magic struct {
	text  string        // the message without its tokens, trimmed
	fail  bool          // [[fail]]
	sleep time.Duration // [[sleep:DURATION]]
	tool  string        // [[tool:NAME]]
}

// parseMagic reads the magic tokens of content.
func parseMagic(content string) (magic, error) {
	m := magic{text: strings.TrimSpace(tokenPattern.ReplaceAllString(content, ""))}
	seen := map[string]bool{}
	for _, match := range tokenPattern.FindAllStringSubmatchIndex(content, -1) {
		token := content[match[0]:match[1]]
		name := content[match[2]:match[3]]
		hasArg := match[4] >= 0
		arg := ""
		if hasArg {
			arg = content[match[4]:match[5]]
		}
		if seen[name] && name != "fail" {
			return magic{}, tokenError(token, "only one [["+name+":...]] token is allowed per message")
		}
		seen[name] = true
		if err := m.apply(token, name, arg, hasArg); err != nil {
			return magic{}, err
		}
	}
	return m, nil
}

// apply records one token in m.
func (m *magic) apply(token, name, arg string, hasArg bool) error {
	switch name {
	case "fail":
		if hasArg {
			return tokenError(token, "[[fail]] takes no argument")
		}
		m.fail = true
	case "sleep":
		d, err := parseSleep(token, arg)
		if err != nil {
			return err
		}
		m.sleep = d
	case "tool":
		if strings.TrimSpace(arg) == "" {
			return tokenError(token, "write [[tool:NAME]] with the name of a tool")
		}
		m.tool = strings.TrimSpace(arg)
	default:
		return tokenError(token, "unknown name; the tokens are [[fail]], [[sleep:DURATION]] and [[tool:NAME]]")
	}
	return nil
}

// parseSleep reads the duration of a [[sleep:DURATION]] token.
func parseSleep(token, arg string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(arg))
	if err != nil {
		return 0, tokenError(token, "write [[sleep:DURATION]] with a Go duration such as 150ms or 2s")
	}
	if d < 0 || d > MaxSleep {
		return 0, tokenError(token, fmt.Sprintf("the duration must be between 0 and %s", MaxSleep))
	}
	return d, nil
}

// tokenError reports a malformed magic token.
func tokenError(token, detail string) error {
	return testError(fmt.Sprintf("malformed magic token %s: %s", token, detail))
}
