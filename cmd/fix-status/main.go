// Command fix-status unblocks pull requests stuck on required status checks
// that will never be reported. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fix-status:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fix-status",
		Short: "Repair pull requests stuck on required checks that will never be reported",
		Long: `fix-status finds required status checks whose CI job would not run for a pull
request (path and branch filters of Prow and GitHub Actions, explicit rules) and
posts the "skipped" result, re-triggers jobs that should have run, and explains
everything it will not touch.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd(), newEvalCmd(), newAuditCmd(), newCheckCmd(), newServeCmd(), newBackfillCmd(), newRegisterCmd(), newVersionCmd(root))
	return root
}
