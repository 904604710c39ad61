package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	res, err := runDemo(context.Background(), &out, io.Discard)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	want := map[string]plan.Verdict{
		"kubernetes/kubernetes#73850 pull-kubernetes-verify":   plan.Satisfied,
		"kubernetes/kubernetes#73850 pull-kubernetes-e2e-gce":  plan.Satisfied, // skipped by fix-status
		"kubernetes/kubernetes#73850 pull-kubernetes-node-e2e": plan.Satisfied,
		"kubernetes/kubernetes#73851 pull-kubernetes-verify":   plan.Satisfied,
		"kubernetes/kubernetes#73851 pull-kubernetes-e2e-gce":  plan.Waiting, // re-triggered, Prow started it
		"kubernetes/kubernetes#73851 pull-kubernetes-node-e2e": plan.Waiting,
		"kubernetes/kubernetes#73852 pull-kubernetes-verify":   plan.Satisfied,
		"kubernetes/kubernetes#73852 pull-kubernetes-e2e-gce":  plan.Blocked, // 3,500 files: cannot judge
		"kubernetes/kubernetes#73852 pull-kubernetes-node-e2e": plan.Waiting,
		"kubernetes/kubernetes#73853 pull-kubernetes-verify":   plan.Satisfied,
		"kubernetes/kubernetes#73853 pull-kubernetes-e2e-gce":  plan.Waiting,
		"kubernetes/kubernetes#73853 pull-kubernetes-node-e2e": plan.Waiting,
		// Required, but no job reports it: nothing can repair it.
		"kubernetes/kubernetes#73850 pull-kubernetes-bazel": plan.Blocked,
		"kubernetes/kubernetes#73851 pull-kubernetes-bazel": plan.Blocked,
		"kubernetes/kubernetes#73852 pull-kubernetes-bazel": plan.Blocked,
		"kubernetes/kubernetes#73853 pull-kubernetes-bazel": plan.Blocked,
		"acme/widgets#7 build":                              plan.Satisfied, // skipped check run
		"acme/widgets#7 lint":                               plan.Blocked,   // pinned to GitHub Actions
		"acme/widgets#8 build":                              plan.Blocked,   // the PR edits its own workflow
		"acme/widgets#8 lint":                               plan.Blocked,
		"acme/widgets#9 build":                              plan.Satisfied, // from a fork: skipped check run
		"acme/widgets#9 lint":                               plan.Blocked,
		"acme/gadgets#21 build":                             plan.Satisfied,
		"acme/gadgets#21 e2e":                               plan.Satisfied, // skipped check run
		"acme/gadgets#22 build":                             plan.Satisfied,
		"acme/gadgets#22 e2e":                               plan.Satisfied,
		// The merge queue: a docs-only group gets e2e skipped and merges;
		// a group changing src/ would run it, so it waits, with the fix.
		demoGroup(21) + " build": plan.Satisfied,
		demoGroup(21) + " e2e":   plan.Skip,
		demoGroup(22) + " build": plan.Satisfied,
		demoGroup(22) + " e2e":   plan.Blocked,
	}
	if d := cmp.Diff(want, res.verdicts); d != "" {
		t.Errorf("verdicts (-want +got):\n%s\n%s", d, out.String())
	}
	// What a person sees on GitHub: fix-status's skips, its re-trigger
	// comments, and its reply to /fix-status.
	var skips, retriggers, replies int
	for _, r := range res.state.Repos {
		for _, pr := range r.Pulls {
			for _, st := range pr.Statuses {
				if st.Creator == "fix-status[bot]" && st.State == "success" && strings.HasPrefix(st.Description, "Skipped: ") {
					skips++
				}
			}
			for _, cr := range pr.CheckRuns {
				if cr.App == "fix-status" && cr.Conclusion == "skipped" {
					skips++
				}
			}
			for _, c := range pr.Comments {
				switch {
				case c.User == "fix-status[bot]" && strings.HasPrefix(c.Body, "/test "):
					retriggers++
				case c.User == "fix-status[bot]" && strings.Contains(c.Body, "| Context | Verdict | Reason | Action |"):
					replies++
				}
			}
		}
	}
	for _, r := range res.state.Repos {
		for _, g := range r.MergeGroups {
			for _, cr := range g.CheckRuns {
				if cr.App == "fix-status" && cr.Conclusion == "skipped" {
					skips++
				}
			}
			want := map[int]string{21: "merged", 22: "queued"}[g.PRs[0]]
			if g.State != want {
				t.Errorf("the merge group of #%d is %s (%s), want %s", g.PRs[0], g.State, g.Cause, want)
			}
		}
	}
	// #73850 (two statuses), #7, #9, #21 and the group of #21.
	if skips != 6 || retriggers != 3 || replies != 1 {
		t.Errorf("skips %d (want 6), re-trigger comments %d (want 3), replies %d (want 1)\n%s", skips, retriggers, replies, out.String())
	}
	// The demo ends with the audit of its own branches.
	wantAudit := map[string]rules.Class{
		"kubernetes/kubernetes master pull-kubernetes-verify":   rules.ClassAlways,
		"kubernetes/kubernetes master pull-kubernetes-e2e-gce":  rules.ClassConditional,
		"kubernetes/kubernetes master pull-kubernetes-node-e2e": rules.ClassConditional,
		"kubernetes/kubernetes master pull-kubernetes-bazel":    rules.ClassOrphaned,
		"acme/widgets main build":                               rules.ClassConditional,
		"acme/widgets main lint":                                rules.ClassConditional,
		"acme/gadgets main build":                               rules.ClassAlways,
		"acme/gadgets main e2e":                                 rules.ClassConditional,
	}
	if d := cmp.Diff(wantAudit, res.audit); d != "" {
		t.Errorf("audit classes (-want +got):\n%s", d)
	}
	if !regexp.MustCompile(`kubernetes/kubernetes pull-kubernetes-bazel +orphaned +#73850 #73851 #73852 #73853 +no job reports it`).MatchString(out.String()) {
		t.Errorf("the audit does not name the PRs stuck on the orphaned context:\n%s", out.String())
	}
	for _, want := range []string{"BEFORE", "Expected — waiting", "Skipped: every changed file matches skip_if_only_changed",
		"1 finding(s) of class orphaned, manual, pinned_elsewhere",
		"Orphaned: pull-kubernetes-bazel (kubernetes/kubernetes master).", "Nothing left 127.0.0.1.",
		"(README.md; from a fork)", "blocked: add merge_group: to .github/workflows/e2e.yml",
		"acme/gadgets e2e", "the merge group of #22"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// demoGroup is the branch of the demo's merge group of one PR.
func demoGroup(pr int) string {
	return fmt.Sprintf("refs/heads/gh-readonly-queue/main/pr-%d-%d00000000000000000000000000000000000001", pr, pr)
}
