package platform

import (
	"context"
	"fmt"
	"slices"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/llm"
)

// CreateAgentInput is the body of a create-agent request.
type CreateAgentInput struct {
	OrgID       string
	Name        string
	Description string
}

// CreateAgent creates an agent in the principal's org.
func (p *Platform) CreateAgent(ctx context.Context, pr *umami.Principal, in CreateAgentInput) (*umami.Agent, error) {
	if err := pr.Require(umami.ScopeAgentsWrite); err != nil {
		return nil, err
	}
	if in.OrgID == "" {
		return nil, invalid("org_id is required")
	}
	orgID, err := orgOf(pr, in.OrgID)
	if err != nil {
		return nil, err
	}
	if err := checkText("name", in.Name, 1, MaxNameChars); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description, 0, MaxDescriptionChars); err != nil {
		return nil, err
	}
	a := &umami.Agent{ID: newID(), OrgID: orgID, Name: in.Name, Description: in.Description, CreatedAt: p.Now()}
	if err := p.store.Update(ctx, func(tx umami.Tx) error { return tx.CreateAgent(ctx, a) }); err != nil {
		return nil, fmt.Errorf("create agent: %w", err)
	}
	return a, nil
}

// GetAgent returns an agent of the principal's org.
func (p *Platform) GetAgent(ctx context.Context, pr *umami.Principal, id string) (a *umami.Agent, err error) {
	if err := pr.Require(umami.ScopeAgentsRead); err != nil {
		return nil, err
	}
	if err := checkUUID("agent_id", id); err != nil {
		return nil, err
	}
	err = p.store.View(ctx, func(tx umami.Tx) error {
		a, err = tx.GetAgent(ctx, pr.OrgID, id)
		return err
	})
	return a, err
}

// ListAgents lists the agents of an org, newest first.
func (p *Platform) ListAgents(ctx context.Context, pr *umami.Principal, orgID string, limit int, after string) (List[*umami.Agent], error) {
	var out List[*umami.Agent]
	if err := pr.Require(umami.ScopeAgentsRead); err != nil {
		return out, err
	}
	orgID, err := orgOf(pr, orgID)
	if err != nil {
		return out, err
	}
	pg, err := page(limit, after)
	if err != nil {
		return out, err
	}
	var agents []*umami.Agent
	err = p.store.View(ctx, func(tx umami.Tx) (err error) {
		agents, err = tx.ListAgents(ctx, orgID, umami.Page{Limit: pg.Limit + 1, After: pg.After})
		return err
	})
	return pageOf(agents, pg.Limit, func(a *umami.Agent) string { return a.ID }), err
}

// CreateVersionInput is the body of a create-version request.
type CreateVersionInput struct {
	Model           string
	Instructions    string
	Temperature     *float64
	MaxOutputTokens *int
	Tools           []string
	Metadata        map[string]string
}

func (p *Platform) validateVersion(in CreateVersionInput) error {
	if err := checkText("model", in.Model, 1, MaxModelChars); err != nil {
		return err
	}
	provider, _, err := llm.SplitModel(in.Model)
	if err != nil {
		return invalid("%s", err.Error())
	}
	if !p.knownProvider(provider) {
		return invalid("model %q names an unknown provider %q (known: %v)", in.Model, provider, p.providers)
	}
	if err := checkText("instructions", in.Instructions, 0, MaxInstructionsChars); err != nil {
		return err
	}
	if t := in.Temperature; t != nil && (*t < 0 || *t > MaxTemperature) {
		return invalid("temperature must be between 0 and %g", MaxTemperature)
	}
	if m := in.MaxOutputTokens; m != nil && (*m < 1 || *m > MaxOutputTokens) {
		return invalid("max_output_tokens must be between 1 and %d", MaxOutputTokens)
	}
	if len(in.Tools) > MaxTools {
		return invalid("tools has %d entries; the limit is %d", len(in.Tools), MaxTools)
	}
	for _, t := range in.Tools {
		if !slices.Contains(p.tools, t) {
			return invalid("tools: unknown tool %q (available: %v)", t, p.tools)
		}
	}
	return checkMetadata(in.Metadata)
}

// CreateVersion adds a draft version to an agent of the principal's org.
func (p *Platform) CreateVersion(ctx context.Context, pr *umami.Principal, agentID string, in CreateVersionInput) (*umami.AgentVersion, error) {
	if err := pr.Require(umami.ScopeAgentsWrite); err != nil {
		return nil, err
	}
	if err := checkUUID("agent_id", agentID); err != nil {
		return nil, err
	}
	if err := p.validateVersion(in); err != nil {
		return nil, err
	}
	tools := in.Tools
	if tools == nil {
		tools = []string{}
	}
	v := &umami.AgentVersion{ID: newID(), AgentID: agentID, OrgID: pr.OrgID, Status: umami.VersionDraft,
		Model: in.Model, Instructions: in.Instructions, Temperature: in.Temperature,
		MaxOutputTokens: in.MaxOutputTokens, Tools: tools, Metadata: emptyIfNil(in.Metadata), CreatedAt: p.Now()}
	err := p.store.Update(ctx, func(tx umami.Tx) error {
		if _, err := tx.GetAgent(ctx, pr.OrgID, agentID); err != nil {
			return err
		}
		return tx.CreateAgentVersion(ctx, v)
	})
	if err != nil {
		return nil, fmt.Errorf("create agent version: %w", err)
	}
	return v, nil
}

// GetVersion returns a version of the principal's org.
func (p *Platform) GetVersion(ctx context.Context, pr *umami.Principal, id string) (v *umami.AgentVersion, err error) {
	if err := pr.Require(umami.ScopeAgentsRead); err != nil {
		return nil, err
	}
	if err := checkUUID("agent_version_id", id); err != nil {
		return nil, err
	}
	err = p.store.View(ctx, func(tx umami.Tx) error {
		v, err = tx.GetAgentVersion(ctx, pr.OrgID, id)
		return err
	})
	return v, err
}

// ListVersions lists an agent's versions, newest first.
func (p *Platform) ListVersions(ctx context.Context, pr *umami.Principal, agentID string, limit int, after string) (List[*umami.AgentVersion], error) {
	var out List[*umami.AgentVersion]
	if err := pr.Require(umami.ScopeAgentsRead); err != nil {
		return out, err
	}
	if err := checkUUID("agent_id", agentID); err != nil {
		return out, err
	}
	pg, err := page(limit, after)
	if err != nil {
		return out, err
	}
	var versions []*umami.AgentVersion
	err = p.store.View(ctx, func(tx umami.Tx) (err error) {
		if _, err := tx.GetAgent(ctx, pr.OrgID, agentID); err != nil {
			return err
		}
		versions, err = tx.ListAgentVersions(ctx, pr.OrgID, agentID, umami.Page{Limit: pg.Limit + 1, After: pg.After})
		return err
	})
	return pageOf(versions, pg.Limit, func(v *umami.AgentVersion) string { return v.ID }), err
}

// PublishVersion publishes a version; publishing a published one returns it unchanged.
func (p *Platform) PublishVersion(ctx context.Context, pr *umami.Principal, id string) (v *umami.AgentVersion, err error) {
	if err := pr.Require(umami.ScopeAgentsWrite); err != nil {
		return nil, err
	}
	if err := checkUUID("agent_version_id", id); err != nil {
		return nil, err
	}
	err = p.store.Update(ctx, func(tx umami.Tx) error {
		if err := tx.PublishAgentVersion(ctx, pr.OrgID, id, p.Now()); err != nil {
			return err
		}
		v, err = tx.GetAgentVersion(ctx, pr.OrgID, id)
		return err
	})
	return v, err
}
