package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// commit may be set with -ldflags "-X main.commit=..." where the toolchain
// cannot stamp it: a container build whose context has no .git, or a git
// worktree (go build finds only a .git directory).
var commit string

// newVersionCmd is `fix-status version`; it also gives root its --version
// flag, with the same text.
func newVersionCmd(root *cobra.Command) *cobra.Command {
	info, _ := debug.ReadBuildInfo()
	text := buildVersion(version, commit, info).String()
	root.Version = text
	root.SetVersionTemplate("{{.Version}}")
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), text)
			return err
		},
	}
}

// versionInfo says which build of fix-status this is.
type versionInfo struct {
	Version    string
	Commit     string // "unknown" when built outside a git checkout
	CommitTime string
	Modified   bool // built from a work tree with uncommitted changes
	GoVersion  string
	Platform   string
}

// buildVersion reads what the Go toolchain stamped into the binary. A version
// or commit set with -ldflags wins over the module version, which go build
// takes from the git tag (or derives as a pseudo-version) when it builds in a
// checkout, and over the stamped revision.
func buildVersion(override, commitOverride string, info *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: override, Commit: "unknown", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info != nil {
		// "dev" is the value of version when no -ldflags set it.
		if mv := info.Main.Version; override == "dev" && mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		if info.GoVersion != "" {
			v.GoVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if commitOverride != "" {
		v.Commit = commitOverride
	}
	return v
}

// String is the text of `fix-status version`.
func (v versionInfo) String() string {
	var notes []string
	if v.CommitTime != "" {
		notes = append(notes, v.CommitTime)
	}
	if v.Modified {
		notes = append(notes, "modified")
	}
	commit := v.Commit
	if len(notes) > 0 {
		commit += " (" + strings.Join(notes, ", ") + ")"
	}
	return fmt.Sprintf("fix-status %s\ncommit: %s\ngo: %s %s\n", v.Version, commit, v.GoVersion, v.Platform)
}
