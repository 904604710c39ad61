package main

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/serve"
	"github.com/fix-status/fix-status/config"
)

//go:embed demo/scenario.yaml demo/prow.yaml
var demoFiles embed.FS

// The demo's live pull requests, opened while fix-status runs: one on
// kubernetes/kubernetes, one from a fork on acme/widgets.
const (
	demoLivePR = 73853
	demoForkPR = 9
)

func newDemoCmd() *cobra.Command {
	var logFile string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Replay the February 2019 Prow outage against the built-in GitHub emulator",
		Long: `demo starts the GitHub emulator with a scenario in which required checks are
stuck (conditional Prow jobs required by branch protection, a GitHub Actions
workflow with paths:, a pinned check, a PR too large to judge, a PR from a fork,
jobs that should have run and never did, a merge queue whose groups wait for a
job that never runs on them), installs fix-status, drives real signed webhooks,
and prints each PR's and merge group's required contexts before and after.
Nothing leaves 127.0.0.1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var logOut io.Writer = io.Discard
			if logFile != "" {
				f, err := os.Create(logFile)
				if err != nil {
					return err
				}
				defer f.Close()
				logOut = f
			}
			_, err := runDemo(cmd.Context(), cmd.OutOrStdout(), logOut)
			return err
		},
	}
	cmd.Flags().StringVar(&logFile, "log", "", "write the app's JSON logs to this file")
	return cmd
}

// demoResult is what the demo saw, for its test.
type demoResult struct {
	// verdicts maps "owner/repo#n context" to the final verdict.
	verdicts map[string]plan.Verdict
	// audit maps "owner/repo branch context" to its class in the audit.
	audit map[string]rules.Class
	state *fakegithub.State
}

func runDemo(ctx context.Context, out, logOut io.Writer) (*demoResult, error) {
	start := time.Now()
	data, _ := demoFiles.ReadFile("demo/scenario.yaml")
	sc, err := fakegithub.ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("demo scenario: %w", err)
	}
	gh, err := fakegithub.New(fakegithub.Options{Scenario: sc})
	if err != nil {
		return nil, err
	}
	if _, err := gh.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	defer gh.Close()

	dir, err := os.MkdirTemp("", "fix-status-demo")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	prow, _ := demoFiles.ReadFile("demo/prow.yaml")
	prowPath := filepath.Join(dir, "prow.yaml")
	if err := os.WriteFile(prowPath, prow, 0o600); err != nil {
		return nil, err
	}
	cfg := config.ForApp(config.AppCredentials(gh.Credentials()))
	cfg.Prow.JobConfig = []string{prowPath}
	// A short grace period so the demo shows re-triggers within seconds;
	// the default is 10 minutes.
	cfg.Repair.GracePeriod = config.D(3 * time.Second)
	cfg.Repair.StalePendingAfter = config.D(0)
	cfg.Repair.SweepInterval = config.D(0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	did := &demoActions{m: map[demoKey][]string{}, groups: map[string]*plan.Report{}}
	srv, err := newServer(ctx, cfg, serverOptions{listener: ln, logOut: logOut,
		service: serve.Options{Coalesce: 300 * time.Millisecond, OnReport: did.record}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.run(runCtx) }()
	defer func() { stop(); <-served }()
	gh.SetWebhookURL(srv.URL() + WebhookRoute)

	fmt.Fprintf(out, "fix-status demo: GitHub emulator at %s, fix-status at %s\n\n", gh.URL(), srv.URL())
	fmt.Fprintln(out, "February 2019: Prow stopped posting \"skipped\" statuses for jobs that did not run, while")
	fmt.Fprintln(out, "branch protection still required them, and 415 jobs never started. These PRs are stuck:")
	before := demoContexts(gh.State())

	sim := &prowSim{gh: gh, seen: map[int64]bool{}}
	steps := []struct {
		say string
		ev  fakegithub.Event
	}{
		{"installing fix-status on the kubernetes organisation", fakegithub.Event{Type: "installation.created", InstallationID: 1,
			Account: "kubernetes", AccountType: "Organization", Repos: []string{"kubernetes/kubernetes"}, User: "dims"}},
		{"installing fix-status on the acme organisation", fakegithub.Event{Type: "installation.created", InstallationID: 2,
			Account: "acme", AccountType: "Organization", Repos: []string{"acme/widgets", "acme/gadgets"}, User: "octocat"}},
		{fmt.Sprintf("a contributor opens acme/widgets#%d from a fork, changing only the README", demoForkPR), fakegithub.Event{
			Type: "pull_request.opened", Repo: "acme/widgets", Number: demoForkPR, User: "contributor", Fork: true,
			Title: "Fix a broken link in the README", HeadSHA: "0900000000000000000000000000000000000001",
			Files: []fakegithub.File{{Filename: "README.md", Status: "modified"}}}},
		{fmt.Sprintf("opening kubernetes/kubernetes#%d, which changes test/ (its e2e job never starts)", demoLivePR), fakegithub.Event{
			Type: "pull_request.opened", Repo: "kubernetes/kubernetes", Number: demoLivePR, User: "msau42",
			Title: "Add an e2e test for CSI migration", HeadSHA: "7385300000000000000000000000000000000001",
			Files: []fakegithub.File{{Filename: "test/e2e/storage/csi_migration.go", Status: "added"}}}},
		{"Prow reports pull-kubernetes-verify on it", fakegithub.Event{Type: "status", Repo: "kubernetes/kubernetes",
			SHA: "7385300000000000000000000000000000000001", Context: "pull-kubernetes-verify", State: "success",
			Description: "Job succeeded.", Creator: "k8s-ci-robot", User: "k8s-ci-robot"}},
		{"newcontributor comments /fix-status on kubernetes/kubernetes#73850", fakegithub.Event{Type: "issue_comment.created",
			Repo: "kubernetes/kubernetes", Number: 73850, User: "newcontributor", Body: "Why is this stuck?\n/fix-status\n"}},
	}
	fmt.Fprintln(out)
	for _, st := range steps {
		fmt.Fprintf(out, "  webhook: %s\n", st.say)
		if _, err := gh.Apply(ctx, st.ev); err != nil {
			return nil, fmt.Errorf("demo step %q: %w", st.say, err)
		}
		if st.ev.Type == "pull_request.opened" {
			opened := fmt.Sprintf("%s#%d", st.ev.Repo, st.ev.Number)
			for k, v := range demoContexts(gh.State()) {
				if k.pr == opened {
					before[k] = v
				}
			}
		}
	}
	fmt.Fprintln(out, "  Prow (simulated) answers every /test comment fix-status posts by starting the job")
	if err := waitQuiet(ctx, srv.svc, sim, 25*time.Second-time.Since(start)); err != nil {
		return nil, err
	}

	res := &demoResult{verdicts: map[string]plan.Verdict{}, state: gh.State()}
	after := demoContexts(res.state)
	fmt.Fprintln(out)
	for _, pr := range demoPRs(res.state) {
		owner, name, _ := strings.Cut(pr.repo, "/")
		ref := plan.RepoRef{InstallationID: pr.installation, Owner: owner, Repo: name}.PR(pr.number)
		rep, err := srv.w.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "demo", DryRun: true})
		if err != nil {
			return nil, fmt.Errorf("explaining %s: %w", ref, err)
		}
		fmt.Fprintf(out, "%s  %q  (%s)\n", ref, pr.title, pr.files)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTEXT\tBEFORE\tFIX-STATUS DID\tAFTER\tWHY NOW")
		for _, d := range rep.Decisions {
			k := demoKey{ref.String(), strings.ToLower(d.Context)}
			res.verdicts[ref.String()+" "+d.Context] = d.Verdict
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s: %s\n", d.Context, orExpected(before[k]), did.get(k), orExpected(after[k]), d.Verdict, d.Reason)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	for _, c := range comments(res.state, "kubernetes/kubernetes", 73850) {
		if strings.Contains(c.Body, "| Context |") {
			fmt.Fprintf(out, "fix-status's reply to /fix-status on kubernetes/kubernetes#73850:\n\n%s\n", indent(c.Body))
		}
	}
	if err := demoMergeQueue(ctx, out, gh, srv.svc, sim, did, 40*time.Second-time.Since(start)); err != nil {
		return nil, err
	}
	res.state = gh.State()
	for _, g := range did.groupReports() {
		for _, d := range g.Decisions {
			res.verdicts[g.MergeGroup.HeadRef+" "+d.Context] = d.Verdict
		}
	}
	// A context was stuck on a PR when nothing was reported for it before
	// fix-status ran and its own CI did not report it since.
	stuck := func(ref, context string) bool {
		k := demoKey{ref, strings.ToLower(context)}
		v := res.verdicts[ref+" "+context]
		return before[k] == "" && (did.get(k) != "nothing" || v == plan.Blocked || v == plan.Waiting)
	}
	fmt.Fprintln(out)
	if res.audit, err = demoAudit(ctx, out, srv.w, res.state, stuck); err != nil {
		return nil, err
	}
	st := gh.Stats()
	writes := 0
	for route, n := range st.ByRoute {
		if strings.HasPrefix(route, "POST /repos/") {
			writes += int(n)
		}
	}
	fmt.Fprintf(out, "%d API requests (%d answered 304), %d writes, in %s. Nothing left 127.0.0.1.\n",
		st.Requests, st.NotModified, writes, time.Since(start).Round(100*time.Millisecond))
	return res, nil
}

// demoActions collects what fix-status did, per PR (or merge group) and
// context, and the last decisions on each merge group.
type demoActions struct {
	mu     sync.Mutex
	m      map[demoKey][]string
	groups map[string]*plan.Report
}

func (a *demoActions) record(out serve.Outcome) {
	rep := out.Report
	if rep == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	name := rep.PR.String()
	if rep.MergeGroup != nil {
		name = rep.MergeGroup.HeadRef
		if len(rep.Decisions) > 0 {
			a.groups[name] = rep
		}
	}
	for i, d := range rep.Decisions {
		if act := rep.Actions[i]; act != "none" {
			k := demoKey{name, strings.ToLower(d.Context)}
			a.m[k] = append(a.m[k], act)
		}
	}
}

// groupReports are the merge groups' last decisions, in the order the
// groups were made.
func (a *demoActions) groupReports() []*plan.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*plan.Report, 0, len(a.groups))
	for _, rep := range a.groups {
		out = append(out, rep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MergeGroup.HeadRef < out[j].MergeGroup.HeadRef })
	return out
}

func (a *demoActions) get(k demoKey) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m[k]) == 0 {
		return "nothing"
	}
	return strings.Join(a.m[k], ", then ")
}

// prowSim plays Prow's trigger plugin: each /test line fix-status posts
// starts that job, which reports a pending status.
type prowSim struct {
	gh   *fakegithub.Server
	mu   sync.Mutex
	seen map[int64]bool
}

// step answers new /test comments; it reports whether it did anything.
func (p *prowSim) step(ctx context.Context) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	acted := false
	for _, r := range p.gh.State().Repos {
		for _, pr := range r.Pulls {
			for _, c := range pr.Comments {
				if p.seen[c.ID] || c.User != "fix-status[bot]" {
					continue
				}
				p.seen[c.ID] = true
				for _, line := range strings.Split(c.Body, "\n") {
					job, ok := strings.CutPrefix(strings.TrimSpace(line), "/test ")
					if !ok {
						continue
					}
					acted = true
					err := p.gh.Event(ctx, fakegithub.Event{Type: "status", Repo: r.Name, SHA: pr.HeadSHA, Context: job,
						State: "pending", Description: "Job triggered.", Creator: "k8s-ci-robot", User: "k8s-ci-robot"})
					if err != nil {
						return acted, err
					}
				}
			}
		}
	}
	return acted, nil
}

// waitQuiet waits until fix-status has nothing queued or running and Prow
// has nothing to answer, for a second in a row.
func waitQuiet(ctx context.Context, svc *serve.Service, prow *prowSim, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	quietSince := time.Time{}
	for time.Now().Before(deadline) {
		acted, err := prow.step(ctx)
		if err != nil {
			return err
		}
		switch {
		case acted || !svc.Idle():
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) > time.Second:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("demo: fix-status did not settle in time")
}

type demoKey struct{ pr, context string }

// demoContexts describes every result on every open PR's head, by PR and
// context: what GitHub shows on the PR page.
func demoContexts(s *fakegithub.State) map[demoKey]string {
	out := map[demoKey]string{}
	for _, r := range s.Repos {
		for _, pr := range r.Pulls {
			ref := fmt.Sprintf("%s#%d", r.Name, pr.Number)
			latest := latestBy(pr.Statuses, func(st fakegithub.StateStatus) (string, int64) { return st.Context, st.ID })
			for k, st := range latest {
				out[demoKey{ref, k}] = fmt.Sprintf("%s (%s)", st.State, st.Creator)
			}
			runs := latestBy(pr.CheckRuns, func(cr fakegithub.StateCheckRun) (string, int64) { return cr.Name, cr.ID })
			for k, cr := range runs {
				desc := checkRunDesc(cr)
				if prev, ok := out[demoKey{ref, k}]; ok {
					desc = prev + " + " + desc
				}
				out[demoKey{ref, k}] = desc
			}
		}
	}
	return out
}

// checkRunDesc is a check run as the PR page shows it: its conclusion
// once completed, else its status, and who reported it.
func checkRunDesc(cr fakegithub.StateCheckRun) string {
	v := cr.Status
	if cr.Status == "completed" {
		v = cr.Conclusion
	}
	return fmt.Sprintf("check %s (%s)", v, cmp.Or(cr.App, cr.Creator))
}

// latestBy keeps the newest item (highest id) per name, case-insensitively,
// as GitHub shows one status per context and one check run per name.
func latestBy[T any](items []T, nameID func(T) (string, int64)) map[string]T {
	out := map[string]T{}
	ids := map[string]int64{}
	for _, it := range items {
		name, id := nameID(it)
		k := strings.ToLower(name)
		if prev, ok := ids[k]; !ok || id > prev {
			out[k], ids[k] = it, id
		}
	}
	return out
}

func orExpected(s string) string {
	if s == "" {
		return "Expected — waiting"
	}
	return s
}

type demoPR struct {
	repo         string
	number       int
	title        string
	files        string
	installation int64
}

func demoPRs(s *fakegithub.State) []demoPR {
	inst := map[string]int64{}
	for _, i := range s.Installations {
		for _, r := range i.Repos {
			inst[r] = i.ID
		}
	}
	var out []demoPR
	for _, r := range s.Repos {
		for _, pr := range r.Pulls {
			if pr.State != "open" {
				continue
			}
			files := fmt.Sprintf("%d files", len(pr.Files))
			if len(pr.Files) <= 2 {
				var names []string
				for _, f := range pr.Files {
					names = append(names, f.Filename)
				}
				files = strings.Join(names, ", ")
			}
			if pr.Fork {
				files += "; from a fork"
			}
			out = append(out, demoPR{repo: r.Name, number: pr.Number, title: pr.Title, files: files, installation: inst[r.Name]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].repo != out[j].repo {
			return out[i].repo > out[j].repo
		}
		return out[i].number < out[j].number
	})
	return out
}

func comments(s *fakegithub.State, repo string, number int) []fakegithub.StateComment {
	for _, r := range s.Repos {
		for _, pr := range r.Pulls {
			if r.Name == repo && pr.Number == number {
				return pr.Comments
			}
		}
	}
	return nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// demoAudit ends the demo with the audit of the branches it repaired: every
// required context judged against the CI's rules, and which of them left
// the PRs stuck.
func demoAudit(ctx context.Context, out io.Writer, w *wired, s *fakegithub.State, stuck func(ref, context string) bool) (map[string]rules.Class, error) {
	repos, err := ghapi.InstalledRepos(ctx, w.clients)
	if err != nil {
		return nil, err
	}
	reports, errs := auditRepos(ctx, w, repos)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("demo audit: %w", err)
	}
	rep := audit.NewReport(reports, audit.DefaultFailOn)
	fmt.Fprintln(out, "Why they were stuck: `fix-status audit --config CONFIG` judges each required context of the")
	fmt.Fprintln(out, "protected branches against the CI's own rules (`--fail-on` makes it a CI check):")
	fmt.Fprintln(out)
	if err := audit.WriteText(out, rep); err != nil {
		return nil, err
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "The required contexts the PRs and merge groups above were stuck on:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	classes := map[string]rules.Class{}
	var orphaned []string
	for _, b := range rep.Branches {
		for _, r := range b.Required {
			classes[b.Repo+" "+b.Branch+" "+r.Context] = r.Class
			prs, groups := demoStuckOn(s, stuck, b.Repo, b.Branch, r.Context)
			if len(prs) > 0 {
				fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", b.Repo, r.Context, r.Class, strings.Join(prs, " "), demoRemedy(r))
			}
			for _, g := range groups {
				fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", b.Repo, r.Context, r.Class, g,
					"its job never runs on merge groups: groups that change its files wait until it gets a merge_group trigger")
			}
			if len(prs) == 0 {
				continue
			}
			if r.Class == rules.ClassOrphaned {
				orphaned = append(orphaned, fmt.Sprintf("%s (%s %s)", r.Context, b.Repo, b.Branch))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	if len(orphaned) > 0 {
		fmt.Fprintf(out, "\nOrphaned: %s. No job reports it, so every PR to the branch stays\n"+
			"blocked until the protection stops requiring it; fix-status can only say so.\n", strings.Join(orphaned, ", "))
	}
	fmt.Fprintln(out)
	return classes, nil
}

// demoStuckOn lists the open PRs to branch of repo, and the merge groups
// still queued for it, stuck on context.
func demoStuckOn(s *fakegithub.State, stuck func(ref, context string) bool, repo, branch, context string) (prs, groups []string) {
	for _, r := range s.Repos {
		if r.Name != repo {
			continue
		}
		for _, pr := range r.Pulls {
			if pr.Base == branch && pr.State == "open" && stuck(fmt.Sprintf("%s#%d", r.Name, pr.Number), context) {
				prs = append(prs, fmt.Sprintf("#%d", pr.Number))
			}
		}
		for _, g := range r.MergeGroups {
			if strings.TrimPrefix(g.BaseRef, "refs/heads/") == branch && g.State == "queued" && stuck(g.HeadRef, context) {
				groups = append(groups, fmt.Sprintf("the merge group of %s", groupPRs(g)))
			}
		}
	}
	return prs, groups
}

// groupPRs names a merge group's pull requests.
func groupPRs(g fakegithub.StateMergeGroup) string {
	prs := make([]string, len(g.PRs))
	for i, n := range g.PRs {
		prs[i] = fmt.Sprintf("#%d", n)
	}
	return strings.Join(prs, " ")
}

// demoRemedy says who can unblock a PR waiting on a context of this class.
func demoRemedy(r audit.Required) string {
	switch {
	case r.Class == rules.ClassConditional && r.AppID != 0:
		return "pinned to another app: only that app can report it, fix-status cannot skip it"
	case r.Class == rules.ClassConditional:
		return "fix-status skips it where its job would not run, re-runs it where it should have"
	case r.Class == rules.ClassOrphaned:
		return "no job reports it: drop it from the protection"
	}
	return r.Reason
}

// demoQueue is the demo's repository with a merge queue.
const demoQueue = "acme/gadgets"

// demoMergeQueue queues acme/gadgets' PRs one after the other, waits for
// fix-status and the queue to settle, and shows each merge group: what its
// required contexts were, what fix-status did, and whether it merged.
func demoMergeQueue(ctx context.Context, out io.Writer, gh *fakegithub.Server, svc *serve.Service, sim *prowSim, did *demoActions, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	fmt.Fprintf(out, "\nMerge queue of %s main: \"e2e\" has no merge_group trigger, so it never reports on a merge group.\n\n", demoQueue)
	for _, pr := range []struct {
		number int
		say    string
	}{{21, "only docs/"}, {22, "src/"}} {
		fmt.Fprintf(out, "  octocat queues %s#%d (it changes %s)\n", demoQueue, pr.number, pr.say)
		if _, err := gh.Apply(ctx, fakegithub.Event{Type: "merge_group.checks_requested", Repo: demoQueue, PRs: []int{pr.number}, User: "octocat"}); err != nil {
			return fmt.Errorf("demo: queueing %s#%d: %w", demoQueue, pr.number, err)
		}
		if err := waitQuiet(ctx, svc, sim, time.Until(deadline)); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	var groups []fakegithub.StateMergeGroup
	for _, r := range gh.State().Repos {
		if r.Name == demoQueue {
			groups = r.MergeGroups
		}
	}
	reports := map[string]*plan.Report{}
	for _, rep := range did.groupReports() {
		reports[rep.MergeGroup.HeadRef] = rep
	}
	for _, g := range groups {
		state := g.State
		if g.Cause != "" {
			state += ": " + g.Cause
		}
		fmt.Fprintf(out, "merge group of %s (%s): %s\n", groupPRs(g), g.HeadRef, state)
		rep := reports[g.HeadRef]
		if rep == nil {
			fmt.Fprintln(out, "  fix-status decided nothing on it")
			continue
		}
		runs := latestBy(g.CheckRuns, func(cr fakegithub.StateCheckRun) (string, int64) { return cr.Name, cr.ID })
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTEXT\tFIX-STATUS DID\tAFTER\tWHY")
		for _, d := range rep.Decisions {
			after := ""
			if cr, ok := runs[strings.ToLower(d.Context)]; ok {
				after = checkRunDesc(cr)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s: %s\n", d.Context, did.get(demoKey{g.HeadRef, strings.ToLower(d.Context)}), orExpected(after), d.Verdict, d.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	return nil
}
