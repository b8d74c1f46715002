package umami

import "time"

// Agent is a named assistant of an org. Its behaviour lives in versions.
type Agent struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	CreatedAt   time.Time
}

// Version statuses. A published version is immutable.
const (
	VersionDraft     = "draft"
	VersionPublished = "published"
)

// AgentVersion is one configuration of an agent: the model, its
// instructions and parameters. Runs may only use published versions.
type AgentVersion struct {
	ID              string
	AgentID         string
	OrgID           string
	Number          int // 1, 2, ... per agent
	Status          string
	Model           string // "provider/model", e.g. "openai/gpt-4o-mini"
	Instructions    string
	Temperature     *float64
	MaxOutputTokens *int
	Tools           []string
	Metadata        map[string]string
	CreatedAt       time.Time
	PublishedAt     *time.Time
}
