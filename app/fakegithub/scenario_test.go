package fakegithub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseScenarioErrors(t *testing.T) {
	const base = `
app: {id: 1, slug: fix-status, webhook_secret: s}
installations:
  - {id: 1, account: o, repos: [o/r]}
repos:
  - name: o/r
    branches: {main: {}}
    pulls:
      - {number: 1, title: t, user: u, base: main}
      - {number: 2, title: t, user: u, base: main}
`
	tests := map[string]struct {
		old, new string
		want     string
	}{
		"unknown key":              {"title: t, user: u, base: main}\n", "title: t, user: u, base: main, titel: x}\n", `repos[0].pulls[0]: unknown key "titel"`},
		"unknown base":             {"{number: 2, title: t, user: u, base: main}", "{number: 2, title: t, user: u, base: dev}", `repos[0].pulls[1].base: branch "dev" is not in repos[0].branches`},
		"duplicate pull":           {"number: 2", "number: 1", `repos[0].pulls[1].number: pull request #1 is defined twice`},
		"missing secret":           {"webhook_secret: s", "name: x", `app.webhook_secret: missing`},
		"bad repo name":            {"name: o/r", "name: r", `repos[0].name: "r" is not OWNER/REPO`},
		"repo not in repos":        {"repos: [o/r]", "repos: [o/x]", `installations[0].repos[0]: repo "o/x" is not in repos`},
		"foreign repo":             {"account: o,", "account: p,", `installations[0].repos[0]: repo "o/r" does not belong to the installation's account "p"`},
		"bad status state":         {"base: main}\n", "base: main, statuses: [{context: c, state: done}]}\n", `repos[0].pulls[0].statuses[0].state: "done" is not one of`},
		"conclusion missing":       {"base: main}\n", "base: main, check_runs: [{name: c, status: completed}]}\n", `repos[0].pulls[0].check_runs[0].conclusion: set it exactly when status is completed`},
		"renamed without previous": {"base: main}\n", "base: main, files: [{filename: a, status: renamed}]}\n", `repos[0].pulls[0].files[0].previous_filename`},
		"bad rule":                 {"main: {}", "main: {rules: [{type: required_status_checks, parameters: {}}]}", `repos[0].branches.main.rules[0].parameters.required_status_checks: missing`},
		"more than the app": {"webhook_secret: s}\ninstallations:\n  - {id: 1, account: o, repos: [o/r]}",
			"webhook_secret: s, permissions: {checks: read}}\ninstallations:\n  - {id: 1, account: o, repos: [o/r], permissions: {checks: write}}",
			`installations[0].permissions.checks: "write" is more than the app asks for ("read")`},
		"bad permission":   {"repos: [o/r]}", "repos: [o/r], permissions: {checks: all}}", `installations[0].permissions.checks: "all" is not one of read, write, admin`},
		"long description": {"base: main}\n", "base: main, statuses: [{context: c, state: success, description: '" + strings.Repeat("x", 141) + "'}]}\n", `description: longer than 140 characters`},
		"number as text":   {"number: 2", "number: two", `repos[0].pulls[1].number: want a whole number`},
		"list as string":   {"repos: [o/r]", "repos: o/r", `installations[0].repos: want a list`},
		"not YAML":         {"repos:", "repos: [", `invalid YAML`},
	}
	if _, err := ParseScenario([]byte(base)); err != nil {
		t.Fatalf("base scenario: %v", err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := strings.Replace(base, tc.old, tc.new, 1)
			if data == base {
				t.Fatalf("replacement %q not found", tc.old)
			}
			_, err := ParseScenario([]byte(data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExampleScenariosLoad(t *testing.T) {
	files, err := filepath.Glob("../../examples/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scenarios (%v)", err)
	}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := New(Options{Scenario: sc}); err != nil {
			t.Errorf("%s: New: %v", f, err)
		}
	}
	if _, err := LoadScenario(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !os.IsNotExist(errorsUnwrap(err)) {
		t.Errorf("missing file error = %v", err)
	}
}

func errorsUnwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
