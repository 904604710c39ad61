package plan

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/rules/actions"
	"github.com/fix-status/fix-status/app/rules/prow"
)

// The texts people read (check-run texts, replies, re-trigger comments)
// are compared with golden files in testdata/texts, read once by eye when
// they change: go test ./app/plan -run TestTexts -update rewrites them.
var update = flag.Bool("update", false, "rewrite the golden files of TestTexts")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "texts", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update and read the diff):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// realJobs are jobs with the real Prow and Actions filters, so the texts
// name filters as the CIs write them.
func realJobs() []*rules.Job {
	return []*rules.Job{
		{Name: "pull-docs", Context: "pull-docs", Source: rules.SourceProw, Trigger: rules.TriggerConditional,
			Files:  must(prow.NewFileFilter("^docs/", false)),
			Origin: rules.Origin{Repo: "o/r", Path: "config/jobs.yaml", Line: 12},
			Rerun:  rules.Rerun{Method: rules.RerunComment, Comment: "/test pull-docs"}},
		{Name: "ci.yml/lint", Context: "lint", Source: rules.SourceActions, Trigger: rules.TriggerConditional,
			Files: must(actions.NewPathFilter([]string{"src/**", "!src/docs/**"}, false)), MaxFiles: 300,
			Origin: rules.Origin{Repo: "o/r", Path: ".github/workflows/ci.yml", Line: 7},
			Rerun:  rules.Rerun{Method: rules.RerunActions, Workflow: "ci.yml"}},
		{Name: "pull-release", Context: "pull-release", Source: rules.SourceProw, Trigger: rules.TriggerAlways,
			Branches: must(prow.NewBranchFilter([]string{"^release-"}, nil)),
			Origin:   rules.Origin{Repo: "o/r", Path: "config/jobs.yaml", Line: 30},
			Rerun:    rules.Rerun{Method: rules.RerunComment, Comment: "/test pull-release"}},
		{Name: "pull-e2e", Context: "pull-e2e", Source: rules.SourceProw, Trigger: rules.TriggerConditional,
			Files:  must(prow.NewFileFilter("^pkg/", false)),
			Origin: rules.Origin{Repo: "o/r", Path: "config/jobs.yaml", Line: 40},
			Rerun:  rules.Rerun{Method: rules.RerunComment, Comment: "/test pull-e2e"}},
		{Name: "pull-conformance", Context: "pull-conformance", Source: rules.SourceProw, Trigger: rules.TriggerManual,
			Origin: rules.Origin{Repo: "o/r", Path: "config/jobs.yaml", Line: 50},
			Rerun:  rules.Rerun{Method: rules.RerunComment, Comment: "/test pull-conformance"}},
	}
}

func textSnapshot(required ...string) *Snapshot {
	s := &Snapshot{
		PR: RepoRef{Owner: "o", Repo: "r"}.PR(7), State: "open",
		BaseBranch: "main", BaseSHA: "b4se000000000000000000000000000000000001", HeadSHA: "4ead000000000000000000000000000000000001",
		HeadSince: now.Add(-time.Hour), Files: []string{"README.md", "src/docs/intro.md", "pkg/a.go"}, FilesComplete: true,
		Jobs: realJobs(), RetriggersRead: true,
	}
	for _, r := range required {
		s.Required = append(s.Required, RequiredCheck{Context: r, From: "protection"})
	}
	return s
}

func decision(t *testing.T, s *Snapshot, o PlanOptions, context string) Decision {
	t.Helper()
	for _, d := range Plan(s, o) {
		if d.Context == context {
			return d
		}
	}
	t.Fatalf("no decision for %s", context)
	return Decision{}
}

func writeOf(t *testing.T, d Decision, kind WriteKind) Write {
	t.Helper()
	for _, w := range d.Writes {
		if w.Kind == kind {
			return w
		}
	}
	t.Fatalf("%s: no %s write in %+v", d.Context, kind, d.Writes)
	return Write{}
}

func checkRunFile(w Write) string {
	return fmt.Sprintf("title: %s\nsummary: %s\ndetails_url: %s\n\n%s", w.Title, w.Description, w.TargetURL, w.Text)
}

func TestTextsCheckRuns(t *testing.T) {
	o := opts
	o.ReportAs = "check_run"

	t.Run("skip, Prow, linked to the rule", func(t *testing.T) {
		s := textSnapshot("pull-docs")
		golden(t, "checkrun-skip-prow.md", checkRunFile(writeOf(t, decision(t, s, o, "pull-docs"), WriteCheckRun)))
	})
	t.Run("skip, Actions, 60 files, linked to the details page", func(t *testing.T) {
		s := textSnapshot("lint")
		s.Files = nil
		for i := range 60 {
			s.Files = append(s.Files, fmt.Sprintf("docs/page-%02d.md", i))
		}
		o := o
		o.PublicURL = "https://fix-status.example.com"
		golden(t, "checkrun-skip-actions.md", checkRunFile(writeOf(t, decision(t, s, o, "lint"), WriteCheckRun)))
	})
	t.Run("skip, not on the branch", func(t *testing.T) {
		s := textSnapshot("pull-release")
		golden(t, "checkrun-skip-branch.md", checkRunFile(writeOf(t, decision(t, s, o, "pull-release"), WriteCheckRun)))
	})
	t.Run("revoke", func(t *testing.T) {
		s := textSnapshot("pull-e2e")
		s.CheckRuns = []CheckRun{{ID: 1, Name: "pull-e2e", Status: "completed", Conclusion: "skipped", AppID: opts.AppID}}
		golden(t, "checkrun-revoke.md", checkRunFile(writeOf(t, decision(t, s, o, "pull-e2e"), WriteCheckRun)))
	})
}

// TestTextsHowToRun: what each cause tells people to do, one block per
// cause, from real plans.
func TestTextsHowToRun(t *testing.T) {
	cases := []struct {
		cause   Cause
		context string
		edit    func(s *Snapshot)
	}{
		{CauseWouldNotRun, "pull-docs", nil},
		{CauseOwnSkip, "pull-docs", func(s *Snapshot) {
			s.Statuses = []Status{{Context: "pull-docs", State: "success", Creator: "fix-status[bot]"}}
		}},
		{CauseFailed, "pull-e2e", func(s *Snapshot) { s.Statuses = []Status{{Context: "pull-e2e", State: "failure", Creator: "prow"}} }},
		{CausePending, "pull-e2e", func(s *Snapshot) {
			s.Statuses = []Status{{Context: "pull-e2e", State: "pending", Creator: "prow", CreatedAt: now.Add(-time.Minute)}}
		}},
		{CauseGracePeriod, "pull-e2e", func(s *Snapshot) { s.HeadSince = now.Add(-time.Minute) }},
		{CauseNotReported, "pull-e2e", nil},
		{CauseRevoked, "pull-e2e", func(s *Snapshot) {
			s.Statuses = []Status{{Context: "pull-e2e", State: "success", Creator: "fix-status[bot]"}}
		}},
		{CausePinned, "pull-docs", func(s *Snapshot) { s.Required[0].AppID = GitHubActionsAppID }},
		{CauseIncompleteFiles, "lint", func(s *Snapshot) {
			s.Files = nil
			for i := range 301 {
				s.Files = append(s.Files, fmt.Sprintf("docs/%03d.md", i))
			}
		}},
		{CauseManual, "pull-conformance", nil},
		{CauseNoJob, "ci/mystery", nil},
		{CauseRulesError, "pull-docs", func(s *Snapshot) {
			s.RulesErr = errors.New(`config/jobs.yaml: job "pull-docs": invalid run_if_changed regex "^(docs"`)
		}},
		{CauseRulesChanged, "pull-docs", func(s *Snapshot) {
			s.RuleFilesChanged = []string{"config/jobs.yaml"}
			s.HeadJobs = []*rules.Job{{Name: "pull-docs", Context: "pull-docs", Trigger: rules.TriggerAlways}}
		}},
		{CauseRetriggersExhausted, "pull-e2e", func(s *Snapshot) {
			for i := 1; i <= DefaultMaxRetriggers; i++ {
				s.Retriggers = append(s.Retriggers, PastRetrigger{Context: "pull-e2e", At: now.Add(-time.Duration(i) * time.Hour)})
			}
		}},
		{CauseNoRerun, "pull-e2e", func(s *Snapshot) { s.Jobs[3].Rerun = rules.Rerun{} }},
		{CauseUnknown, "pull-docs", func(s *Snapshot) { s.Jobs[0].Unknown = "its check name depends on an expression" }},
		{CauseNeedsPermission, "pull-e2e", func(s *Snapshot) {
			s.Command = &Command{Commenter: "reader", Association: "CONTRIBUTOR", Policy: CommandAnyone, Permission: "read", PermissionRead: true}
		}},
	}
	var b strings.Builder
	for _, c := range cases {
		s := textSnapshot(c.context)
		if c.edit != nil {
			c.edit(s)
		}
		d := decision(t, s, opts, c.context)
		if d.Cause != c.cause {
			t.Errorf("%s: cause %s (%s: %s), want %s", c.context, d.Cause, d.Verdict, d.Reason, c.cause)
		}
		fmt.Fprintf(&b, "## %s (%s: %s)\n\n", c.cause, d.Verdict, d.Reason)
		for _, line := range HowToRun(s, d) {
			fmt.Fprintf(&b, "- %s\n", line)
		}
		b.WriteString("\n")
	}
	golden(t, "how-to-run.md", b.String())
}

func TestTextsReplies(t *testing.T) {
	s := textSnapshot("pull-docs", "pull-e2e", "pull-conformance", "ci/mystery")
	rep := func(s *Snapshot) *Report {
		ds := Plan(s, opts)
		r := &Report{PR: s.PR, HeadSHA: s.HeadSHA, Decisions: ds, RulesErr: s.RulesErr}
		for _, d := range ds {
			var parts []string
			for _, w := range d.Writes {
				parts = append(parts, Describe(w))
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			r.Actions = append(r.Actions, strings.Join(parts, "; "))
			r.Writes += len(d.Writes)
		}
		return r
	}
	forbidden := errors.New("POST https://api.github.com/repos/o/r/statuses/4ead000: 403 Resource not accessible by integration []")

	golden(t, "reply-checked.md", CommandReply("alice", rep(s), nil))
	reader := textSnapshot("pull-docs", "pull-e2e")
	reader.Command = &Command{Commenter: "reader", Association: "CONTRIBUTOR", Policy: CommandAnyone, Permission: "read", PermissionRead: true}
	golden(t, "reply-needs-permission.md", CommandReply("reader", rep(reader), nil))
	bad := textSnapshot("pull-docs")
	bad.RulesErr = errors.New(`.github/fix-status.yml: line 4: unknown key "run_if_change"`)
	r := rep(bad)
	r.RulesErrPath = ".github/fix-status.yml"
	golden(t, "reply-rules-error.md", CommandReply("alice", r, nil))
	failed := rep(textSnapshot("pull-docs"))
	failed.Actions[0], failed.Writes = "failed to set status success", 0
	golden(t, "reply-write-failed.md", CommandReply("alice", failed, fmt.Errorf("failed to set status \"pull-docs\" on o/r@4ead000: %w", forbidden)))
	golden(t, "reply-error.md", CommandReply("alice", nil, errors.New("failed to get pull request o/r#7: GET https://api.github.com/repos/o/r/pulls/7: 502 Bad Gateway []")))
	golden(t, "reply-refused.md", CommandReply("stranger", &Report{PR: s.PR, Skipped: "only collaborators may run /fix-status on o/r"}, nil))
	golden(t, "reply-no-checks.md", CommandReply("alice", &Report{PR: s.PR, HeadSHA: s.HeadSHA}, nil))
	noAdmin := errors.New("o/r:main: classic branch protection cannot be read: permission missing: administration=read; grant it in the app's settings")
	partial := rep(textSnapshot("pull-docs"))
	partial.ProtectionErr = noAdmin
	golden(t, "reply-protection-unread.md", CommandReply("alice", partial, nil))
	golden(t, "reply-no-ruleset-checks.md", CommandReply("alice", &Report{PR: s.PR, HeadSHA: s.HeadSHA, ProtectionErr: noAdmin}, nil))
	golden(t, "reply-too-soon.md", CommandTooSoon("alice", now.Add(42*time.Second)))
	golden(t, "reply-command-refused.md", CommandRefused("bob", "the pull request is closed"))
	golden(t, "retrigger-comment.md", RetriggerComment([]Write{
		{Kind: WriteComment, Context: "pull-e2e", Comment: "/test pull-e2e"},
		{Kind: WriteComment, Context: "pull-e2e-gce", Comment: "/test pull-e2e"},
	}, s.HeadSHA))
}

func TestFixFor(t *testing.T) {
	tests := []struct {
		err  string
		want string // a part of the advice; "" for none
	}{
		{"POST https://api.github.com/repos/o/r/statuses/x: 403 Resource not accessible by integration []", "lack of a permission"},
		{"GET https://api.github.com/repos/o/r/pulls/7: 404 Not Found []", "no longer be installed"},
		{"POST https://api.github.com/repos/o/r/check-runs: 422 Validation Failed [{Resource:CheckRun Field:name Code:missing_field}]", "refused what fix-status sent"},
		{"GET https://api.github.com/repos/o/r/pulls/7: 503 Service Unavailable []", "failed to answer"},
		{"GET https://api.github.com/repos/o/r/pulls/7: 403 API rate limit of 5000 still exceeded until 2026-11-26 13:00:00 +0000 UTC, not making remote request. [rate reset in 59m]", "rate limit"},
		{`config/jobs.yaml: job "x": invalid run_if_changed regex`, ""},
	}
	for _, tt := range tests {
		got := FixFor(errors.New(tt.err))
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("FixFor(%q) = %q, want it to say %q", tt.err, got, tt.want)
		}
	}
	if FixFor(nil) != "" {
		t.Error("FixFor(nil) advises something")
	}
}

func TestAnchorAndDetailsURL(t *testing.T) {
	for ctx, want := range map[string]string{
		"build (linux)": "check-build-linux", "ci/docs": "check-ci-docs", "Lint": "check-lint", "a  b": "check-a-b",
	} {
		if got := Anchor(ctx); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", ctx, got, want)
		}
	}
	pr := RepoRef{Owner: "o", Repo: "r.go"}.PR(7)
	if got := DetailsURL("https://x.example/", pr, "ci/docs"); got != "https://x.example/prs/o/r.go/7#check-ci-docs" {
		t.Errorf("DetailsURL = %q", got)
	}
}
