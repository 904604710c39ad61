// Package sources decides which job rules judge a pull request: the repo
// config (.github/fix-status.yml on the base branch, or the owner's .github
// repository), the GitHub Actions workflows and Prow job configs it names,
// its explicit rules, and the server's central Prow config. It also owns the
// one list of the files that define jobs.
package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fix-status/fix-status/app/rules"
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
	// ruleFiles are the repository paths that define jobs; a directory
	// ends in "/" and covers everything below it.
	ruleFiles []string
}

// RuleFilesChanged returns the changed files that define jobs: a PR that
// changes them must not be judged by the base branch's rules alone.
func (rs *RuleSet) RuleFilesChanged(files []string) []string {
	return ruleFiles(rs.ruleFiles, files)
}

// ruleFiles returns the files that are, or lie below, one of defining.
func ruleFiles(defining, files []string) []string {
	var out []string
	for _, f := range files {
		for _, rf := range defining {
			if f == rf || (strings.HasSuffix(rf, "/") && strings.HasPrefix(f, rf)) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// LoadRepoRules reads the rules of repo from fsys (the repository at one ref,
// or a local checkout): the Prow paths and workflows the repo config names,
// and its explicit rules. cfg nil means no repo config.
func LoadRepoRules(fsys fs.FS, repo string, cfg *config.Repo) (*RuleSet, error) {
	if cfg == nil {
		cfg = DefaultRepoConfig()
	}
	rs := &RuleSet{Config: cfg, ruleFiles: []string{config.RepoConfigPath}}
	if cfg.Sources.Actions {
		rs.ruleFiles = append(rs.ruleFiles, WorkflowsDir+"/")
	}
	var errs []error
	if len(cfg.Sources.Prow) > 0 {
		pc, err := rules.LoadProwFS(fsys, cfg.Sources.Prow...)
		if err != nil {
			errs = append(errs, err)
		} else {
			rs.Jobs = append(rs.Jobs, pc.Jobs(repo)...)
		}
		for _, p := range cfg.Sources.Prow {
			p = path.Clean(strings.TrimPrefix(p, "/"))
			rs.ruleFiles = append(rs.ruleFiles, p, p+"/")
		}
	}
	if cfg.Sources.Actions {
		jobs, err := rules.LoadWorkflowsFS(fsys, WorkflowsDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		} else {
			rs.Jobs = append(rs.Jobs, jobs...)
		}
	}
	explicit, err := rules.ExplicitJobs(config.RepoConfigPath, cfg)
	if err != nil {
		errs = append(errs, err)
	}
	rs.Jobs = append(rs.Jobs, explicit...)
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

// LoadLocalJobs reads job rules from local files. The sources a repo config
// names are read relative to the repository it sits in (the parent of its
// .github directory).
func LoadLocalJobs(src LocalSources) ([]*rules.Job, error) {
	var jobs []*rules.Job
	if len(src.ProwConfig) > 0 {
		pc, err := rules.LoadProw(src.ProwConfig...)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, pc.Jobs(src.Repo)...)
	}
	if src.Workflows != "" {
		wf, err := rules.LoadWorkflows(src.Workflows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, wf...)
	}
	if src.RepoConfig == "" {
		return jobs, nil
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
	return append(jobs, rs.Jobs...), nil
}

// alwaysRuleFiles define jobs in every repository, whatever its repo config
// says: the repo config itself, and the workflows its default reads.
var alwaysRuleFiles = []string{config.RepoConfigPath, WorkflowsDir + "/"}

// MayDefineRules returns the files that define jobs in any repository (the
// repo config, the workflows), before its rules are known.
func MayDefineRules(files []string) []string { return ruleFiles(alwaysRuleFiles, files) }
