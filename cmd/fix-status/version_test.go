package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/fix-status/fix-status", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := map[string]struct {
		override string
		commit   string
		info     *debug.BuildInfo
		want     string
	}{
		"module version and commit": {
			override: "dev", info: stamped,
			want: "fix-status v1.4.0\ncommit: 0123456789abcdef0123456789abcdef01234567 (2026-11-01T10:00:00Z, modified)\ngo: go1.26.8 " + platform + "\n",
		},
		"ldflags override wins": {
			override: "v2.0.0-rc.1", info: stamped,
			want: "fix-status v2.0.0-rc.1\ncommit: 0123456789abcdef0123456789abcdef01234567 (2026-11-01T10:00:00Z, modified)\ngo: go1.26.8 " + platform + "\n",
		},
		"commit override, as a container build sets it": {
			override: "v1.4.0", commit: "fedcba9876543210", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "fix-status v1.4.0\ncommit: fedcba9876543210\ngo: go1.26.8 " + platform + "\n",
		},
		"built outside a checkout": {
			override: "dev", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "fix-status dev\ncommit: unknown\ngo: go1.26.8 " + platform + "\n",
		},
		"no build info": {
			override: "dev",
			want:     "fix-status dev\ncommit: unknown\ngo: " + runtime.Version() + " " + platform + "\n",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildVersion(tt.override, tt.commit, tt.info).String()); d != "" {
				t.Errorf("version (-want +got):\n%s", d)
			}
		})
	}
}

// TestVersionCommand: `version` and `--version` print the same three lines.
func TestVersionCommand(t *testing.T) {
	var outs []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		outs = append(outs, out.String())
	}
	if outs[0] != outs[1] {
		t.Errorf("version %q and --version %q differ", outs[0], outs[1])
	}
	lines := strings.Split(strings.TrimSuffix(outs[0], "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "fix-status ") || !strings.HasPrefix(lines[1], "commit: ") ||
		!strings.HasPrefix(lines[2], "go: "+runtime.Version()) {
		t.Errorf("version output:\n%s", outs[0])
	}
}
