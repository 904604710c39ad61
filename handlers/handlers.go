// Package handlers holds one thin go-githubapp event handler per webhook
// event fix-status reacts to. Each decodes the payload into its go-github
// type, ignores actions that do not matter, and makes one call into app.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app"
)

// All returns every handler, in one list for the dispatcher.
func All(svc *app.Service, m *app.Metrics) []githubapp.EventHandler {
	b := base{svc: svc, metrics: m}
	return []githubapp.EventHandler{
		&PullRequest{b}, &IssueComment{b}, &Push{b}, &Status{b}, &CheckRun{b}, &CheckSuite{b},
		&BranchProtectionRule{b}, &RepositoryRuleset{b}, &Installation{b}, &InstallationRepositories{b},
	}
}

// base is what every handler shares.
type base struct {
	svc     *app.Service
	metrics *app.Metrics
}

// decode unmarshals a payload, counts the event and prepares the logger.
func (b base) decode(ctx context.Context, eventType string, payload []byte, into any) (context.Context, error) {
	if err := json.Unmarshal(payload, into); err != nil {
		return ctx, fmt.Errorf("failed to parse %s event payload: %w", eventType, err)
	}
	// The action comes from the decoded event: parsing a payload (tens of
	// kilobytes) a second time for it doubled the cost of every delivery.
	name := eventType
	if a, ok := into.(interface{ GetAction() string }); ok && a.GetAction() != "" {
		name += "." + a.GetAction()
	}
	b.metrics.Event(name)
	logger := zerolog.Ctx(ctx).With().Str("event", name).Logger()
	return logger.WithContext(ctx), nil
}

// requireRepo rejects a payload that names no repository or installation:
// such a payload is malformed (GitHub sends both to an app), and checking it
// could only fail later with a less clear message.
func requireRepo(eventType, owner, repo string, installationID int64) error {
	if owner == "" || repo == "" || installationID == 0 {
		return fmt.Errorf("%s event without repository or installation: malformed payload ignored", eventType)
	}
	return nil
}
