package fakegithub

import (
	"net/http"
	"time"
)

// maxComments is where GitHub stops accepting comments on an issue.
const maxComments = 2500

var reactionContents = set("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")

func hListComments(c *reqCtx) resp {
	p := c.pullParam("issue_number")
	if p == nil {
		return c.notFound()
	}
	list := p.comments
	if v := c.query.Get("since"); v != "" {
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c.invalid("IssueComment", "since", "invalid", "")
		}
		var kept []*comment
		for _, cm := range list {
			if !cm.updatedAt.Before(since) {
				kept = append(kept, cm)
			}
		}
		list = kept
	}
	lo, hi := c.paginate(len(list), 100)
	out := make([]*commentJSON, 0, hi-lo)
	for _, cm := range list[lo:hi] {
		out = append(out, c.w.commentJSON(c.base, c.repo, cm))
	}
	return ok(out)
}

func hCreateComment(c *reqCtx) resp {
	var req struct {
		Body *string `json:"body"`
	}
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	p := c.pullParam("issue_number")
	if p == nil {
		return c.notFound()
	}
	if req.Body == nil || *req.Body == "" {
		return c.invalid("IssueComment", "body", "missing_field", "")
	}
	if len(p.comments) >= maxComments {
		return c.errResp(http.StatusForbidden, "Commenting is disabled on issues with more than 2500 comments")
	}
	cm := c.w.addComment(c.repo, p, c.actor(), c.callerApp().id, *req.Body, c.now)
	c.apiWriteHook("issue_comment", "created", func() map[string]any {
		return map[string]any{"issue": c.w.issueJSON(c.base, c.repo, p), "comment": c.w.commentJSON(c.base, c.repo, cm)}
	})
	return created(c.w.commentJSON(c.base, c.repo, cm))
}

type reactionJSON struct {
	ID        int64     `json:"id"`
	NodeID    string    `json:"node_id"`
	User      *userJSON `json:"user"`
	Content   string    `json:"content"`
	CreatedAt string    `json:"created_at"`
}

// hCreateReaction adds a reaction; the same reaction again answers 200 with
// the existing one, as GitHub does.
func hCreateReaction(c *reqCtx) resp {
	var req struct {
		Content string `json:"content"`
	}
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	cm := c.repo.comments[c.idParam("comment_id")]
	if cm == nil {
		return c.notFound()
	}
	if !reactionContents[req.Content] {
		return c.invalid("Reaction", "content", "invalid", "")
	}
	user := c.actor()
	render := func(re *reaction) reactionJSON {
		return reactionJSON{ID: re.id, NodeID: nodeID("Reaction", re.id), User: c.w.userJSON(c.base, re.user),
			Content: re.content, CreatedAt: ts(re.createdAt)}
	}
	for _, re := range cm.reactions {
		if re.user == user && re.content == req.Content {
			return ok(render(re))
		}
	}
	re := &reaction{id: c.w.newID(), user: user, content: req.Content, createdAt: c.now}
	cm.reactions = append(cm.reactions, re)
	return created(render(re))
}
