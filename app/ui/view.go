package ui

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/stuck"
)

var funcs = template.FuncMap{
	"code":   inlineCode,
	"time":   plan.FormatTime,
	"short":  plan.ShortSHA,
	"age":    age,
	"anchor": plan.Anchor,
}

// inlineCode renders the Markdown code spans (`x`) of the plan's texts as
// <code>, everything escaped.
func inlineCode(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		esc := template.HTMLEscapeString(part)
		if i%2 == 1 {
			b.WriteString("<code>" + esc + "</code>")
		} else {
			b.WriteString(esc)
		}
	}
	return template.HTML(b.String())
}

// age is a duration as people read it: "3h12m", "5m", "5m10s", "45s".
func age(d time.Duration) string {
	s := d.Round(time.Second).String()
	if d >= time.Hour {
		s = d.Round(time.Minute).String()
	}
	// Whole minutes drop their "0s"; "5m10s" keeps its own.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

type detailsView struct {
	User             string
	PR               plan.PRRef
	Title, Author    string
	Draft            bool
	PRURL            string
	State            string
	HeadSHA          string
	BaseBranch       string
	BaseSHA          string
	ReadAt           time.Time
	Files            []string
	FileCount        int
	FilesComplete    bool
	RuleFilesChanged []string
	RulesErr         string
	RulesErrPath     string
	ReportAs         string
	Summary          string
	Contexts         []contextView
}

type contextView struct {
	Context, Anchor string
	Verdict         plan.Verdict
	Cause           plan.Cause
	Reason          string
	JobName, Source string
	RulePath        string
	RuleLine        int
	RuleLink        string
	Filter          string
	// FilesNote says when the CI judges fewer files than the PR changes.
	FilesNote  string
	WouldDo    []string
	Wrote      []reconcile.OwnResult
	Retriggers []time.Time
	HowToRun   []string
	RecheckAt  time.Time
}

func (u *UI) detailsView(s session, ex *reconcile.Explanation) detailsView {
	snap := ex.Snapshot
	v := detailsView{
		User: s.Login, PR: ex.PR, Title: ex.Title, Author: ex.Author, Draft: ex.Draft,
		PRURL: fmt.Sprintf("%s/%s/pull/%d", strings.TrimSuffix(u.opts.WebURL, "/"), ex.PR.FullRepo(), ex.PR.Number),
		State: snap.State, HeadSHA: snap.HeadSHA, BaseBranch: snap.BaseBranch, BaseSHA: snap.BaseSHA, ReadAt: ex.At,
		Files: plan.FirstFiles(snap.Files), FileCount: len(snap.Files), FilesComplete: snap.FilesComplete,
		RuleFilesChanged: snap.RuleFilesChanged, RulesErrPath: ex.RulesErrPath, ReportAs: ex.ReportAs,
		Summary: plan.Summary(ex.Decisions),
	}
	if snap.RulesErr != nil {
		v.RulesErr = snap.RulesErr.Error()
	}
	for _, d := range ex.Decisions {
		c := contextView{Context: d.Context, Anchor: plan.Anchor(d.Context), Verdict: d.Verdict, Cause: d.Cause, Reason: d.Reason,
			HowToRun: plan.HowToRun(snap, d), RecheckAt: d.RecheckAt}
		if j := d.Job; j != nil {
			c.JobName, c.Source, c.RulePath, c.RuleLine = j.Name, plan.SourceName(j.Source), j.Origin.Path, j.Origin.Line
			c.RuleLink, c.Filter = plan.RuleLink(u.opts.WebURL, snap.BaseSHA, j), plan.FilterOf(j)
			if j.MaxFiles > 0 && len(snap.Files) > j.MaxFiles {
				c.FilesNote = fmt.Sprintf("%s looks at the first %d of them only.", plan.SourceName(j.Source), j.MaxFiles)
			}
		}
		for _, w := range d.Writes {
			c.WouldDo = append(c.WouldDo, "would "+plan.Describe(w))
		}
		for _, o := range ex.Own {
			if strings.EqualFold(o.Context, d.Context) {
				c.Wrote = append(c.Wrote, o)
			}
		}
		for _, rt := range snap.Retriggers {
			if strings.EqualFold(rt.Context, d.Context) {
				c.Retriggers = append(c.Retriggers, rt.At)
			}
		}
		sort.Slice(c.Retriggers, func(i, j int) bool { return c.Retriggers[i].Before(c.Retriggers[j]) })
		v.Contexts = append(v.Contexts, c)
	}
	return v
}

type dashboardView struct {
	User     string
	Now      time.Time
	Total    int
	Oldest   string
	ByReason []reasonCount
	Repos    []repoView
	Chart    template.HTML
	// HasAudit is set when the audit's findings are known.
	HasAudit    bool
	Findings    []audit.Finding
	FindingsErr string
}

type reasonCount struct {
	Reason stuck.Reason
	Count  int
}

type repoView struct {
	Repo     string
	ByReason []reasonCount
	PRs      []stuckView
}

type stuckView struct {
	PR       plan.PRRef
	Link     string
	HeadSHA  string
	Reason   stuck.Reason
	Since    time.Time
	Age      string
	Contexts []stuck.Context
}

func (u *UI) dashboardView(s session, now time.Time, prs []stuck.PR, history []stuck.Point, findings []audit.Finding, findingsErr error, readable map[string]bool) dashboardView {
	v := dashboardView{User: s.Login, Now: now, HasAudit: u.opts.Findings != nil}
	if findingsErr != nil {
		v.FindingsErr = findingsErr.Error()
	}
	repos := map[string]*repoView{}
	total := map[stuck.Reason]int{}
	var oldest time.Time
	for _, p := range prs {
		key := strings.ToLower(p.PR.FullRepo())
		if !readable[key] {
			continue
		}
		rv := repos[key]
		if rv == nil {
			rv = &repoView{Repo: p.PR.FullRepo()}
			repos[key] = rv
		}
		rv.PRs = append(rv.PRs, stuckView{PR: p.PR, Link: plan.DetailsPath(p.PR), HeadSHA: p.HeadSHA, Reason: p.Reason,
			Since: p.Since, Age: age(now.Sub(p.Since)), Contexts: p.Contexts})
		total[p.Reason]++
		v.Total++
		if oldest.IsZero() || p.Since.Before(oldest) {
			oldest = p.Since
		}
	}
	if !oldest.IsZero() {
		v.Oldest = age(now.Sub(oldest))
	}
	v.ByReason = counts(total)
	for _, rv := range repos {
		per := map[stuck.Reason]int{}
		for _, p := range rv.PRs {
			per[p.Reason]++
		}
		rv.ByReason = counts(per)
		v.Repos = append(v.Repos, *rv)
	}
	sort.Slice(v.Repos, func(i, j int) bool { return v.Repos[i].Repo < v.Repos[j].Repo })
	for _, f := range findings {
		if readable[strings.ToLower(f.Repo)] {
			v.Findings = append(v.Findings, f)
		}
	}
	v.Chart = chart(history)
	return v
}

// counts orders reason counts as stuck.Reasons does.
func counts(m map[stuck.Reason]int) []reasonCount {
	var out []reasonCount
	for _, r := range stuck.Reasons {
		if m[r] > 0 {
			out = append(out, reasonCount{r, m[r]})
		}
	}
	return out
}
