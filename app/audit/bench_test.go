package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
)

// A real-sized offline audit: the project's sample Prow config plus a
// generated job config tree the size of Kubernetes' (thousands of
// presubmits over hundreds of files and dozens of repositories), one
// branch with a Kubernetes-sized list of required contexts, some renamed.
//
//	go test -run '^$' -bench . -benchmem ./app/audit/
const (
	benchFiles       = 400
	benchJobsPerFile = 12 // 4,800 generated jobs
	benchRepos       = 40
	benchRequired    = 60
	benchRenamed     = 6
)

const benchRepo = "kubernetes/kubernetes"

// writeBenchTree writes the generated job configs; every tenth file holds
// jobs of kubernetes/kubernetes (480 jobs), the others spread over
// org-(f mod benchRepos)/repo-(f mod 7), 253 repositories, in nested
// directories as Kubernetes keeps them.
func writeBenchTree(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	for f := range benchFiles {
		repo := benchRepo
		if f%10 != 0 {
			repo = fmt.Sprintf("org-%d/repo-%d", f%benchRepos, f%7)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "presubmits:\n  %s:\n", repo)
		for j := range benchJobsPerFile {
			fmt.Fprintf(&sb, "  - name: pull-gen-%d-%d\n", f, j)
			switch j % 4 {
			case 0:
				sb.WriteString("    always_run: true\n")
			case 1:
				fmt.Fprintf(&sb, "    run_if_changed: '^(pkg/area%d|cmd/tool%d)/'\n", j, f)
			case 2:
				sb.WriteString("    skip_if_only_changed: '^docs/|\\.md$'\n    branches: ['^master$', '^release-1\\.\\d+$']\n")
			case 3:
				sb.WriteString("    optional: true\n")
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("sig-%d", f%20), fmt.Sprintf("jobs-%d.yaml", f))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// benchRequiredChecks are required contexts of kubernetes/kubernetes's
// master: existing jobs, and benchRenamed whose job was renamed (the
// expensive case: the nearest job is looked for among all of them).
func benchRequiredChecks() []plan.RequiredCheck {
	req := []plan.RequiredCheck{{Context: "pull-kubernetes-verify", From: "protection"}, {Context: "pull-kubernetes-e2e-gce", From: "protection"}}
	for i := range benchRequired - benchRenamed - len(req) {
		f := (i * 10) % benchFiles
		req = append(req, plan.RequiredCheck{Context: fmt.Sprintf("pull-gen-%d-%d", f, i%benchJobsPerFile), From: "ruleset"})
	}
	for i := range benchRenamed {
		req = append(req, plan.RequiredCheck{Context: fmt.Sprintf("pull-gen-%d-%d-old", i*10, i), From: "protection"})
	}
	return req
}

// BenchmarkOfflineAudit is `fix-status audit --required ...` end to end:
// read and validate every job config, then judge the branch.
func BenchmarkOfflineAudit(b *testing.B) {
	tree := writeBenchTree(b)
	req := benchRequiredChecks()
	src := sources.LocalSources{Repo: benchRepo, ProwConfig: []string{"../../examples/prow", tree}}
	b.ReportAllocs()
	for b.Loop() {
		rs, err := sources.LoadLocal(src)
		if err != nil {
			b.Fatal(err)
		}
		rep := Branch(BranchInput{Repo: benchRepo, Branch: "master", Required: req, Rules: Rules{Jobs: rs.Jobs}, MergeQueue: true})
		checkBench(b, rep, len(rs.Jobs))
	}
}

// BenchmarkJudgeBranch is the judging alone, on rules already read: what
// the server's drift watch repeats per branch.
func BenchmarkJudgeBranch(b *testing.B) {
	rs, err := sources.LoadLocal(sources.LocalSources{Repo: benchRepo, ProwConfig: []string{"../../examples/prow", writeBenchTree(b)}})
	if err != nil {
		b.Fatal(err)
	}
	jobs := rs.Jobs
	req := benchRequiredChecks()
	b.ReportAllocs()
	for b.Loop() {
		checkBench(b, Branch(BranchInput{Repo: benchRepo, Branch: "master", Required: req, Rules: Rules{Jobs: jobs}, MergeQueue: true}), len(jobs))
	}
}

// checkBench makes sure the benchmark measured a real audit: every
// required context judged, the renamed ones orphaned with their new name.
func checkBench(b *testing.B, rep BranchReport, jobs int) {
	b.Helper()
	if len(rep.Required) != benchRequired || jobs < benchFiles/10*benchJobsPerFile {
		b.Fatalf("%d contexts judged over %d jobs", len(rep.Required), jobs)
	}
	orphaned := 0
	for _, r := range rep.Required {
		if r.Class == rules.ClassOrphaned && strings.Contains(r.Reason, "renamed to") {
			orphaned++
		}
	}
	if orphaned != benchRenamed {
		b.Fatalf("%d renamed contexts found, want %d", orphaned, benchRenamed)
	}
}
