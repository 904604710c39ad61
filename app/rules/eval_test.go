package rules

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// prefixFiles is a file filter that runs when a file starts with it.
type prefixFiles string

func (p prefixFiles) Match(files []string) (bool, string) {
	for _, f := range files {
		if strings.HasPrefix(f, string(p)) {
			return true, "prefix " + string(p) + " matches " + f
		}
	}
	return false, "no changed file starts with " + string(p)
}

func (p prefixFiles) String() string { return "prefix " + string(p) }

// onlyBranch is a branch filter that admits one branch.
type onlyBranch string

func (b onlyBranch) Match(branch string) (bool, string) {
	if branch == string(b) {
		return true, ""
	}
	return false, "branch " + branch + " is not " + string(b)
}

func always(mod ...func(*Job)) *Job {
	j := &Job{Name: "always", Context: "always", Source: SourceActions, Trigger: TriggerAlways}
	for _, m := range mod {
		m(j)
	}
	return j
}

func conditional(prefix string, mod ...func(*Job)) *Job {
	j := &Job{Name: "cond", Context: "cond", Source: SourceActions, Trigger: TriggerConditional, Files: prefixFiles(prefix)}
	for _, m := range mod {
		m(j)
	}
	return j
}

func firstHeadOnly(j *Job)  { j.Heads, j.HeadsNote = HeadsFirst, "runs only on opened" }
func laterHeadsOnly(j *Job) { j.Heads, j.HeadsNote = HeadsLater, "runs only on synchronize" }
func onMergeGroups(j *Job) {
	j.MergeGroup = MergeGroup{Runs: true, Why: "merge_group trigger in ci.yml", Fix: "make on.merge_group in ci.yml admit the base branch"}
}
func mergeGroupOn(branch string) func(*Job) {
	return func(j *Job) { onMergeGroups(j); j.MergeGroup.Branches = onlyBranch(branch) }
}
func fix(j *Job) { j.MergeGroup.Fix = "add merge_group: to ci.yml" }

func TestEvaluateJob(t *testing.T) {
	pr := func(files ...string) Change { return Change{Branch: "main", Files: files, Complete: true} }
	first := func(files ...string) Change { c := pr(files...); c.FirstHead = true; return c }
	group := func(files ...string) Change { c := pr(files...); c.MergeGroup = true; return c }
	tests := []struct {
		name   string
		job    *Job
		change Change
		want   string // "verdict: reason"
	}{
		{"always", always(), pr("a"), "run: runs on every pull request to main"},
		{"prow always", always(func(j *Job) { j.Source = SourceProw }), pr("a"), "run: always_run"},
		{"conditional runs", conditional("src/"), pr("src/a"), "run: prefix src/ matches src/a"},
		{"conditional skips", conditional("src/"), pr("docs/a"), "skip: no changed file starts with src/"},
		{"incomplete list", conditional("src/"), Change{Branch: "main", Files: []string{"docs/a"}}, "unknown: the changed-file list is incomplete (1 files listed)"},
		{"unknown wins", conditional("src/", func(j *Job) { j.Unknown = "cannot tell" }), pr("src/a"), "unknown: cannot tell"},
		{"manual", &Job{Trigger: TriggerManual, Rerun: Rerun{Comment: "/test x"}}, pr("a"), "manual: runs only when requested: /test x"},
		{"one line", conditional("a\nb"), pr("a\nb/c"), `run: prefix a\nb matches a\nb/c`},

		// A job that starts only on opened cannot report on later heads.
		{"opened only, later head", always(firstHeadOnly), pr("a"), "unknown: runs only on opened: does not run on later pushes"},
		{"opened only, first head", always(firstHeadOnly), first("a"), "run: runs on every pull request to main"},
		{"opened only conditional, first head", conditional("src/", firstHeadOnly), first("docs/a"), "skip: no changed file starts with src/"},
		{"opened only conditional, later head", conditional("src/", firstHeadOnly), pr("docs/a"), "unknown: runs only on opened: does not run on later pushes"},
		{"opened only, other branch", always(firstHeadOnly, func(j *Job) { j.Branches = onlyBranch("dev") }), pr("a"), "not_on_branch: branch main is not dev"},
		{"synchronize only, first head", always(laterHeadsOnly), first("a"), "unknown: runs only on synchronize: does not run on the head a pull request is opened with"},
		{"synchronize only, later head", always(laterHeadsOnly), pr("a"), "run: runs on every pull request to main"},

		// Merge groups.
		{"runs on merge groups", conditional("src/", onMergeGroups), group("docs/a"), "run: runs on merge groups: merge_group trigger in ci.yml"},
		{"merge group branch filter admits", always(mergeGroupOn("main")), group("a"), "run: runs on merge groups: merge_group trigger in ci.yml"},
		{"merge group branch filter excludes", always(mergeGroupOn("dev")), group("a"),
			"not_on_merge_group: make on.merge_group in ci.yml admit the base branch (would run: runs on every pull request to main)"},
		{"never on merge groups, not concerned", conditional("src/", fix), group("docs/a"), "skip: no changed file starts with src/"},
		{"never on merge groups, concerned", conditional("src/", fix), group("src/a"), "not_on_merge_group: add merge_group: to ci.yml (would run: prefix src/ matches src/a)"},
		{"never on merge groups, always run", always(fix), group(), "not_on_merge_group: add merge_group: to ci.yml (would run: runs on every pull request to main)"},
		{"never on merge groups, no fix known", always(), group("a"), "not_on_merge_group: does not run on merge groups (would run: runs on every pull request to main)"},
		{"never on merge groups, other branch", always(fix, func(j *Job) { j.Branches = onlyBranch("dev") }), group("a"), "not_on_branch: branch main is not dev"},
		{"manual on merge groups", &Job{Trigger: TriggerManual}, group("a"), "manual: runs only when requested"},
		{"unknown on merge groups", always(onMergeGroups, func(j *Job) { j.Unknown = "cannot tell" }), group("a"), "unknown: cannot tell"},
		// Heads do not matter for a merge group.
		{"opened only on merge groups", always(firstHeadOnly, fix), group("a"), "not_on_merge_group: add merge_group: to ci.yml (would run: runs on every pull request to main)"},
		{"merge group past the file limit", conditional("src/", fix, func(j *Job) { j.MaxFiles = 1 }), group("docs/a", "src/a"),
			"unknown: 2 changed files; GitHub Actions evaluates only the first 1"},
		{"merge group, incomplete list", conditional("src/", fix), Change{Branch: "main", Files: []string{"docs/a"}, MergeGroup: true},
			"unknown: the changed-file list is incomplete (1 files listed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate([]*Job{tt.job}, tt.change)[0]
			if got := string(r.Verdict) + ": " + r.Reason; got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if n := utf8.RuneCountInString(r.Reason); n > MaxReason || strings.Contains(r.Reason, "\n") {
				t.Errorf("reason of %d characters or on several lines", n)
			}
		})
	}
}

func TestEvaluateReasonsFit(t *testing.T) {
	long := strings.Repeat("x", 200)
	job := conditional(long, func(j *Job) { j.MergeGroup.Fix = "add merge_group: to " + long })
	for _, change := range []Change{
		{Branch: "main", Files: []string{long + "/a"}, Complete: true},
		{Branch: "main", Files: []string{long + "/a"}, Complete: true, MergeGroup: true},
	} {
		r := Evaluate([]*Job{job}, change)[0]
		if n := utf8.RuneCountInString(r.Reason); n != MaxReason || !strings.HasSuffix(r.Reason, "…") {
			t.Errorf("%s reason of %d characters: %q", r.Verdict, n, r.Reason)
		}
	}
}

func TestReports(t *testing.T) {
	exact := &Job{Context: "Build (Linux)"}
	pattern := &Job{Context: "lint-${{ matrix.x }}", ContextPattern: NewContextPattern("", []string{"lint-", ""})}
	tests := []struct {
		job     *Job
		context string
		want    bool
	}{
		{exact, "build (linux)", true},
		{exact, "Build (Linux) ", false},
		{pattern, "lint-go", true},
		{pattern, "LINT-", true},
		// The template itself is for messages only.
		{pattern, "lint-${{ matrix.x }}x", true},
		{pattern, "golint-go", false},
	}
	var got, want []bool
	for _, tt := range tests {
		got, want = append(got, tt.job.Reports(tt.context)), append(want, tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Reports (-want +got):\n%s", diff)
	}
}
