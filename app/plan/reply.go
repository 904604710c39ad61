package plan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Report is what one reconcile decided and did.
type Report struct {
	PR      PRRef
	HeadSHA string
	// MergeGroup is set when the report is of a merge group's commit
	// (PR then names only the repository).
	MergeGroup *MergeGroupRef
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
	// ProtectionErr is why the base branch's classic protection could not
	// be read (a permission the installation lacks): the decisions are of
	// the rulesets' required contexts only.
	ProtectionErr error
}

// CommandReply renders the reply to /fix-status: one Markdown table of the
// decisions, a sentence of summary, and what to do about whatever stood in
// the way (a re-trigger the commenter may not ask for, rules that cannot be
// read, writes that failed). err is the reconcile's: with a report, writes
// that failed; without one, why nothing could be decided.
func CommandReply(commenter string, rep *Report, err error) string {
	var b strings.Builder
	if rep == nil || err != nil && len(rep.Decisions) == 0 && rep.Skipped == "" {
		msg := "unknown error"
		if err != nil {
			msg = oneLine(err.Error())
		}
		fmt.Fprintf(&b, "@%s fix-status could not check this pull request: %s\n", commenter, msg)
		if fix := FixFor(err); fix != "" {
			fmt.Fprintf(&b, "\n%s\n", fix)
		}
		return b.String()
	}
	if rep.Skipped != "" {
		return CommandRefused(commenter, rep.Skipped)
	}
	short := ShortSHA(rep.HeadSHA)
	if len(rep.Decisions) == 0 && rep.ProtectionErr != nil {
		fmt.Fprintf(&b, "@%s no ruleset requires status checks on this pull request's base branch, and nothing else is checked for %s: %s.\n",
			commenter, short, oneLine(rep.ProtectionErr.Error()))
		return b.String()
	}
	if len(rep.Decisions) == 0 {
		fmt.Fprintf(&b, "@%s no required status checks apply to this pull request's base branch; nothing to do for %s.\n", commenter, short)
		return b.String()
	}
	fmt.Fprintf(&b, "@%s fix-status checked the required contexts of %s:\n\n", commenter, short)
	b.WriteString("| Context | Verdict | Reason | Action |\n|---|---|---|---|\n")
	var unpermitted []string
	for i, d := range rep.Decisions {
		action := rep.Actions[i]
		if d.Cause == CauseNeedsPermission {
			action = "none: needs write permission"
			if cmd := RerunCommand(d.Job); cmd != "" {
				unpermitted = append(unpermitted, "`"+code(cmd)+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", cell(d.Context), d.Verdict, cell(d.Reason), cell(action))
	}
	fmt.Fprintf(&b, "\n%s; %d write(s).\n", Summary(rep.Decisions), rep.Writes)
	if hasCause(rep.Decisions, CauseNeedsPermission) {
		fmt.Fprintf(&b, "\nRe-running CI needs write permission on %s, which @%s does not have: someone with write access (a maintainer or a collaborator with write) can comment `/fix-status`", rep.PR.FullRepo(), commenter)
		if len(unpermitted) > 0 {
			fmt.Fprintf(&b, ", or %s", strings.Join(unpermitted, ", "))
		}
		b.WriteString(".\n")
	}
	if rep.RulesErr != nil {
		fmt.Fprintf(&b, "\nThe job rules cannot be read: %s. Fix them on the base branch", oneLine(rep.RulesErr.Error()))
		if rep.RulesErrPath != "" {
			fmt.Fprintf(&b, " (the repo config is `%s`)", code(rep.RulesErrPath))
		}
		b.WriteString("; fix-status checks this pull request again once the fix is pushed. Until then it writes nothing for the contexts they judge.\n")
	}
	if rep.ProtectionErr != nil {
		fmt.Fprintf(&b, "\nOnly the rulesets' required contexts are checked: %s.\n", oneLine(rep.ProtectionErr.Error()))
	}
	if err != nil {
		fmt.Fprintf(&b, "\nNot everything could be written: %s.", oneLine(err.Error()))
		if fix := FixFor(err); fix != "" {
			b.WriteString(" " + fix)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// CommandTooSoon is the reply to a /fix-status that came less than
// CommandInterval after the last one on the pull request; at is when the
// command may run again.
func CommandTooSoon(commenter string, at time.Time) string {
	return fmt.Sprintf("@%s fix-status checked this pull request less than a minute ago, and runs /fix-status at most once a minute per pull request (each run reads GitHub, and re-runs CI). Comment `/fix-status` again after %s.\n",
		commenter, FormatTime(at))
}

// CommandRefused is the reply to a /fix-status fix-status did not run, with
// why (Refusal's answer, a closed or draft pull request).
func CommandRefused(commenter, why string) string {
	return fmt.Sprintf("@%s fix-status did not check this pull request: %s.\n", commenter, oneLine(why))
}

func hasCause(ds []Decision, c Cause) bool {
	for _, d := range ds {
		if d.Cause == c {
			return true
		}
	}
	return false
}

// statusInError finds the HTTP status in an error of GitHub's API as
// go-github words it ("POST https://…: 403 Resource not accessible …").
var statusInError = regexp.MustCompile(`: ([1-5][0-9]{2}) `)

// FixFor says what would cure a failed read or write of GitHub, from
// GitHub's documented answers ("" when there is nothing to advise).
func FixFor(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	code := 0
	if m := statusInError.FindStringSubmatch(msg); m != nil {
		code, _ = strconv.Atoi(m[1])
	}
	switch {
	case strings.Contains(msg, "Resource not accessible by integration"):
		return "GitHub refused it for lack of a permission: the app needs the permissions its app.yml lists (Commit statuses, Checks, Pull requests and Issues: write; Actions: write to re-run workflows), and the installation must accept them."
	case strings.Contains(msg, "rate limit"):
		return "GitHub's rate limit stopped it: comment `/fix-status` again once the limit resets."
	case code == 404:
		return "GitHub answered 404: the app may no longer be installed on this repository, or the commit is gone (a force-push)."
	case code == 422:
		return "GitHub refused what fix-status sent (422); the error above says what it objects to."
	case code >= 500:
		return "GitHub failed to answer: comment `/fix-status` again in a minute."
	}
	return ""
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
