// Package sources decides which job rules judge a pull request: the repo
// config (.github/fix-status.yml on the base branch, or the owner's default),
// the GitHub Actions workflows and Prow job configs it names, its explicit
// rules, and the server's central Prow config. It also owns the one list of
// the files that define jobs.
package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/rules/actions"
	"github.com/fix-status/fix-status/app/rules/explicit"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

// WorkflowsDir is where GitHub Actions workflows live in a repository.
const WorkflowsDir = ".github/workflows"

// DefaultRepoConfig applies to a repository without .github/fix-status.yml:
// its GitHub Actions workflows are the only in-repository source.
func DefaultRepoConfig() *config.Repo {
	r := &config.Repo{Version: 1, Sources: config.Sources{Actions: true}}
	r.SetDefaults()
	return r
}

// RuleSet is the job rules of one repository at one ref.
type RuleSet struct {
	Jobs []*rules.Job
	// Config is the repo config in force (DefaultRepoConfig when absent).
	Config *config.Repo
	// FileErrors are the workflow files that cannot be read or parsed:
	// their jobs (in Jobs) block what they may report.
	FileErrors []error
	// ruleFiles are the repository paths that define jobs.
	ruleFiles rules.RuleFiles
}

// RuleFilesChanged returns the changed files that define jobs: a PR that
// changes them must not be judged by the base branch's rules alone.
func (rs *RuleSet) RuleFilesChanged(files []string) []string {
	return rs.ruleFiles.Touches(changedFiles(plan.Files{Names: files}))
}

// RuleFilesTouched returns the files of a PR that define jobs, by their new
// name or, for a rename, by their previous one: renaming a workflow away
// changes the rules as much as editing it.
func (rs *RuleSet) RuleFilesTouched(files plan.Files) []string {
	return rs.ruleFiles.Touches(changedFiles(files))
}

func changedFiles(f plan.Files) []rules.ChangedFile {
	out := make([]rules.ChangedFile, 0, len(f.Names)+len(f.Renamed))
	for _, n := range f.Names {
		out = append(out, rules.ChangedFile{Filename: n})
	}
	for _, p := range f.Renamed {
		out = append(out, rules.ChangedFile{PreviousFilename: p})
	}
	return out
}

// alwaysRuleFiles define jobs in every repository, whatever its repo config
// says: the repo config itself, and the workflows its default reads.
var alwaysRuleFiles = append(explicit.RuleFiles(config.RepoConfigPath), actions.RuleFiles(WorkflowsDir)...)

// MayDefineRules returns the files that define jobs in any repository (the
// repo config, the workflows), before its rules are known.
func MayDefineRules(files []string) []string {
	return alwaysRuleFiles.Touches(changedFiles(plan.Files{Names: files}))
}

// LoadRepoRules reads the rules of repo from fsys (the repository at one ref,
// or a local checkout): the Prow paths and workflows the repo config names,
// and its explicit rules. cfg nil means no repo config.
func LoadRepoRules(fsys fs.FS, repo string, cfg *config.Repo) (*RuleSet, error) {
	if cfg == nil {
		cfg = DefaultRepoConfig()
	}
	rs := &RuleSet{Config: cfg, ruleFiles: explicit.RuleFiles(config.RepoConfigPath)}
	var errs []error
	if len(cfg.Sources.Prow) > 0 {
		pc, err := prow.LoadFS(fsys, cfg.Sources.Prow...)
		if err != nil {
			errs = append(errs, err)
			rs.ruleFiles = append(rs.ruleFiles, prow.RuleFiles(cfg.Sources.Prow...)...)
		} else {
			rs.Jobs = append(rs.Jobs, pc.Jobs(repo)...)
			rs.ruleFiles = append(rs.ruleFiles, pc.RuleFiles()...)
		}
	}
	if cfg.Sources.Actions {
		wf, err := actions.LoadWorkflowsFS(fsys, WorkflowsDir)
		switch {
		case err == nil:
			rs.Jobs = append(rs.Jobs, wf.Jobs...)
			rs.FileErrors = wf.Errors
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
		rs.ruleFiles = append(rs.ruleFiles, actions.RuleFiles(WorkflowsDir)...)
	}
	configJobs, err := explicit.Jobs(config.RepoConfigPath, cfg)
	if err != nil {
		errs = append(errs, err)
	}
	rs.Jobs = append(rs.Jobs, configJobs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// LocalSources are the local files `fix-status eval` reads.
type LocalSources struct {
	Repo       string
	ProwConfig []string
	Workflows  string
	RepoConfig string
}

// LoadLocal reads job rules from local files. The sources a repo config
// names are read relative to the repository it sits in (the parent of its
// .github directory). Its FileErrors are the workflow files that cannot be
// read or parsed: their jobs (among Jobs) block what they may report. Its
// Config is RepoConfig's, nil without one.
func LoadLocal(src LocalSources) (*RuleSet, error) {
	out := &RuleSet{}
	if len(src.ProwConfig) > 0 {
		pc, err := prow.Load(src.ProwConfig...)
		if err != nil {
			return nil, err
		}
		out.Jobs = append(out.Jobs, pc.Jobs(src.Repo)...)
	}
	if src.Workflows != "" {
		wf, err := actions.LoadWorkflows(src.Workflows)
		if err != nil {
			return nil, err
		}
		out.Jobs, out.FileErrors = append(out.Jobs, wf.Jobs...), wf.Errors
	}
	if src.RepoConfig == "" {
		return out, nil
	}
	data, err := os.ReadFile(src.RepoConfig)
	if err != nil {
		return nil, fmt.Errorf("--repo-config: %w", err)
	}
	cfg, err := config.ParseRepo(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.RepoConfig, err)
	}
	root := filepath.Dir(src.RepoConfig)
	if filepath.Base(root) == ".github" {
		root = filepath.Dir(root)
	}
	if src.Workflows != "" {
		// The workflows were given explicitly: don't read them twice.
		cfg.Sources.Actions = false
	}
	rs, err := LoadRepoRules(os.DirFS(root), src.Repo, cfg)
	if err != nil {
		return nil, err
	}
	out.Jobs, out.FileErrors, out.Config = append(out.Jobs, rs.Jobs...), append(out.FileErrors, rs.FileErrors...), cfg
	return out, nil
}
