package plan

import (
	"fmt"
	"strings"
)

// Who may run /fix-status: the repo config's commands.fix_status.
const (
	CommandAnyone        = "anyone"
	CommandCollaborators = "collaborators"
)

// Command is a /fix-status comment and what is known of who wrote it.
type Command struct {
	Commenter string
	// Association is the comment's author_association (OWNER, MEMBER,
	// COLLABORATOR, CONTRIBUTOR, NONE, ...); "" when unknown.
	Association string
	// Policy is who may run the command on the repository
	// (CommandAnyone or CommandCollaborators).
	Policy string
	// Permission is the commenter's permission on the repository (admin,
	// maintain, write, triage, read, none). It is read only when
	// NeedsPermission says so; PermissionRead tells whether it was.
	Permission     string
	PermissionRead bool
}

// collaborator: anyone may read a public repository, so a "read" permission
// does not make a collaborator; the comment's author_association tells.
func (c *Command) collaborator() bool {
	switch c.Association {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}

// mayWrite reports whether the commenter may spend CI time: re-running CI
// needs write permission on the repository.
func (c *Command) mayWrite() bool {
	switch c.Permission {
	case "admin", "maintain", "write":
		return c.PermissionRead
	}
	return false
}

// wantsRetrigger: the plan would start CI again. The verdict stays when
// limitCommand removes the writes, so this holds before and after.
func wantsRetrigger(ds []Decision) bool {
	for _, d := range ds {
		if d.Verdict == Retrigger || d.Verdict == Revoke {
			return true
		}
	}
	return false
}

// NeedsPermission reports whether deciding a /fix-status run needs the
// commenter's permission level, not read yet: the caller reads it and plans
// again. Most runs need no read: anyone may ask for skips, and the comment's
// author_association already tells who is a collaborator.
func NeedsPermission(s *Snapshot, ds []Decision) bool {
	c := s.Command
	if c == nil || c.PermissionRead {
		return false
	}
	if c.Policy == CommandCollaborators && !c.collaborator() {
		// Refused at once when the association says so; read the
		// permission when it is unknown.
		return c.Association == ""
	}
	return wantsRetrigger(ds)
}

// Refusal says why a /fix-status run is refused ("" when it may run): the
// repo config may limit the command to collaborators.
func Refusal(s *Snapshot) string {
	c := s.Command
	if c == nil || c.Policy != CommandCollaborators || c.collaborator() {
		return ""
	}
	refused := fmt.Sprintf("only collaborators may run /fix-status on %s", s.PR.FullRepo())
	if c.Association != "" || (c.PermissionRead && (c.Permission == "" || c.Permission == "none")) {
		return refused
	}
	return ""
}

// limitCommand removes the re-triggers of a run asked for by someone who
// may not re-run CI, saying so in the reason. Revokes keep their writes: they
// take back fix-status's own mistake.
func limitCommand(c *Command, ds []Decision) {
	if c.mayWrite() {
		return
	}
	for i := range ds {
		if ds[i].Verdict == Retrigger {
			ds[i].Writes = nil
			ds[i].Cause = CauseNeedsPermission
			ds[i].Reason += "; re-running CI needs write permission"
		}
	}
}

// IsCommand reports whether a comment asks for /fix-status: the command alone
// on a line of its own (any case, trailing spaces allowed), not inside a
// fenced code block, an indented code block or a quote, which only show it.
func IsCommand(body string) bool {
	fence := ""
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if f := fenceOf(trimmed); f != "" && indent < 4 {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, f[:1])) == "":
				fence = ""
			}
			continue
		}
		if fence != "" || indent > 0 {
			continue
		}
		if strings.EqualFold(strings.TrimRight(line, " \t"), "/fix-status") {
			return true
		}
	}
	return false
}

// fenceOf returns the code fence a line opens or closes (three or more
// backticks or tildes), or "".
func fenceOf(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}
