package app

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/config"
)

// CommandRe matches the /fix-status comment command: alone on a line.
var CommandRe = regexp.MustCompile(`(?mi)^/fix-status\s*$`)

// CommandInterval is how often /fix-status may run on one PR.
const CommandInterval = time.Minute

// Command handles a /fix-status comment: react to show it was seen,
// re-check the PR now, and reply with what was decided and done.
func (s *Service) Command(ctx context.Context, ev *github.IssueCommentEvent) error {
	if ev.GetAction() != "created" || !ev.GetIssue().IsPullRequest() || !CommandRe.MatchString(ev.GetComment().GetBody()) {
		return nil
	}
	user := ev.GetComment().GetUser()
	if user.GetType() == "Bot" || s.IsOwnSender(user.GetLogin(), 0) {
		return nil
	}
	ref := PRRef{Owner: ev.GetRepo().GetOwner().GetLogin(), Repo: ev.GetRepo().GetName(),
		Number: ev.GetIssue().GetNumber(), InstallationID: ev.GetInstallation().GetID()}
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Str("commenter", user.GetLogin()).Logger()
	client, err := s.rec.opts.Clients.NewInstallationClient(ref.InstallationID)
	if err != nil {
		return fmt.Errorf("failed to create a client for installation %d: %w", ref.InstallationID, err)
	}
	commentID := ev.GetComment().GetID()
	if !s.allowCommand(ref) {
		logger.Warn().Msg("/fix-status ran less than a minute ago on this PR; ignored")
		_, _, err := client.Reactions.CreateIssueCommentReaction(ctx, ref.Owner, ref.Repo, commentID, "confused")
		return wrapReactionErr(err, ref)
	}
	if _, _, err := client.Reactions.CreateIssueCommentReaction(ctx, ref.Owner, ref.Repo, commentID, "eyes"); err != nil {
		return wrapReactionErr(err, ref)
	}
	s.mu.Lock()
	if p, ok := s.pending[ref]; ok && !p.fired && p.timer.Stop() {
		// The command runs the re-check now; a queued one would repeat it.
		delete(s.pending, ref)
	}
	s.mu.Unlock()
	rep, rerr := s.rec.Reconcile(ctx, ref, Trigger{Event: "comment", Commenter: user.GetLogin(),
		CommenterAssociation: ev.GetComment().GetAuthorAssociation()})
	body := CommandReply(user.GetLogin(), rep, rerr)
	if _, _, err := client.Issues.CreateComment(ctx, ref.Owner, ref.Repo, ref.Number, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("failed to reply on %s: %w", ref, err)
	}
	s.rec.opts.Metrics.Write(WriteComment, nil)
	if rerr != nil {
		logger.Warn().Err(rerr).Msg("/fix-status could not check the PR")
	}
	if rep != nil && s.opts.OnReport != nil {
		s.opts.OnReport(rep)
	}
	if rep != nil {
		if t := RecheckAt(rep.Decisions); !t.IsZero() {
			s.Schedule(ref, Trigger{Event: "recheck"}, time.Until(t)+time.Second)
		}
	}
	return nil
}

func wrapReactionErr(err error, ref PRRef) error {
	if err != nil {
		return fmt.Errorf("failed to react on a comment of %s: %w", ref, err)
	}
	return nil
}

func (s *Service) allowCommand(ref PRRef) bool {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	now := time.Now()
	if last, ok := s.lastCmd[ref]; ok && now.Sub(last) < CommandInterval {
		return false
	}
	for k, t := range s.lastCmd {
		if now.Sub(t) >= CommandInterval {
			delete(s.lastCmd, k)
		}
	}
	s.lastCmd[ref] = now
	return true
}

// commandPolicy applies the repo config's command policy to a /fix-status
// run: who may run it at all, and that re-triggering CI (which spends CI
// time) needs write permission. It returns why the run is refused, if it is.
// association is the comment's author_association ("" when unknown).
func commandPolicy(ctx context.Context, c *github.Client, ref PRRef, cfg *config.Repo, commenter, association string, ds []Decision) (string, error) {
	needsWrite := false
	for _, d := range ds {
		if d.Verdict == Retrigger || d.Verdict == Revoke {
			needsWrite = true
		}
	}
	policy := config.CommandAnyone
	if cfg != nil {
		policy = cfg.Commands.FixStatus
	}
	// Anyone may read a public repository, so a "read" permission level
	// does not make a collaborator; the comment's author_association tells.
	collaborator := association == "OWNER" || association == "MEMBER" || association == "COLLABORATOR"
	refused := fmt.Sprintf("only collaborators may run /fix-status on %s", ref.FullRepo())
	if policy == config.CommandCollaborators && association != "" && !collaborator {
		return refused, nil
	}
	if (policy == config.CommandAnyone || collaborator) && !needsWrite {
		return "", nil
	}
	perm, _, err := c.Repositories.GetPermissionLevel(ctx, ref.Owner, ref.Repo, commenter)
	if err != nil {
		return "", fmt.Errorf("failed to read %s's permission on %s: %w", commenter, ref.FullRepo(), err)
	}
	level := perm.GetPermission()
	if policy == config.CommandCollaborators && !collaborator && (level == "" || level == "none") {
		return refused, nil
	}
	if needsWrite && level != "admin" && level != "write" {
		for i := range ds {
			if ds[i].Verdict != Retrigger {
				continue
			}
			ds[i].Writes = nil
			ds[i].Reason = rules.Truncate(ds[i].Reason+"; re-running CI needs write permission", rules.MaxReason)
		}
	}
	return "", nil
}

// CommandReply renders the reply to /fix-status: one Markdown table and a
// sentence of summary.
func CommandReply(commenter string, rep *Report, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "@%s fix-status could not check this pull request: %s\n", commenter, oneLine(err.Error()))
		return b.String()
	}
	if rep.Skipped != "" {
		fmt.Fprintf(&b, "@%s fix-status did not check this pull request: %s.\n", commenter, rep.Skipped)
		return b.String()
	}
	short := rep.HeadSHA
	if len(short) > 7 {
		short = short[:7]
	}
	if len(rep.Decisions) == 0 {
		fmt.Fprintf(&b, "@%s no required status checks apply to this pull request's base branch; nothing to do for %s.\n", commenter, short)
		return b.String()
	}
	fmt.Fprintf(&b, "@%s fix-status checked the required contexts of %s:\n\n", commenter, short)
	b.WriteString("| Context | Verdict | Reason | Action |\n|---|---|---|---|\n")
	for i, d := range rep.Decisions {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", cell(d.Context), d.Verdict, cell(d.Reason), cell(rep.Actions[i]))
	}
	fmt.Fprintf(&b, "\n%s; %d write(s).\n", Summary(rep.Decisions), rep.Writes)
	return b.String()
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
