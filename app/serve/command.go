package serve

import (
	"context"
	"sync"
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
	PR        plan.PRRef `json:"pr"`
	CommentID int64      `json:"comment_id"`
	Commenter string     `json:"commenter"`
	// Association is the comment's author_association.
	Association string `json:"association"`
}

// commandSlots keeps, per PR, when /fix-status last ran: it runs at most
// once per CommandInterval. A run refused by the repo's command policy does
// not take the slot (it would lock out those who may run it), and only the
// first command refused for the rate in a window gets a reply.
type commandSlots struct {
	mu      sync.Mutex
	ran     map[plan.PRRef]time.Time
	replied map[plan.PRRef]time.Time
}

func newCommandSlots() commandSlots {
	return commandSlots{ran: map[plan.PRRef]time.Time{}, replied: map[plan.PRRef]time.Time{}}
}

// take reserves the PR's slot at now. It returns when the slot frees when
// it is taken, whether this refusal is the first of its window, and how to
// give a reserved slot back.
func (c *commandSlots) take(ref plan.PRRef, now time.Time) (next time.Time, firstRefusal bool, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.ran {
		if now.Sub(t) >= CommandInterval {
			delete(c.ran, k)
			delete(c.replied, k)
		}
	}
	if last, ok := c.ran[ref]; ok {
		next = last.Add(CommandInterval)
		_, replied := c.replied[ref]
		c.replied[ref] = now
		return next, !replied, nil
	}
	c.ran[ref] = now
	return time.Time{}, false, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ran[ref].Equal(now) {
			delete(c.ran, ref)
		}
	}
}

// command runs /fix-status: react to show it was seen, re-check the PR now,
// and reply with what was decided and done (or why it was not).
func (s *Service) command(ctx context.Context, req CommandRequest) error {
	ref := req.PR
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Str("commenter", req.Commenter).Logger()
	client, err := s.client(ref.InstallationID)
	if err != nil {
		return err
	}
	w := ghapi.NewWriter(client, ref, "")
	next, firstRefusal, release := s.cmds.take(ref, s.opts.Now())
	if release == nil {
		logger.Warn().Time("next", next).Msg("/fix-status ran less than a minute ago on this PR; refused")
		if err := w.React(ctx, req.CommentID, "confused"); err != nil {
			return err
		}
		if !firstRefusal {
			return nil
		}
		return s.reply(ctx, w, plan.CommandTooSoon(req.Commenter, next))
	}
	if err := w.React(ctx, req.CommentID, "eyes"); err != nil {
		release()
		return err
	}
	// The command re-checks the PR now; a queued re-check would repeat it.
	recheck := Work{Kind: KindPR, Repo: ref.RepoRef, Number: ref.Number}
	s.q.Remove(recheck.Key())
	rep, rerr := s.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "comment",
		Command: &plan.Command{Commenter: req.Commenter, Association: req.Association}})
	if rep != nil && rep.Refused {
		release()
	}
	if rerr != nil {
		logger.Warn().Err(rerr).Msg("/fix-status could not check the PR")
	}
	// Told before the reply is posted: who sees the reply may look for
	// the outcome.
	if s.opts.OnReport != nil {
		s.opts.OnReport(Outcome{PR: ref, Trigger: "comment", Report: rep, Err: rerr})
	}
	if err := s.reply(ctx, w, plan.CommandReply(req.Commenter, rep, rerr)); err != nil {
		return err
	}
	if rep != nil {
		s.recheckLater(ctx, recheck, rep)
	}
	return nil
}

func (s *Service) reply(ctx context.Context, w *ghapi.Writer, body string) error {
	err := w.Comment(ctx, body)
	s.opts.Metrics.Write(string(plan.WriteComment), err)
	return err
}
