package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/config"
)

var (
	prRefRe    = regexp.MustCompile(`^([\w.-]+)/([\w.-]+)#(\d+)$`)
	groupRefRe = regexp.MustCompile(`^([\w.-]+)/([\w.-]+)@([0-9a-fA-F]{7,40})$`)
)

func newCheckCmd() *cobra.Command {
	var cfgPath, output string
	var apply bool
	cmd := &cobra.Command{
		Use:   "check --config SERVER_CONFIG OWNER/REPO#N|OWNER/REPO@SHA [--apply]",
		Short: "Explain one pull request or merge group, context by context (dry run unless --apply)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output: %q is not text or json", output)
			}
			m := prRefRe.FindStringSubmatch(args[0])
			g := groupRefRe.FindStringSubmatch(args[0])
			if m == nil && g == nil {
				return fmt.Errorf("%q is not OWNER/REPO#N (a pull request) or OWNER/REPO@SHA (a merge group's commit)", args[0])
			}
			if m == nil {
				m = g
			}
			cfg, err := config.LoadServer(cfgPath)
			if err != nil {
				return err
			}
			w, err := wire(cmd.Context(), cfg, wireOptions{logOut: io.Discard})
			if err != nil {
				return err
			}
			repo, err := ghapi.FindInstallation(cmd.Context(), w.clients, plan.RepoRef{Owner: m[1], Repo: m[2]})
			if err != nil {
				return err
			}
			trig := reconcile.Trigger{Event: "check", DryRun: !apply}
			var rep *plan.Report
			if g != nil {
				group, ferr := findGroup(cmd.Context(), w, repo, g[3])
				if ferr != nil {
					return ferr
				}
				rep, err = w.rec.ReconcileGroup(cmd.Context(), group, trig)
			} else {
				n, _ := strconv.Atoi(m[3])
				rep, err = w.rec.Reconcile(cmd.Context(), repo.PR(n), trig)
			}
			if err != nil {
				return err
			}
			if output == "json" {
				return writeCheckJSON(cmd.OutOrStdout(), rep)
			}
			return writeCheckText(cmd.OutOrStdout(), rep, apply)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "server config file (required)")
	cmd.Flags().BoolVar(&apply, "apply", false, "make the writes (default: dry run)")
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// findGroup finds the merge group in repo's queues whose commit is sha (a
// prefix of it will do).
func findGroup(ctx context.Context, w *wired, repo plan.RepoRef, sha string) (plan.MergeGroupRef, error) {
	c, err := w.clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return plan.MergeGroupRef{}, err
	}
	groups, err := ghapi.ListMergeGroups(ctx, c, repo)
	if err != nil {
		return plan.MergeGroupRef{}, err
	}
	for _, g := range groups {
		if strings.HasPrefix(g.HeadSHA, strings.ToLower(sha)) {
			return g, nil
		}
	}
	return plan.MergeGroupRef{}, fmt.Errorf("no merge group of %s is at %s (a merge group is checked while it is in the queue)", repo.FullRepo(), sha)
}

type checkDecision struct {
	Context string `json:"context"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Action  string `json:"action"`
}

// checkPermission is a permission the app lacks, found while checking.
type checkPermission struct {
	// Permission is what GitHub said the endpoint accepts, e.g.
	// "administration=read".
	Permission string `json:"permission"`
	// Denied says what cannot be done without it.
	Denied   string `json:"denied"`
	Endpoint string `json:"endpoint"`
}

type checkReport struct {
	PR string `json:"pr,omitempty"`
	// MergeGroup names a merge group's branch (instead of PR).
	MergeGroup string          `json:"merge_group,omitempty"`
	HeadSHA    string          `json:"head_sha"`
	Skipped    string          `json:"skipped,omitempty"`
	Decisions  []checkDecision `json:"decisions"`
	Writes     int             `json:"writes"`
	// PermissionsMissing are why some of it could not be read: until they
	// are granted, the contexts only the classic protection requires are
	// not decided (Decisions are the rulesets').
	PermissionsMissing []checkPermission `json:"permissions_missing,omitempty"`
}

func toCheckReport(rep *plan.Report) checkReport {
	out := checkReport{PR: rep.PR.String(), HeadSHA: rep.HeadSHA, Skipped: rep.Skipped, Writes: rep.Writes, Decisions: []checkDecision{}}
	if rep.MergeGroup != nil {
		out.PR, out.MergeGroup = "", rep.MergeGroup.HeadRef
	}
	for i, d := range rep.Decisions {
		out.Decisions = append(out.Decisions, checkDecision{Context: d.Context, Verdict: string(d.Verdict), Reason: d.Reason, Action: rep.Actions[i]})
	}
	if pe := ghapi.AsPermissionError(rep.ProtectionErr); pe != nil {
		out.PermissionsMissing = append(out.PermissionsMissing, checkPermission{Permission: pe.Accepted, Denied: pe.Denied, Endpoint: pe.Endpoint})
	}
	return out
}

func writeCheckJSON(w io.Writer, rep *plan.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(toCheckReport(rep))
}

func writeCheckText(w io.Writer, rep *plan.Report, applied bool) error {
	what := rep.PR.String()
	if rep.MergeGroup != nil {
		what = rep.MergeGroup.String()
	}
	if rep.Skipped != "" {
		fmt.Fprintf(w, "%s: not checked: %s\n", what, rep.Skipped)
		return nil
	}
	mode := "dry run"
	if applied {
		mode = "applied"
	}
	fmt.Fprintf(w, "%s @ %s (%s)\n\n", what, rep.HeadSHA, mode)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tVERDICT\tREASON\tACTION")
	for i, d := range rep.Decisions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Context, d.Verdict, d.Reason, rep.Actions[i])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s; %d write(s).\n", plan.Summary(rep.Decisions), rep.Writes)
	if pe := ghapi.AsPermissionError(rep.ProtectionErr); pe != nil {
		denied := pe.Denied
		if denied == "" {
			denied = pe.Endpoint + " is refused"
		}
		fmt.Fprintf(w, "\npermission missing: %s — %s; grant it in the app's settings (until then only the rulesets' required contexts are checked)\n", pe.Permission(), denied)
	}
	return nil
}
