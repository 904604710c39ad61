package serve

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// CommandInterval is how often /fix-status may run on one PR.
const CommandInterval = time.Minute

// CommandRequest is a /fix-status comment on a pull request.
type CommandRequest struct {
	PR        plan.PRRef
	CommentID int64
	Commenter string
	// Association is the comment's author_association.
	Association string
}

// Command runs /fix-status: react to show it was seen, re-check the PR now,
// and reply with what was decided and done.
func (s *Service) Command(ctx context.Context, req CommandRequest) error {
	ref := req.PR
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Str("commenter", req.Commenter).Logger()
	client, err := s.client(ref.InstallationID)
	if err != nil {
		return err
	}
	w := ghapi.NewWriter(client, ref, "")
	if !s.allowCommand(ref) {
		logger.Warn().Msg("/fix-status ran less than a minute ago on this PR; ignored")
		return w.React(ctx, req.CommentID, "confused")
	}
	if err := w.React(ctx, req.CommentID, "eyes"); err != nil {
		return err
	}
	s.mu.Lock()
	if p, ok := s.pending[ref]; ok && !p.fired && p.timer.Stop() {
		// The command runs the re-check now; a queued one would repeat it.
		delete(s.pending, ref)
	}
	s.mu.Unlock()
	rep, rerr := s.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "comment",
		Command: &plan.Command{Commenter: req.Commenter, Association: req.Association}})
	err = w.Comment(ctx, plan.CommandReply(req.Commenter, rep, rerr))
	s.opts.Metrics.Write(string(plan.WriteComment), err)
	if err != nil {
		return err
	}
	if rerr != nil {
		logger.Warn().Err(rerr).Msg("/fix-status could not check the PR")
	}
	if s.opts.OnReport != nil {
		s.opts.OnReport(Outcome{PR: ref, Trigger: "comment", Report: rep, Err: rerr})
	}
	if rep != nil {
		s.recheckLater(ref, rep)
	}
	return nil
}

func (s *Service) allowCommand(ref plan.PRRef) bool {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	now := s.opts.Now()
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
