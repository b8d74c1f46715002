package platform

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/umamiai/umami"
)

// Demo is what CreateDemo made: everything the developer guide's
// prerequisites ask for.
type Demo struct {
	Org      *umami.Org
	Email    string
	Password string
	Version  *umami.AgentVersion
	Key      *NewKey
}

// CreateDemo creates an org with an owner user, an agent with a published
// version on model, and an API key with every scope.
func (p *Platform) CreateDemo(ctx context.Context, model string) (*Demo, error) {
	org, err := p.CreateOrg(ctx, "Demo")
	if err != nil {
		return nil, err
	}
	d := &Demo{Org: org, Email: "owner@demo.local", Password: rand.Text()}
	if _, err := p.CreateUser(ctx, org.ID, d.Email, d.Password, RoleOwner); err != nil {
		return nil, err
	}
	if d.Key, err = p.CreateKey(ctx, org.ID, "demo", []umami.Scope{umami.ScopeAll}, 0); err != nil {
		return nil, err
	}
	pr := d.Key.Key.Principal()
	agent, err := p.CreateAgent(ctx, pr, CreateAgentInput{OrgID: org.ID, Name: "Demo agent",
		Description: "Created by umami serve --demo."})
	if err != nil {
		return nil, err
	}
	v, err := p.CreateVersion(ctx, pr, agent.ID, CreateVersionInput{Model: model,
		Instructions: "You are a concise assistant for incident communication."})
	if err != nil {
		return nil, err
	}
	if d.Version, err = p.PublishVersion(ctx, pr, v.ID); err != nil {
		return nil, fmt.Errorf("publish demo version: %w", err)
	}
	return d, nil
}
