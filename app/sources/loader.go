package sources

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/appconfig"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

// Loader reads the rules of a repository from GitHub.
type Loader struct {
	loader *appconfig.Loader
	// central is the server config's Prow job config (may be nil).
	central *prow.Config
}

// NewLoader reads repo configs at config.RepoConfigPath (with go-githubapp's
// fallback to the owner's .github repository) and adds central's jobs.
func NewLoader(central *prow.Config) *Loader {
	return &Loader{loader: appconfig.NewLoader([]string{config.RepoConfigPath}), central: central}
}

// Load reads the repo config and the rules it names at ref (a branch or a
// SHA). The returned path is the config file's location, for messages. An
// error caused by GitHub's answer rather than by a file is an API error
// (ghapi.IsAPIError), worth reading again; a bad file is not.
func (l *Loader) Load(ctx context.Context, c *github.Client, repo plan.RepoRef, ref string) (*RuleSet, string, error) {
	return l.load(ctx, c, repo, ref, 0)
}

// Bounds of a pull request's own rules, read at its head (invariant 1): a
// PR may add any number of rule files, or files that expand to many jobs.
const (
	MaxHeadReads = 200
	MaxHeadJobs  = 20000
)

// LoadHead is Load at a PR's head, bounded: past MaxHeadReads files read or
// MaxHeadJobs jobs it fails, and the PR's rule changes block its skips.
func (l *Loader) LoadHead(ctx context.Context, c *github.Client, repo plan.RepoRef, sha string) (*RuleSet, error) {
	rs, _, err := l.load(ctx, c, repo, sha, MaxHeadReads)
	if err == nil && len(rs.Jobs) > MaxHeadJobs {
		err = fmt.Errorf("its rules define %d jobs (at most %d are read)", len(rs.Jobs), MaxHeadJobs)
	}
	return rs, err
}

func (l *Loader) load(ctx context.Context, c *github.Client, repo plan.RepoRef, ref string, maxReads int) (*RuleSet, string, error) {
	cfgFile, err := l.loader.LoadConfig(ctx, c, repo.Owner, repo.Repo, ref)
	where := cfgFile.Source + ":" + cfgFile.Path
	if err != nil {
		return nil, where, fmt.Errorf("failed to read %s: %w", where, err)
	}
	var cfg *config.Repo
	if !cfgFile.IsUndefined() {
		if cfg, err = config.ParseRepo(cfgFile.Content); err != nil {
			return nil, where, fmt.Errorf("%s: %w", where, err)
		}
	}
	fsys := ghapi.NewRepoFS(ctx, c, repo, ref).Limit(maxReads)
	rs, err := LoadRepoRules(fsys, repo.FullRepo(), cfg)
	if cut := fsys.Exceeded(); cut != nil {
		return nil, where, cut
	}
	if err != nil {
		if apiErr := fsys.APIErr(); apiErr != nil {
			// The rule loaders keep only the message of a failed read;
			// keep the API error too, so that it is not taken for a bad
			// file.
			err = &causedError{err: err, cause: apiErr}
		}
		return nil, where, err
	}
	// Rules read from the repository link to their file there; the central
	// Prow config's (the server's files) come first and have no link.
	for _, j := range rs.Jobs {
		j.Origin.Repo = repo.FullRepo()
	}
	rs.Jobs = append(l.central.Jobs(repo.FullRepo()), rs.Jobs...)
	return rs, where, nil
}

// causedError is err, with the error that caused it kept for errors.As.
type causedError struct{ err, cause error }

func (e *causedError) Error() string   { return e.err.Error() }
func (e *causedError) Unwrap() []error { return []error{e.err, e.cause} }
