package fakegithub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is the emulator's starting state (app/fakegithub/README.md). Load it with
// ParseScenario or LoadScenario; both reject unknown keys and invalid values
// with an error that names the field.
type Scenario struct {
	App           ScenarioApp            `yaml:"app" json:"app"`
	Apps          []ScenarioOtherApp     `yaml:"apps,omitempty" json:"apps,omitempty"`
	Installations []ScenarioInstallation `yaml:"installations" json:"installations"`
	Repos         []ScenarioRepo         `yaml:"repos" json:"repos"`
	// SecondaryLimits enforces GitHub's documented secondary limits per
	// installation: 80 content-creating requests a minute, 500 an hour, 100
	// concurrent requests (answered 403 with retry-after).
	SecondaryLimits bool `yaml:"secondary_limits,omitempty" json:"secondary_limits,omitempty"`
	// Users can sign in through OAuth (oauth.go).
	Users []ScenarioUser `yaml:"users,omitempty" json:"users,omitempty"`
	// Actions configures the GitHub Actions simulation (mergegroup_actions.go).
	Actions *ScenarioActions `yaml:"actions,omitempty" json:"actions,omitempty"`
}

// ScenarioApp is the GitHub App under test (fix-status itself).
type ScenarioApp struct {
	ID            int64  `yaml:"id" json:"id"`
	Slug          string `yaml:"slug" json:"slug"`
	Name          string `yaml:"name,omitempty" json:"name,omitempty"`
	Owner         string `yaml:"owner,omitempty" json:"owner,omitempty"`
	WebhookSecret string `yaml:"webhook_secret" json:"webhook_secret"`
	// Permissions the app asks for; nil means fix-status's own set
	// (DefaultPermissions).
	Permissions map[string]string `yaml:"permissions,omitempty" json:"permissions,omitempty"`
	Events      []string          `yaml:"events,omitempty" json:"events,omitempty"`
	// ClientID and ClientSecret are the app's OAuth credentials (generated
	// when empty); CallbackURLs, when set, bound where user sign-in may
	// return to.
	ClientID     string   `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientSecret string   `yaml:"client_secret,omitempty" json:"client_secret,omitempty"`
	CallbackURLs []string `yaml:"callback_urls,omitempty" json:"callback_urls,omitempty"`
}

// ScenarioOtherApp names another app (a CI system) whose id appears in check
// runs or required checks, so that responses can show its slug.
type ScenarioOtherApp struct {
	ID   int64  `yaml:"id" json:"id"`
	Slug string `yaml:"slug" json:"slug"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// ScenarioInstallation is one installation of the app on an account.
type ScenarioInstallation struct {
	ID      int64  `yaml:"id" json:"id"`
	Account string `yaml:"account" json:"account"`
	// AccountType is User (default) or Organization; organization accounts
	// answer GET /orgs/{org}/installation and get `organization` in webhooks.
	AccountType string   `yaml:"account_type,omitempty" json:"account_type,omitempty"`
	Repos       []string `yaml:"repos" json:"repos"`
	// RateLimit is the primary REST budget per hour (default 5000).
	RateLimit int `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Permissions granted to this installation; nil means the app's.
	Permissions map[string]string `yaml:"permissions,omitempty" json:"permissions,omitempty"`
}

// ScenarioRepo is one repository.
type ScenarioRepo struct {
	Name          string `yaml:"name" json:"name"`
	DefaultBranch string `yaml:"default_branch,omitempty" json:"default_branch,omitempty"`
	Private       bool   `yaml:"private,omitempty" json:"private,omitempty"`
	// Files holds file contents per branch: {branch: {path: content}}.
	Files         map[string]map[string]string `yaml:"files,omitempty" json:"files,omitempty"`
	Branches      map[string]ScenarioBranch    `yaml:"branches,omitempty" json:"branches,omitempty"`
	Collaborators map[string]string            `yaml:"collaborators,omitempty" json:"collaborators,omitempty"`
	Pulls         []ScenarioPull               `yaml:"pulls,omitempty" json:"pulls,omitempty"`
}

// ScenarioBranch is a branch, its protection and its rules.
type ScenarioBranch struct {
	SHA        string              `yaml:"sha,omitempty" json:"sha,omitempty"`
	Protection *ScenarioProtection `yaml:"protection,omitempty" json:"protection,omitempty"`
	Rules      []ScenarioRule      `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// ScenarioProtection is classic branch protection.
type ScenarioProtection struct {
	RequiredStatusChecks *ScenarioRequiredChecks `yaml:"required_status_checks,omitempty" json:"required_status_checks,omitempty"`
	EnforceAdmins        bool                    `yaml:"enforce_admins,omitempty" json:"enforce_admins,omitempty"`
}

// ScenarioRequiredChecks is protection's required_status_checks.
type ScenarioRequiredChecks struct {
	Strict   bool                    `yaml:"strict" json:"strict"`
	Contexts []string                `yaml:"contexts" json:"contexts"`
	Checks   []ScenarioRequiredCheck `yaml:"checks,omitempty" json:"checks"`
}

// ScenarioRequiredCheck is one required check; a nil AppID (or -1) means any
// source may report it.
type ScenarioRequiredCheck struct {
	Context string `yaml:"context" json:"context"`
	AppID   *int64 `yaml:"app_id" json:"app_id"`
}

// ScenarioRule is one rule that applies to a branch (GET
// /repos/{o}/{r}/rules/branches/{b}). Parameters are passed through as JSON.
type ScenarioRule struct {
	Type           string         `yaml:"type" json:"type"`
	Parameters     map[string]any `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	RulesetID      int64          `yaml:"ruleset_id,omitempty" json:"ruleset_id,omitempty"`
	RulesetSource  string         `yaml:"ruleset_source,omitempty" json:"ruleset_source,omitempty"`
	RulesetSrcType string         `yaml:"ruleset_source_type,omitempty" json:"ruleset_source_type,omitempty"`
}

// ScenarioPull is a pull request with its files and the results reported on
// its head commit.
type ScenarioPull struct {
	Number  int    `yaml:"number" json:"number"`
	Title   string `yaml:"title" json:"title"`
	Body    string `yaml:"body,omitempty" json:"body,omitempty"`
	User    string `yaml:"user" json:"user"`
	Base    string `yaml:"base" json:"base"`
	Head    string `yaml:"head,omitempty" json:"head,omitempty"` // head branch name (default pr-N)
	HeadSHA string `yaml:"head_sha,omitempty" json:"head_sha,omitempty"`
	Draft   bool   `yaml:"draft,omitempty" json:"draft,omitempty"`
	// Fork puts the head in the author's fork (head.repo is
	// <user>/<name>, a fork), as for most PRs of open-source projects.
	Fork bool `yaml:"fork,omitempty" json:"fork,omitempty"`
	// ReviewDecision is what GraphQL's PullRequest.reviewDecision answers:
	// APPROVED, CHANGES_REQUESTED, REVIEW_REQUIRED, or empty (null).
	ReviewDecision string `yaml:"review_decision,omitempty" json:"review_decision,omitempty"`
	State          string `yaml:"state,omitempty" json:"state,omitempty"` // open (default) | closed
	Merged         bool   `yaml:"merged,omitempty" json:"merged,omitempty"`
	Files          []File `yaml:"files,omitempty" json:"files,omitempty"`
	// GeneratedFiles appends that many added files generated/file-NNNNN.txt
	// (to try the 3,000-file limit of the PR files API).
	GeneratedFiles int                `yaml:"generated_files,omitempty" json:"generated_files,omitempty"`
	Statuses       []ScenarioStatus   `yaml:"statuses,omitempty" json:"statuses,omitempty"`
	CheckRuns      []ScenarioCheckRun `yaml:"check_runs,omitempty" json:"check_runs,omitempty"`
	Comments       []ScenarioComment  `yaml:"comments,omitempty" json:"comments,omitempty"`
	CreatedAt      *time.Time         `yaml:"created_at,omitempty" json:"created_at,omitempty"`
}

// File is a changed file of a pull request (or of an event). Content, when
// set, is the file's text at the PR head (served by the contents API).
type File struct {
	Filename         string  `yaml:"filename" json:"filename"`
	Status           string  `yaml:"status" json:"status"`
	PreviousFilename string  `yaml:"previous_filename,omitempty" json:"previous_filename,omitempty"`
	Additions        int     `yaml:"additions,omitempty" json:"additions,omitempty"`
	Deletions        int     `yaml:"deletions,omitempty" json:"deletions,omitempty"`
	Content          *string `yaml:"content,omitempty" json:"content,omitempty"`
}

// ScenarioStatus is a commit status reported on the PR's head.
type ScenarioStatus struct {
	Context     string     `yaml:"context" json:"context"`
	State       string     `yaml:"state" json:"state"`
	Description string     `yaml:"description,omitempty" json:"description,omitempty"`
	TargetURL   string     `yaml:"target_url,omitempty" json:"target_url,omitempty"`
	Creator     string     `yaml:"creator,omitempty" json:"creator,omitempty"`
	CreatedAt   *time.Time `yaml:"created_at,omitempty" json:"created_at,omitempty"`
}

// ScenarioCheckRun is a check run on the PR's head. AppID defaults to GitHub
// Actions (15368). Workflow, when set, groups the run into a GitHub Actions
// workflow run of that name (listed by GET /repos/{o}/{r}/actions/runs).
type ScenarioCheckRun struct {
	Name       string     `yaml:"name" json:"name"`
	Status     string     `yaml:"status,omitempty" json:"status,omitempty"`
	Conclusion string     `yaml:"conclusion,omitempty" json:"conclusion,omitempty"`
	AppID      int64      `yaml:"app_id,omitempty" json:"app_id,omitempty"`
	Workflow   string     `yaml:"workflow,omitempty" json:"workflow,omitempty"`
	DetailsURL string     `yaml:"details_url,omitempty" json:"details_url,omitempty"`
	StartedAt  *time.Time `yaml:"started_at,omitempty" json:"started_at,omitempty"`
}

// ScenarioComment is an issue comment on the PR.
type ScenarioComment struct {
	User string `yaml:"user" json:"user"`
	Body string `yaml:"body" json:"body"`
}

// GitHubActionsAppID is the id of the GitHub Actions app on github.com.
const GitHubActionsAppID = 15368

// DefaultPermissions are the permissions fix-status asks for (docs/github.md).
func DefaultPermissions() map[string]string {
	return map[string]string{
		"metadata":       "read",
		"merge_queues":   "read",
		"contents":       "read",
		"pull_requests":  "write",
		"statuses":       "write",
		"checks":         "write",
		"administration": "read",
		"actions":        "write",
		"issues":         "write",
	}
}

// defaultEvents are the events fix-status subscribes to, for an app whose
// scenario names none.
func defaultEvents() []string {
	return []string{"check_run", "check_suite", "issue_comment", "pull_request", "push", "status",
		"branch_protection_rule", "repository_ruleset", "merge_group"}
}

// LoadScenario reads and parses a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes a scenario strictly and validates it. Errors name the
// field, e.g. `repos[0].pulls[1].base: branch "dev" is not in repos[0].branches`.
func ParseScenario(data []byte) (*Scenario, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty scenario")
		}
		return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 1 {
		if err := checkKeys(root.Content[0], reflect.TypeOf(Scenario{}), ""); err != nil {
			return nil, err
		}
	}
	var sc Scenario
	if err := root.Decode(&sc); err != nil {
		return nil, fmt.Errorf("invalid scenario: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := sc.validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// checkKeys walks the YAML tree beside the Go type and reports the first
// unknown key or mistyped value with its path, which go.yaml.in/yaml/v3's own errors
// cannot do.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	want := func(what string) error {
		return fmt.Errorf("%s: want %s (line %d)", orRoot(path), what, n.Line)
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) {
			var v time.Time
			if n.Decode(&v) != nil {
				return want("a timestamp like 2024-01-02T15:04:05Z")
			}
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return want("a mapping")
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				known := make([]string, 0, len(fields))
				for k := range fields {
					known = append(known, k)
				}
				sort.Strings(known)
				return fmt.Errorf("%s: unknown key %q (line %d; known keys: %s)",
					orRoot(path), key, n.Content[i].Line, strings.Join(known, ", "))
			}
			if err := checkKeys(n.Content[i+1], ft, join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return want("a list")
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return want("a mapping")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Int, reflect.Int64:
		var v int64
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			return want("a whole number")
		}
	case reflect.Bool:
		var v bool
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			return want("true or false")
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return want("a string")
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "scenario"
	}
	return path
}

var (
	shaRE      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	loginRE    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$`)
	repoNameRE = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
)

var (
	fileStatuses        = set("added", "removed", "modified", "renamed", "copied", "changed", "unchanged")
	statusStates        = set("error", "failure", "pending", "success")
	checkStatuses       = set("queued", "in_progress", "completed", "waiting", "requested", "pending")
	checkConclusion     = set("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale")
	rulesWithParameters = set("merge_queue", "required_deployments", "pull_request", "required_status_checks",
		"commit_message_pattern", "commit_author_email_pattern", "committer_email_pattern", "branch_name_pattern",
		"tag_name_pattern", "workflows", "code_scanning", "file_path_restriction", "max_file_path_length",
		"file_extension_restriction", "max_file_size")
	permLevels  = set("read", "write", "admin")
	collabRoles = set("admin", "maintain", "write", "triage", "read")
	ruleTypes   = set("creation", "update", "deletion", "required_linear_history", "merge_queue",
		"required_deployments", "required_signatures", "pull_request", "required_status_checks",
		"non_fast_forward", "commit_message_pattern", "commit_author_email_pattern",
		"committer_email_pattern", "branch_name_pattern", "tag_name_pattern", "workflows",
		"code_scanning", "copilot_code_review", "license_compliance_scanning",
		"file_path_restriction", "max_file_path_length", "file_extension_restriction", "max_file_size")
)

func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func keys(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// maxDescription is GitHub's limit on a commit status description.
const maxDescription = 140

func (sc *Scenario) validate() error {
	a := &sc.App
	switch {
	case a.ID <= 0:
		return errors.New("app.id: missing or not positive")
	case a.Slug == "":
		return errors.New("app.slug: missing")
	case !loginRE.MatchString(a.Slug):
		return fmt.Errorf("app.slug: %q is not a valid app slug", a.Slug)
	case a.WebhookSecret == "":
		return errors.New("app.webhook_secret: missing (webhooks are signed with it)")
	}
	if err := checkPerms("app.permissions", a.Permissions); err != nil {
		return err
	}
	if err := sc.validateWeb(); err != nil {
		return err
	}
	appIDs := map[int64]string{a.ID: "app.id"}
	for i, o := range sc.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		if o.ID <= 0 {
			return fmt.Errorf("%s.id: missing or not positive", p)
		}
		if prev, ok := appIDs[o.ID]; ok {
			return fmt.Errorf("%s.id: %d is already used by %s", p, o.ID, prev)
		}
		appIDs[o.ID] = p + ".id"
		if o.Slug == "" {
			return fmt.Errorf("%s.slug: missing", p)
		}
	}

	repos := map[string]int{}
	for i := range sc.Repos {
		if err := sc.Repos[i].validate(i, repos); err != nil {
			return err
		}
	}
	appPerms := appPermissions(a.Permissions)
	instIDs := map[int64]bool{}
	accounts := map[string]bool{}
	installedRepo := map[string]int64{}
	for i, in := range sc.Installations {
		p := fmt.Sprintf("installations[%d]", i)
		if in.ID <= 0 {
			return fmt.Errorf("%s.id: missing or not positive", p)
		}
		if instIDs[in.ID] {
			return fmt.Errorf("%s.id: installation %d is defined twice", p, in.ID)
		}
		instIDs[in.ID] = true
		if in.Account == "" || !loginRE.MatchString(in.Account) {
			return fmt.Errorf("%s.account: %q is not a valid account login", p, in.Account)
		}
		if accounts[strings.ToLower(in.Account)] {
			return fmt.Errorf("%s.account: the app is already installed on %q (one installation per account)", p, in.Account)
		}
		accounts[strings.ToLower(in.Account)] = true
		if in.AccountType != "" && in.AccountType != "User" && in.AccountType != "Organization" {
			return fmt.Errorf("%s.account_type: %q is not User or Organization", p, in.AccountType)
		}
		if in.RateLimit < 0 {
			return fmt.Errorf("%s.rate_limit: %d is negative", p, in.RateLimit)
		}
		if err := checkPerms(p+".permissions", in.Permissions); err != nil {
			return err
		}
		if err := checkInstallationPerms(p+".permissions", withMetadata(in.Permissions), appPerms); err != nil {
			return err
		}
		for j, r := range in.Repos {
			rp := fmt.Sprintf("%s.repos[%d]", p, j)
			if _, ok := repos[strings.ToLower(r)]; !ok {
				return fmt.Errorf("%s: repo %q is not in repos", rp, r)
			}
			owner, _, _ := strings.Cut(r, "/")
			if !strings.EqualFold(owner, in.Account) {
				return fmt.Errorf("%s: repo %q does not belong to the installation's account %q", rp, r, in.Account)
			}
			if other, ok := installedRepo[strings.ToLower(r)]; ok {
				return fmt.Errorf("%s: repo %q is already in installation %d", rp, r, other)
			}
			installedRepo[strings.ToLower(r)] = in.ID
		}
	}
	return nil
}

func checkPerms(path string, perms map[string]string) error {
	for k, v := range perms {
		if !permLevels[v] {
			return fmt.Errorf("%s.%s: %q is not one of read, write, admin", path, k, v)
		}
	}
	return nil
}

func (r *ScenarioRepo) validate(i int, seen map[string]int) error {
	p := fmt.Sprintf("repos[%d]", i)
	if !repoNameRE.MatchString(r.Name) {
		return fmt.Errorf("%s.name: %q is not OWNER/REPO", p, r.Name)
	}
	if j, ok := seen[strings.ToLower(r.Name)]; ok {
		return fmt.Errorf("%s.name: %q is already defined by repos[%d]", p, r.Name, j)
	}
	seen[strings.ToLower(r.Name)] = i
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.Branches == nil {
		r.Branches = map[string]ScenarioBranch{}
	}
	if _, ok := r.Branches[r.DefaultBranch]; !ok {
		if len(r.Branches) > 0 {
			return fmt.Errorf("%s.default_branch: branch %q is not in %s.branches", p, r.DefaultBranch, p)
		}
		r.Branches[r.DefaultBranch] = ScenarioBranch{}
	}
	for name, b := range r.Branches {
		bp := fmt.Sprintf("%s.branches.%s", p, name)
		if name == "" || strings.ContainsAny(name, " ~^:?*[\\") {
			return fmt.Errorf("%s: %q is not a valid branch name", bp, name)
		}
		if b.SHA != "" && !shaRE.MatchString(b.SHA) {
			return fmt.Errorf("%s.sha: %q is not a 40-character hex SHA", bp, b.SHA)
		}
		if b.Protection != nil && b.Protection.RequiredStatusChecks != nil {
			for j, c := range b.Protection.RequiredStatusChecks.Checks {
				if c.Context == "" {
					return fmt.Errorf("%s.protection.required_status_checks.checks[%d].context: missing", bp, j)
				}
			}
			for j, c := range b.Protection.RequiredStatusChecks.Contexts {
				if c == "" {
					return fmt.Errorf("%s.protection.required_status_checks.contexts[%d]: empty", bp, j)
				}
			}
		}
		for j, rule := range b.Rules {
			if err := validateRule(fmt.Sprintf("%s.rules[%d]", bp, j), rule); err != nil {
				return err
			}
		}
	}
	for branch := range r.Files {
		if _, ok := r.Branches[branch]; !ok {
			return fmt.Errorf("%s.files.%s: branch %q is not in %s.branches", p, branch, branch, p)
		}
	}
	for login, role := range r.Collaborators {
		if !loginRE.MatchString(login) {
			return fmt.Errorf("%s.collaborators.%s: not a valid login", p, login)
		}
		if !collabRoles[role] {
			return fmt.Errorf("%s.collaborators.%s: %q is not one of %s", p, login, role, keys(collabRoles))
		}
	}
	nums := map[int]bool{}
	for j := range r.Pulls {
		if err := r.Pulls[j].validate(fmt.Sprintf("%s.pulls[%d]", p, j), p, r, nums); err != nil {
			return err
		}
	}
	return nil
}

// validateRule checks a rule (for scenarios and repository_ruleset events).
func validateRule(p string, rule ScenarioRule) error {
	if !ruleTypes[rule.Type] {
		return fmt.Errorf("%s.type: %q is not a rule type GitHub knows", p, rule.Type)
	}
	if rule.Parameters == nil && rulesWithParameters[rule.Type] {
		return fmt.Errorf("%s.parameters: missing (GitHub always sends parameters with a %s rule)", p, rule.Type)
	}
	if rule.Type == "merge_queue" {
		return validateMergeQueueRule(p, rule.Parameters)
	}
	if rule.Type != "required_status_checks" {
		return nil
	}
	checks, ok := rule.Parameters["required_status_checks"].([]any)
	if !ok {
		return fmt.Errorf("%s.parameters.required_status_checks: missing (a list of {context, integration_id})", p)
	}
	for k, c := range checks {
		m, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.parameters.required_status_checks[%d]: not a mapping", p, k)
		}
		if s, _ := m["context"].(string); s == "" {
			return fmt.Errorf("%s.parameters.required_status_checks[%d].context: missing", p, k)
		}
		for key := range m {
			if key != "context" && key != "integration_id" {
				return fmt.Errorf("%s.parameters.required_status_checks[%d]: unknown key %q", p, k, key)
			}
		}
	}
	return nil
}

func (pr *ScenarioPull) validate(p, rp string, r *ScenarioRepo, nums map[int]bool) error {
	if pr.Number <= 0 {
		return fmt.Errorf("%s.number: missing or not positive", p)
	}
	if nums[pr.Number] {
		return fmt.Errorf("%s.number: pull request #%d is defined twice", p, pr.Number)
	}
	nums[pr.Number] = true
	if pr.Title == "" {
		return fmt.Errorf("%s.title: missing", p)
	}
	if !loginRE.MatchString(pr.User) {
		return fmt.Errorf("%s.user: %q is not a valid login", p, pr.User)
	}
	if pr.Base == "" {
		return fmt.Errorf("%s.base: missing", p)
	}
	if owner, _, _ := strings.Cut(r.Name, "/"); pr.Fork && strings.EqualFold(owner, pr.User) {
		return fmt.Errorf("%s.fork: %s cannot fork their own repository", p, pr.User)
	}
	if _, ok := r.Branches[pr.Base]; !ok {
		return fmt.Errorf("%s.base: branch %q is not in %s.branches", p, pr.Base, rp)
	}
	if pr.HeadSHA != "" && !shaRE.MatchString(pr.HeadSHA) {
		return fmt.Errorf("%s.head_sha: %q is not a 40-character hex SHA", p, pr.HeadSHA)
	}
	switch pr.State {
	case "":
		pr.State = "open"
	case "open", "closed":
	default:
		return fmt.Errorf("%s.state: %q is not open or closed", p, pr.State)
	}
	if pr.Merged && pr.State != "closed" {
		return fmt.Errorf("%s.merged: a merged pull request must have state closed", p)
	}
	if err := validateFiles(p+".files", pr.Files); err != nil {
		return err
	}
	switch pr.ReviewDecision {
	case "", "APPROVED", "CHANGES_REQUESTED", "REVIEW_REQUIRED":
	default:
		return fmt.Errorf("%s.review_decision: %q is not one of APPROVED, CHANGES_REQUESTED, REVIEW_REQUIRED", p, pr.ReviewDecision)
	}
	if pr.GeneratedFiles < 0 || pr.GeneratedFiles > 100000 {
		return fmt.Errorf("%s.generated_files: %d is not between 0 and 100000", p, pr.GeneratedFiles)
	}
	for k, s := range pr.Statuses {
		sp := fmt.Sprintf("%s.statuses[%d]", p, k)
		if s.Context == "" {
			return fmt.Errorf("%s.context: missing", sp)
		}
		if !statusStates[s.State] {
			return fmt.Errorf("%s.state: %q is not one of %s", sp, s.State, keys(statusStates))
		}
		if len([]rune(s.Description)) > maxDescription {
			return fmt.Errorf("%s.description: longer than %d characters", sp, maxDescription)
		}
	}
	for k := range pr.CheckRuns {
		if err := validateCheckRun(fmt.Sprintf("%s.check_runs[%d]", p, k), &pr.CheckRuns[k]); err != nil {
			return err
		}
	}
	for k, c := range pr.Comments {
		if !loginRE.MatchString(c.User) {
			return fmt.Errorf("%s.comments[%d].user: %q is not a valid login", p, k, c.User)
		}
	}
	return nil
}

func validateFiles(p string, files []File) error {
	for k, f := range files {
		fp := fmt.Sprintf("%s[%d]", p, k)
		if f.Filename == "" {
			return fmt.Errorf("%s.filename: missing", fp)
		}
		if !fileStatuses[f.Status] {
			return fmt.Errorf("%s.status: %q is not one of %s", fp, f.Status, keys(fileStatuses))
		}
		if (f.Status == "renamed" || f.Status == "copied") != (f.PreviousFilename != "") {
			return fmt.Errorf("%s.previous_filename: set it exactly when status is renamed or copied", fp)
		}
	}
	return nil
}

func validateCheckRun(p string, c *ScenarioCheckRun) error {
	if c.Name == "" {
		return fmt.Errorf("%s.name: missing", p)
	}
	if c.Status == "" {
		if c.Conclusion != "" {
			c.Status = "completed"
		} else {
			c.Status = "queued"
		}
	}
	if !checkStatuses[c.Status] {
		return fmt.Errorf("%s.status: %q is not one of %s", p, c.Status, keys(checkStatuses))
	}
	if c.Conclusion != "" && !checkConclusion[c.Conclusion] {
		return fmt.Errorf("%s.conclusion: %q is not one of %s", p, c.Conclusion, keys(checkConclusion))
	}
	if (c.Status == "completed") != (c.Conclusion != "") {
		return fmt.Errorf("%s.conclusion: set it exactly when status is completed", p)
	}
	if c.AppID == 0 {
		c.AppID = GitHubActionsAppID
	}
	if c.AppID < 0 {
		return fmt.Errorf("%s.app_id: %d is negative", p, c.AppID)
	}
	if !checkStatusAllowed(c.AppID, c.Status) {
		return fmt.Errorf("%s.status: %q is only for GitHub Actions (app %d); other apps use queued, in_progress or completed", p, c.Status, GitHubActionsAppID)
	}
	return nil
}
