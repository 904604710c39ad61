// Package handlers holds one thin go-githubapp event handler per webhook
// event fix-status reacts to. Each decodes the payload into its go-github
// type, ignores actions that do not matter, and makes one call into app.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/serve"
)

// All returns every handler, in one list for the dispatcher.
func All(svc *serve.Service, m *metrics.Metrics) []githubapp.EventHandler {
	b := base{svc: svc, metrics: m}
	return []githubapp.EventHandler{
		&PullRequest{b}, &IssueComment{b}, &Push{b}, &Status{b}, &CheckRun{b}, &CheckSuite{b},
		&BranchProtectionRule{b}, &RepositoryRuleset{b}, &Installation{b}, &InstallationRepositories{b}, &MergeGroup{b},
	}
}

// base is what every handler shares.
type base struct {
	svc     *serve.Service
	metrics *metrics.Metrics
}

// ErrMalformed marks a payload that cannot be what GitHub sends: it is
// answered 400, and nothing is done.
var ErrMalformed = errors.New("malformed payload")

// decode unmarshals a payload, counts the event and prepares the logger.
func (b base) decode(ctx context.Context, eventType string, payload []byte, into any) (context.Context, error) {
	if err := json.Unmarshal(payload, into); err != nil {
		return ctx, fmt.Errorf("failed to parse %s event payload: %w (%w)", eventType, err, ErrMalformed)
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

// namedRepo is a repository of a payload: a push has its own type for it.
type namedRepo interface {
	GetOwner() *github.User
	GetName() string
}

// malformed is the error of a payload that lacks what its event needs
// (lack: "without installation").
func malformed(eventType, lack string) error {
	return fmt.Errorf("%s event %s: %w ignored", eventType, lack, ErrMalformed)
}

// repoOf names the repository and installation of an event. It rejects a
// payload that names neither: such a payload is malformed (GitHub sends both
// to an app), and checking it could only fail later with a less clear
// message.
func repoOf(eventType string, repo namedRepo, installationID int64) (plan.RepoRef, error) {
	ref := plan.RepoRef{InstallationID: installationID, Owner: repo.GetOwner().GetLogin(), Repo: repo.GetName()}
	if ref.Owner == "" || ref.Repo == "" || installationID == 0 {
		return ref, malformed(eventType, "without repository or installation")
	}
	return ref, nil
}
