package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fix-status/fix-status/app/rules"
)

// Report is the audit of several repositories as `fix-status audit` prints
// it: every audited branch, and how many required contexts are findings.
type Report struct {
	Branches []BranchReport `json:"branches"`
	Findings int            `json:"findings"`
	// FailOn are the classes that count as findings.
	FailOn []rules.Class `json:"-"`
}

// NewReport gathers repository audits, counting the contexts whose class is
// in failOn.
func NewReport(repos []*RepoReport, failOn []rules.Class) *Report {
	r := &Report{Branches: []BranchReport{}, FailOn: failOn}
	for _, rr := range repos {
		r.Branches = append(r.Branches, rr.Branches...)
	}
	r.Findings = len(r.List())
	return r
}

// List lists the findings, branch by branch.
func (r *Report) List() []Finding {
	var out []Finding
	for _, b := range r.Branches {
		out = append(out, b.findings(r.FailOn)...)
	}
	return out
}

func (r *Report) contexts() int {
	n := 0
	for _, b := range r.Branches {
		n += len(b.Required)
	}
	return n
}

// WriteJSON prints the report as {"branches": [...], "findings": N}.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints one table per branch, then the findings.
func WriteText(w io.Writer, r *Report) error {
	for _, b := range r.Branches {
		queue := "no merge queue"
		if b.MergeQueue {
			queue = "merge queue"
		}
		fmt.Fprintf(w, "%s %s (%s)\n", b.Repo, b.Branch, queue)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTEXT\tFROM\tCLASS\tMERGE QUEUE\tREASON")
		for _, req := range b.Required {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", req.Context, from(req), req.Class, req.MergeQueue, req.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d branch(es), %d required context(s): %s\n", len(r.Branches), r.contexts(), r.summary())
	for _, f := range r.List() {
		fmt.Fprintf(w, "  %s %s %s: %s: %s\n", f.Repo, f.Branch, f.Context, f.Class, f.Reason)
	}
	return nil
}

// from names where a requirement comes from, with its pin.
func from(req Required) string {
	if req.AppID != 0 {
		return fmt.Sprintf("%s (app %d)", req.From, req.AppID)
	}
	return req.From
}

func (r *Report) summary() string {
	if len(r.FailOn) == 0 {
		return "no class fails (--fail-on none)"
	}
	return fmt.Sprintf("%d finding(s) of class %s", r.Findings, strings.Join(ClassNames(r.FailOn), ", "))
}

// WriteMarkdown prints the report for a pull request comment or a CI job
// summary ($GITHUB_STEP_SUMMARY): the findings first, then a table per
// branch.
func WriteMarkdown(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "## fix-status audit: %s\n\n", r.summary())
	fmt.Fprintf(w, "%d required context(s) of %d protected branch(es), judged against the CI's own rules on each branch.\n\n",
		r.contexts(), len(r.Branches))
	if list := r.List(); len(list) > 0 {
		for _, f := range list {
			fmt.Fprintf(w, "- :x: **%s** `%s` on %s `%s`: %s\n", f.Class, mdCode(f.Context), f.Repo, mdCode(f.Branch), mdText(f.Reason))
		}
		fmt.Fprintln(w)
	}
	for _, b := range r.Branches {
		queue := "no merge queue"
		if b.MergeQueue {
			queue = "merge queue"
		}
		fmt.Fprintf(w, "### %s `%s` (%s)\n\n", b.Repo, mdCode(b.Branch), queue)
		fmt.Fprintln(w, "| | Context | From | Class | Merge queue | Reason |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
		for _, req := range b.Required {
			mark := ""
			if slices.Contains(r.FailOn, req.Class) {
				mark = ":x:"
			}
			fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s |\n", mark, mdCode(req.Context), from(req), req.Class, req.MergeQueue, mdText(req.Reason))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// mdCode keeps a name inside a code span and a table cell.
func mdCode(s string) string { return mdCodeEscaper.Replace(s) }

// mdText keeps text inside a table cell and out of Markdown's way: pipes,
// and characters that would start emphasis, HTML or links.
func mdText(s string) string { return mdTextEscaper.Replace(s) }

var (
	mdCodeEscaper = strings.NewReplacer("`", "'", "|", `\|`)
	mdTextEscaper = strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "`", "\\`")
)
