// Package appinfo is the GitHub App's identity: the one list of the
// permissions and webhook events fix-status asks for, from which the
// manifest of `fix-status register` is built. app.yml and the README's
// list are checked against it by tests, and the handlers' events too.
package appinfo

import (
	"strings"

	"github.com/palantir/go-githubapp/githubapp"
)

// Homepage is the app's homepage URL in its manifest.
const Homepage = "https://github.com/fix-status/fix-status"

// DefaultName is the app's name when the operator does not choose one.
const DefaultName = "fix-status"

// Description is the app's description in its manifest.
const Description = "Repairs pull requests stuck on required status checks that will never be reported."

// Permission is one repository permission the app asks for.
type Permission struct {
	// Key is the manifest's name of the permission (pull_requests).
	Key string
	// Title is what GitHub's settings page calls it (Pull requests).
	Title string
	// Level is read or write.
	Level string
	// Why says what fix-status does with it.
	Why string
}

// Event is one webhook event the app subscribes to.
type Event struct {
	Name string
	// Why says what fix-status does when it arrives.
	Why string
}

// permissions is the list; Permissions hands out copies.
var permissions = []Permission{
	{"metadata", "Metadata", "read", "every app has it: repositories, branches, rulesets"},
	{"contents", "Contents", "read", "the rule files on the base branch (repo config, workflows, Prow jobs)"},
	{"pull_requests", "Pull requests", "write", "a PR's changed files; replies and re-trigger comments"},
	{"statuses", "Commit statuses", "write", "read what was reported; post the skipped results"},
	{"checks", "Checks", "write", "read check runs; post skipped check runs; re-request check suites"},
	{"issues", "Issues", "write", "reply to /fix-status and post re-trigger comments (PR comments are issue comments)"},
	{"administration", "Administration", "read", "classic branch protection and its events (optional: rulesets are read without it)"},
	{"actions", "Actions", "write", "re-run GitHub Actions workflows that should have reported (optional)"},
	{"merge_queues", "Merge queues", "read", "the merge_group event and a branch's merge queue"},
}

// events is the list; Events hands out copies.
var events = []Event{
	{"pull_request", "a PR opened, reopened, pushed to, marked ready, or moved to another base: check it"},
	{"issue_comment", "the /fix-status command"},
	{"push", "rule files changed on a branch: check its open PRs again"},
	{"status", "another sender reported a status: check the PRs of that commit"},
	{"check_run", "another app reported a check run: check the PRs of that commit"},
	{"check_suite", "a check suite completed or was re-requested: check its PRs"},
	{"branch_protection_rule", "classic protection changed: the required contexts may have"},
	{"repository_ruleset", "a ruleset changed: the required contexts may have"},
	{"merge_group", "a merge queue asks for the checks of a merge group"},
}

// alwaysDelivered are the events GitHub sends every GitHub App without a
// subscription; a manifest cannot name them.
var alwaysDelivered = []string{"installation", "installation_repositories"}

// Permissions lists the permissions the app asks for, in the README's order.
func Permissions() []Permission { return append([]Permission(nil), permissions...) }

// Events lists the events the app subscribes to, in the README's order.
func Events() []Event { return append([]Event(nil), events...) }

// AlwaysDelivered lists the events every GitHub App receives unasked.
func AlwaysDelivered() []string { return append([]string(nil), alwaysDelivered...) }

// DefaultPermissions is the manifest's default_permissions.
func DefaultPermissions() map[string]string {
	out := make(map[string]string, len(permissions))
	for _, p := range permissions {
		out[p.Key] = p.Level
	}
	return out
}

// DefaultEvents is the manifest's default_events.
func DefaultEvents() []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Name
	}
	return out
}

// Manifest is a GitHub App manifest (GitHub's "Registering a GitHub App from
// a manifest"), as the browser posts it and as app.yml writes it.
type Manifest struct {
	Name               string            `json:"name" yaml:"name"`
	URL                string            `json:"url" yaml:"url"`
	Description        string            `json:"description,omitempty" yaml:"description,omitempty"`
	HookAttributes     *HookAttributes   `json:"hook_attributes,omitempty" yaml:"hook_attributes,omitempty"`
	RedirectURL        string            `json:"redirect_url,omitempty" yaml:"redirect_url,omitempty"`
	CallbackURLs       []string          `json:"callback_urls,omitempty" yaml:"callback_urls,omitempty"`
	Public             bool              `json:"public" yaml:"public"`
	DefaultPermissions map[string]string `json:"default_permissions" yaml:"default_permissions"`
	DefaultEvents      []string          `json:"default_events" yaml:"default_events"`
}

// HookAttributes is where GitHub sends the app's webhooks.
type HookAttributes struct {
	URL string `json:"url" yaml:"url"`
}

// Paths of the server that GitHub is sent to: the webhook route (the one
// go-githubapp's dispatcher serves by default) and the OAuth callback of
// the user login to the details pages.
const (
	HookPath          = githubapp.DefaultWebhookRoute
	OAuthCallbackPath = "/oauth/callback"
)

// ManifestFor is fix-status's manifest for an app called name, whose
// server GitHub reaches at publicURL ("" when it is not known yet: the app
// is then created with its webhook off and no user login), and whose
// registration ends at redirectURL.
func ManifestFor(name, publicURL, redirectURL string) Manifest {
	m := Manifest{Name: name, URL: Homepage, Description: Description, RedirectURL: redirectURL,
		DefaultPermissions: DefaultPermissions(), DefaultEvents: DefaultEvents()}
	if publicURL = strings.TrimRight(publicURL, "/"); publicURL != "" {
		m.HookAttributes = &HookAttributes{URL: publicURL + HookPath}
		m.CallbackURLs = []string{publicURL + OAuthCallbackPath}
	}
	return m
}
