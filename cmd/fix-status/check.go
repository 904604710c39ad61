package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/config"
)

var prRefRe = regexp.MustCompile(`^([\w.-]+)/([\w.-]+)#(\d+)$`)

func newCheckCmd() *cobra.Command {
	var cfgPath, output string
	var apply bool
	cmd := &cobra.Command{
		Use:   "check --config SERVER_CONFIG OWNER/REPO#N [--apply]",
		Short: "Explain one pull request, context by context (dry run unless --apply)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output: %q is not text or json", output)
			}
			m := prRefRe.FindStringSubmatch(args[0])
			if m == nil {
				return fmt.Errorf("%q is not OWNER/REPO#N", args[0])
			}
			n, _ := strconv.Atoi(m[3])
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
			rep, err := w.rec.Reconcile(cmd.Context(), repo.PR(n), reconcile.Trigger{Event: "check", DryRun: !apply})
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

type checkDecision struct {
	Context string `json:"context"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Action  string `json:"action"`
}

type checkReport struct {
	PR        string          `json:"pr"`
	HeadSHA   string          `json:"head_sha"`
	Skipped   string          `json:"skipped,omitempty"`
	Decisions []checkDecision `json:"decisions"`
	Writes    int             `json:"writes"`
}

func toCheckReport(rep *plan.Report) checkReport {
	out := checkReport{PR: rep.PR.String(), HeadSHA: rep.HeadSHA, Skipped: rep.Skipped, Writes: rep.Writes, Decisions: []checkDecision{}}
	for i, d := range rep.Decisions {
		out.Decisions = append(out.Decisions, checkDecision{Context: d.Context, Verdict: string(d.Verdict), Reason: d.Reason, Action: rep.Actions[i]})
	}
	return out
}

func writeCheckJSON(w io.Writer, rep *plan.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(toCheckReport(rep))
}

func writeCheckText(w io.Writer, rep *plan.Report, applied bool) error {
	if rep.Skipped != "" {
		fmt.Fprintf(w, "%s: not checked: %s\n", rep.PR, rep.Skipped)
		return nil
	}
	mode := "dry run"
	if applied {
		mode = "applied"
	}
	fmt.Fprintf(w, "%s @ %s (%s)\n\n", rep.PR, rep.HeadSHA, mode)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tVERDICT\tREASON\tACTION")
	for i, d := range rep.Decisions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Context, d.Verdict, d.Reason, rep.Actions[i])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s; %d write(s).\n", plan.Summary(rep.Decisions), rep.Writes)
	return nil
}
