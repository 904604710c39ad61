package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/backfill"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
	"github.com/fix-status/fix-status/config"
)

type auditFlags struct {
	config     string
	repos      []string
	orgs       []string
	branch     string
	required   []string
	prow       []string
	workflows  string
	repoConfig string
	output     string
	failOn     []string
}

func newAuditCmd() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit (--config SERVER_CONFIG [--repo OWNER/REPO]... [--org ORG]... | --repo OWNER/REPO --branch BRANCH --required CONTEXT[,CONTEXT]...)",
		Short: "Judge the required checks of protected branches against the CI's own job rules",
		Long: `audit says, for every required context of every protected branch (classic
protection and rulesets), how pull requests to that branch fare: always (a job
reports it on every PR), conditional (only for some changes: PRs wait unless
fix-status repairs them), manual (every PR waits for a person), not_on_branch,
orphaned (no job reports it: every PR is blocked), pinned_elsewhere (pinned to an
app that does not report it) or unknown; and whether a merge queue runs it, has it
repaired by fix-status, or stalls on it.

With --config it reads GitHub as the app: the chosen repositories (every
installed one without --repo or --org), the rules on each protected branch as a
PR to it is judged. With --required it needs no GitHub: the given contexts of
one branch against local rule files (as eval reads them), answering for a merge
queue as if the branch had one.

It exits 1 when a required context's class is in --fail-on.`,
		Example: `  fix-status audit --config /etc/fix-status/config.yaml --org kubernetes --output markdown
  fix-status audit --repo kubernetes/kubernetes --branch master --prow-config examples/prow \
      --required pull-kubernetes-verify,pull-kubernetes-e2e-gce,pull-kubernetes-bazel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "server config file: audit GitHub as the app")
	fl.StringArrayVar(&f.repos, "repo", nil, "a repository, OWNER/REPO (repeatable online; the one repository offline)")
	fl.StringArrayVar(&f.orgs, "org", nil, "every repository of an organisation or user the app is installed on (repeatable, online)")
	fl.StringVar(&f.branch, "branch", "", "the protected branch (offline)")
	fl.StringArrayVar(&f.required, "required", nil, "required contexts, comma-separated (repeatable, offline)")
	fl.StringArrayVar(&f.prow, "prow-config", nil, "Prow job config file or directory (repeatable, offline)")
	fl.StringVar(&f.workflows, "workflows", "", "a .github/workflows directory (offline)")
	fl.StringVar(&f.repoConfig, "repo-config", "", "a .github/fix-status.yml file (offline)")
	fl.StringVar(&f.output, "output", "text", "output format: text, json or markdown")
	fl.StringArrayVar(&f.failOn, "fail-on", []string{joinFailOn(audit.DefaultFailOn)}, "classes that make audit exit 1, comma-separated (none: never)")
	return cmd
}

func joinFailOn(cs []rules.Class) string { return strings.Join(audit.ClassNames(cs), ",") }

func runAudit(ctx context.Context, stdout, stderr io.Writer, f auditFlags) error {
	write, ok := auditWriters[f.output]
	if !ok {
		return fmt.Errorf("--output: %q is not text, json or markdown", f.output)
	}
	failOn, err := audit.ParseFailOn(f.failOn)
	if err != nil {
		return fmt.Errorf("--fail-on: %w", err)
	}
	var repos []*audit.RepoReport
	var failures []error
	if f.config != "" {
		repos, failures, err = auditOnline(ctx, f)
	} else {
		repos, failures, err = auditOffline(f)
	}
	if err != nil {
		return err
	}
	rep := audit.NewReport(repos, failOn)
	if err := write(stdout, rep); err != nil {
		return err
	}
	for _, fe := range failures {
		fmt.Fprintln(stderr, fe)
	}
	var errs []error
	if len(failures) > 0 {
		errs = append(errs, fmt.Errorf("%d problem(s) kept parts from being audited", len(failures)))
	}
	if rep.Findings > 0 {
		errs = append(errs, fmt.Errorf("%d finding(s) of class %s", rep.Findings, joinFailOn(failOn)))
	}
	return errors.Join(errs...)
}

var auditWriters = map[string]func(io.Writer, *audit.Report) error{
	"text": audit.WriteText, "json": audit.WriteJSON, "markdown": audit.WriteMarkdown,
}

// auditOnline audits the chosen repositories as the app; a repository that
// cannot be found or read is a failure, and the rest goes on.
func auditOnline(ctx context.Context, f auditFlags) ([]*audit.RepoReport, []error, error) {
	if f.branch != "" || len(f.required) > 0 || len(f.prow) > 0 || f.workflows != "" || f.repoConfig != "" {
		return nil, nil, errors.New("--branch, --required, --prow-config, --workflows and --repo-config are for the offline audit, without --config")
	}
	cfg, err := config.LoadServer(f.config)
	if err != nil {
		return nil, nil, err
	}
	w, err := wire(ctx, cfg, wireOptions{logOut: io.Discard})
	if err != nil {
		return nil, nil, err
	}
	selected, fails := backfill.SelectRepos(ctx, w.clients, f.repos, f.orgs)
	var failures []error
	for _, fl := range fails {
		failures = append(failures, fmt.Errorf("%s: %w", fl.Repo, fl.Err))
	}
	repos, errs := auditRepos(ctx, w, selected)
	return repos, append(failures, errs...), nil
}

// auditRepos audits each repository with the app's installation client.
func auditRepos(ctx context.Context, w *wired, repos []plan.RepoRef) ([]*audit.RepoReport, []error) {
	var out []*audit.RepoReport
	var errs []error
	for _, repo := range repos {
		c, err := w.clients.NewInstallationClient(repo.InstallationID)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: failed to create a client for installation %d: %w", repo.FullRepo(), repo.InstallationID, err))
			continue
		}
		rr, err := audit.Repo(ctx, c, w.loader, repo, w.appID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, rr)
	}
	return out, errs
}

// auditOffline judges the --required contexts of one branch against local
// rules, as eval reads them; workflow files that cannot be parsed are
// failures (their jobs are unknown) and the rest is judged.
func auditOffline(f auditFlags) ([]*audit.RepoReport, []error, error) {
	switch {
	case len(f.orgs) > 0:
		return nil, nil, errors.New("--org needs --config")
	case len(f.repos) != 1 || !strings.Contains(f.repos[0], "/"):
		return nil, nil, errors.New("without --config, give one --repo OWNER/REPO, --branch and --required")
	case f.branch == "":
		return nil, nil, errors.New("--branch: required without --config")
	}
	var required []plan.RequiredCheck
	for _, v := range f.required {
		for _, c := range splitContexts(v) {
			required = append(required, plan.RequiredCheck{Context: c, From: "--required"})
		}
	}
	if len(required) == 0 {
		return nil, nil, errors.New("--required: give the branch's required contexts")
	}
	repo := f.repos[0]
	rs, err := sources.LoadLocal(sources.LocalSources{Repo: repo, ProwConfig: f.prow, Workflows: f.workflows, RepoConfig: f.repoConfig})
	if err != nil {
		return nil, nil, err
	}
	judged := audit.Rules{Jobs: rs.Jobs}
	if rs.Config != nil {
		judged.CarryPRResults = rs.Config.MergeQueue.CarryPRResults
	}
	b := audit.Branch(audit.BranchInput{Repo: repo, Branch: f.branch, Required: required, Rules: judged, MergeQueue: true})
	return []*audit.RepoReport{{Repo: repo, Branches: []audit.BranchReport{b}}}, rs.FileErrors, nil
}

// splitContexts splits a --required value at its commas, except those
// inside parentheses: GitHub Actions names matrix jobs "test (3.13, core)".
func splitContexts(v string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '(':
			depth++
		case ')':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				out = appendContext(out, v[start:i])
				start = i + 1
			}
		}
	}
	return appendContext(out, v[start:])
}

func appendContext(out []string, c string) []string {
	if c = strings.TrimSpace(c); c != "" {
		out = append(out, c)
	}
	return out
}
