package plan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Report is what one reconcile decided and did.
type Report struct {
	PR      PRRef
	HeadSHA string
	// Decisions are the plan's, one per required context.
	Decisions []Decision
	// Actions says, per decision, what was done (or would be, in a dry run).
	Actions []string
	Writes  int
	// Skipped is set when the PR was not looked at, with why (closed, draft,
	// a refused command).
	Skipped string
	// Refused is set when Skipped says why the repo's command policy
	// refused a /fix-status run.
	Refused bool
	// RulesErr is why the job rules could not be read, in full (a PR shows
	// it cut to 140 characters); RulesErrPath is where the repo config is.
	RulesErr     error
	RulesErrPath string
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
	short := ShortSHA(rep.HeadSHA)
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

// Summary counts decisions by verdict, in a fixed order, for a one-line
// summary ("2 skip, 1 waiting").
func Summary(ds []Decision) string {
	counts := map[Verdict]int{}
	for _, d := range ds {
		counts[d.Verdict]++
	}
	var parts []string
	for _, v := range []Verdict{Skip, Retrigger, Revoke, Satisfied, Waiting, Failing, Blocked} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	if len(parts) == 0 {
		return "no required checks"
	}
	return strings.Join(parts, ", ")
}

// Describe says what a write does, for people ("set status success").
func Describe(w Write) string {
	switch w.Kind {
	case WriteStatus:
		return fmt.Sprintf("set status %s", w.State)
	case WriteCheckRun:
		if w.State == "" {
			return "set check run in_progress"
		}
		return "set check run " + w.State
	case WriteComment:
		return "comment " + w.Comment
	case WriteActionsRerun:
		return "re-run workflow " + w.Workflow
	case WriteSuiteRerun:
		return fmt.Sprintf("rerequest check suite %d", w.SuiteID)
	}
	return string(w.Kind)
}

// retriggerPrefix starts the hidden marker of every re-trigger comment.
const retriggerPrefix = "<!-- fix-status retrigger context="

// RetriggerMarker is hidden in every re-trigger comment, so later runs (and
// other replicas) can count earlier re-triggers from GitHub itself.
func RetriggerMarker(context, sha string) string {
	q, _ := json.Marshal(context)
	return fmt.Sprintf("%s%s sha=%s -->", retriggerPrefix, q, sha)
}

// ParseRetriggerMarkers returns the contexts a comment's markers name for
// sha.
func ParseRetriggerMarkers(body, sha string) []string {
	var out []string
	suffix := " sha=" + sha + " -->"
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, retriggerPrefix) || !strings.HasSuffix(line, suffix) {
			continue
		}
		var context string
		if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(line, retriggerPrefix), suffix)), &context); err == nil {
			out = append(out, context)
		}
	}
	return out
}

// RetriggerComment is the comment that goes with the re-triggers ws made on
// sha: the rerun commands of comment-triggered jobs, each once (Prow's
// trigger plugin obeys every /test line of a comment, and the PR gets one
// notification), a line for each re-run made otherwise, and a hidden marker
// per context by which later runs count re-triggers of every method.
func RetriggerComment(ws []Write, sha string) string {
	var b strings.Builder
	seen := map[string]bool{}
	var others []string
	for _, w := range ws {
		switch {
		case w.Kind != WriteComment:
			others = append(others, fmt.Sprintf("- `%s`: %s", w.Context, Describe(w)))
		case !seen[w.Comment]:
			fmt.Fprintln(&b, w.Comment)
			seen[w.Comment] = true
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "fix-status: re-triggering required checks that should have run for %s and never reported.\n", ShortSHA(sha))
	for _, o := range others {
		fmt.Fprintln(&b, o)
	}
	for _, w := range ws {
		fmt.Fprintln(&b, RetriggerMarker(w.Context, sha))
	}
	return b.String()
}

// ShortSHA is the 7-character form of a commit SHA people read.
func ShortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
