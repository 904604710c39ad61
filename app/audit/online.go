package audit

import (
	"context"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/sources"
)

// Repo audits every protected branch of repo that requires contexts
// (classic protection ∪ rulesets), reading each branch's rules exactly as a
// PR to it is judged: the repo config and rule files on that branch, the
// owner's default config, the central Prow config. appID is fix-status's
// own app. A rule file that cannot be read makes that branch's contexts
// unknown; a failed read of GitHub fails the audit, so that a partial
// report is never taken for the whole.
func Repo(ctx context.Context, c *github.Client, loader *sources.Loader, repo plan.RepoRef, appID int64) (*RepoReport, error) {
	branches, err := ghapi.ProtectedBranches(ctx, c, repo)
	if err != nil {
		return nil, err
	}
	out := &RepoReport{Repo: repo.FullRepo(), Branches: []BranchReport{}}
	for _, branch := range branches {
		req, err := ghapi.ReadRequired(ctx, c, repo, branch)
		if err != nil {
			return nil, err
		}
		if len(req) == 0 {
			continue
		}
		mq, err := ghapi.HasMergeQueue(ctx, c, repo, branch)
		if err != nil {
			return nil, err
		}
		in := BranchInput{Repo: repo.FullRepo(), Branch: branch, Required: req, MergeQueue: mq, AppID: appID}
		rs, _, err := loader.Load(ctx, c, repo, branch)
		switch {
		case err != nil && ghapi.IsAPIError(err):
			return nil, err
		case err != nil:
			in.Rules.Err = err
		default:
			in.Rules = Rules{Jobs: rs.Jobs, CarryPRResults: rs.Config.MergeQueue.CarryPRResults}
		}
		br := Branch(in)
		br.rules, br.rulesErr = rs, err != nil
		out.Branches = append(out.Branches, br)
	}
	return out, nil
}

// RulesChangedBy reports whether a push to the branch that changed these
// files changes the rules this audit judged it by, with the test a push
// of the branch's PRs gets: a file that defines jobs in any repository
// (the repo config, the workflows), or one the branch's rules read. When
// its rules could not be read, any push may have fixed them.
func (b *BranchReport) RulesChangedBy(changed []string) bool {
	switch {
	case b.rulesErr:
		return len(changed) > 0
	case len(sources.MayDefineRules(changed)) > 0:
		return true
	case b.rules != nil:
		return len(b.rules.RuleFilesChanged(changed)) > 0
	}
	return false
}
