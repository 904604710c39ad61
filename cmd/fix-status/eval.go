package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
)

type evalFlags struct {
	repo       string
	branch     string
	changes    string
	prow       []string
	workflows  string
	repoConfig string
	output     string
	mergeGroup bool
	firstHead  bool
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --repo OWNER/REPO --branch BRANCH [--changes FILE|-]",
		Short: "Show which jobs run for a base branch and a list of changed files (offline)",
		Long: `eval loads job rules from local files (Prow job configs, a .github/workflows
directory, a .github/fix-status.yml) and says for each job whether it would run
for a pull request to BRANCH that changes the listed files: run, skip, manual,
not_on_branch or unknown. With --merge-group it judges a merge group of BRANCH
with those changes instead: run, skip, not_on_merge_group (it never runs on merge
groups but would for these changes), manual, not_on_branch or unknown. It needs
no GitHub access. A workflow file that cannot be parsed is reported on standard
error and makes eval exit 1; its jobs show as unknown and the rest is evaluated.`,
		Example: `  printf 'docs/index.md\n' | fix-status eval --repo kubernetes/kubernetes --branch master \
      --prow-config examples/prow --changes -
  fix-status eval --repo acme/widgets --branch main --merge-group \
      --repo-config examples/repo/.github/fix-status.yml --changes examples/changes.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "the repository, OWNER/REPO (required)")
	fl.StringVar(&f.branch, "branch", "", "the pull request's base branch (required)")
	fl.StringVar(&f.changes, "changes", "", "file listing changed paths, one per line (- for standard input)")
	fl.StringArrayVar(&f.prow, "prow-config", nil, "Prow job config file or directory (repeatable)")
	fl.StringVar(&f.workflows, "workflows", "", "a .github/workflows directory")
	fl.StringVar(&f.repoConfig, "repo-config", "", "a .github/fix-status.yml file")
	fl.StringVar(&f.output, "output", "text", "output format: text or json")
	fl.BoolVar(&f.mergeGroup, "merge-group", false, "judge a merge group of BRANCH whose changes are the listed files")
	fl.BoolVar(&f.firstHead, "first-head", false, "the head is the one the pull request was opened or reopened with")
	_ = cmd.MarkFlagRequired("repo")
	_ = cmd.MarkFlagRequired("branch")
	return cmd
}

func runEval(stdin io.Reader, stdout, stderr io.Writer, f evalFlags) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("--output: %q is not text or json", f.output)
	}
	if f.mergeGroup && f.firstHead {
		return errors.New("--first-head is for pull requests, not with --merge-group")
	}
	if !strings.Contains(f.repo, "/") {
		return fmt.Errorf("--repo: %q is not OWNER/REPO", f.repo)
	}
	files, err := readChanges(stdin, f.changes)
	if err != nil {
		return err
	}
	rs, err := sources.LoadLocal(sources.LocalSources{
		Repo: f.repo, ProwConfig: f.prow, Workflows: f.workflows, RepoConfig: f.repoConfig,
	})
	if err != nil {
		return err
	}
	results := rules.Evaluate(rs.Jobs, rules.Change{Branch: f.branch, Files: files, Complete: true, FirstHead: f.firstHead, MergeGroup: f.mergeGroup})
	if f.output == "json" {
		err = writeEvalJSON(stdout, f, len(files), results)
	} else {
		err = writeEvalText(stdout, f, len(files), results)
	}
	if err != nil {
		return err
	}
	// The rest was evaluated; the broken files still fail the command.
	for _, fe := range rs.FileErrors {
		fmt.Fprintln(stderr, fe)
	}
	if len(rs.FileErrors) > 0 {
		return fmt.Errorf("%d workflow file(s) could not be parsed; their jobs are unknown", len(rs.FileErrors))
	}
	return nil
}

func readChanges(stdin io.Reader, from string) ([]string, error) {
	if from == "" {
		return nil, nil
	}
	r := stdin
	if from != "-" {
		fh, err := os.Open(from)
		if err != nil {
			return nil, fmt.Errorf("--changes: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	var files []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			files = append(files, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--changes: %w", err)
	}
	return files, nil
}

type evalJob struct {
	Job     string `json:"job"`
	Context string `json:"context"`
	// ContextPattern is set for a job whose check name is not known
	// statically: every context it may report.
	ContextPattern string `json:"context_pattern,omitempty"`
	Source         string `json:"source"`
	Verdict        string `json:"verdict"`
	Reason         string `json:"reason"`
}

func writeEvalJSON(w io.Writer, f evalFlags, changed int, results []rules.Result) error {
	out := struct {
		Repo         string    `json:"repo"`
		Branch       string    `json:"branch"`
		MergeGroup   bool      `json:"merge_group,omitempty"`
		ChangedFiles int       `json:"changed_files"`
		Jobs         []evalJob `json:"jobs"`
	}{Repo: f.repo, Branch: f.branch, ChangedFiles: changed, Jobs: []evalJob{}, MergeGroup: f.mergeGroup}
	for _, r := range results {
		out.Jobs = append(out.Jobs, evalJob{Job: r.Job.Name, Context: r.Job.Context, ContextPattern: r.Job.ContextPattern.String(),
			Source: string(r.Job.Source), Verdict: string(r.Verdict), Reason: r.Reason})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeEvalText(w io.Writer, f evalFlags, changed int, results []rules.Result) error {
	what := "pull request"
	if f.mergeGroup {
		what = "merge group"
	}
	fmt.Fprintf(w, "%s, %s to %s changing %d file(s): %d job(s)\n\n", f.repo, what, f.branch, changed, len(results))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tCONTEXT\tSOURCE\tREASON")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Verdict, r.Job.Context, r.Job.Source, r.Reason)
	}
	return tw.Flush()
}
