package appinfo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// exampleServer is the public URL app.yml shows.
const exampleServer = "https://fix-status.example.com"

// TestAppYAML: app.yml is the manifest register posts, for the example
// server: its permissions and events are the list's.
func TestAppYAML(t *testing.T) {
	data, err := os.ReadFile("../../app.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("app.yml: %v", err)
	}
	if d := cmp.Diff(ManifestFor(DefaultName, exampleServer, ""), got); d != "" {
		t.Errorf("app.yml differs from appinfo's manifest (-want +app.yml):\n%s", d)
	}
}

// TestREADMETables: the README's tables of permissions and events are the
// list's, row for row.
func TestREADMETables(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := readmeSection(t, string(data), "#### Permissions and events")
	var wantPerms, wantEvents []string
	for _, p := range Permissions() {
		wantPerms = append(wantPerms, fmt.Sprintf("| %s | `%s` | %s | %s |", p.Title, p.Key, p.Level, p.Why))
	}
	for _, e := range Events() {
		wantEvents = append(wantEvents, fmt.Sprintf("| `%s` | %s |", e.Name, e.Why))
	}
	tables := tableRows(section)
	if len(tables) != 2 {
		t.Fatalf("the README's %q section has %d tables; want 2 (permissions, events)", "Permissions and events", len(tables))
	}
	if d := cmp.Diff(wantPerms, tables[0]); d != "" {
		t.Errorf("README permissions table (-appinfo +README):\n%s", d)
	}
	if d := cmp.Diff(wantEvents, tables[1]); d != "" {
		t.Errorf("README events table (-appinfo +README):\n%s", d)
	}
	for _, e := range AlwaysDelivered() {
		if !strings.Contains(section, "`"+e+"`") {
			t.Errorf("the README's section does not say that %s is always delivered", e)
		}
	}
}

// readmeSection is the text below a heading, up to the next heading of its
// level or above.
func readmeSection(t *testing.T, doc, heading string) string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	level := strings.Index(heading, " ")
	for i, l := range lines {
		if l != heading {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			n := len(lines[j]) - len(strings.TrimLeft(lines[j], "#"))
			if n > 0 && n <= level && strings.HasPrefix(lines[j][n:], " ") {
				end = j
				break
			}
		}
		return strings.Join(lines[i+1:end], "\n")
	}
	t.Fatalf("README has no %q heading", heading)
	return ""
}

// tableRows lists each Markdown table's body rows (the header and the
// separator left out).
func tableRows(s string) [][]string {
	var tables [][]string
	var cur []string
	inTable := false
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "|") {
			if inTable {
				tables = append(tables, cur)
			}
			cur, inTable = nil, false
			continue
		}
		if !inTable {
			inTable = true // the header
			continue
		}
		if strings.HasPrefix(l, "|---") {
			continue
		}
		cur = append(cur, l)
	}
	if inTable {
		tables = append(tables, cur)
	}
	return tables
}

// TestManifestFor: the manifest GitHub receives, with and without a public
// URL.
func TestManifestFor(t *testing.T) {
	perms := map[string]string{"metadata": "read", "contents": "read", "pull_requests": "write", "statuses": "write",
		"checks": "write", "issues": "write", "administration": "read", "actions": "write", "merge_queues": "read"}
	events := []string{"pull_request", "issue_comment", "push", "status", "check_run", "check_suite",
		"branch_protection_rule", "repository_ruleset", "merge_group"}
	cases := []struct {
		name, public string
		want         string
	}{
		{"public URL", "https://fix.example/", `{"name":"fix","url":"https://github.com/fix-status/fix-status",` +
			`"description":"Repairs pull requests stuck on required status checks that will never be reported.",` +
			`"hook_attributes":{"url":"https://fix.example/api/github/hook"},"redirect_url":"http://127.0.0.1:5/callback",` +
			`"callback_urls":["https://fix.example/oauth/callback"],"public":false,`},
		{"no public URL: no webhook, no user login", "", `{"name":"fix","url":"https://github.com/fix-status/fix-status",` +
			`"description":"Repairs pull requests stuck on required status checks that will never be reported.",` +
			`"redirect_url":"http://127.0.0.1:5/callback","public":false,`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := ManifestFor("fix", tc.public, "http://127.0.0.1:5/callback")
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), tc.want) {
				t.Errorf("manifest JSON = %s\nwant it to start %s", data, tc.want)
			}
			if d := cmp.Diff(perms, m.DefaultPermissions); d != "" {
				t.Errorf("default_permissions (-want +got):\n%s", d)
			}
			if d := cmp.Diff(events, m.DefaultEvents); d != "" {
				t.Errorf("default_events (-want +got):\n%s", d)
			}
		})
	}
}

// TestListsAreCopies: a caller changing a list cannot change the app's.
func TestListsAreCopies(t *testing.T) {
	Permissions()[0].Level = "admin"
	Events()[0].Name = "x"
	AlwaysDelivered()[0] = "x"
	DefaultPermissions()["metadata"] = "admin"
	if Permissions()[0].Level != "read" || Events()[0].Name != "pull_request" || AlwaysDelivered()[0] != "installation" ||
		DefaultPermissions()["metadata"] != "read" {
		t.Error("the lists changed through what they returned")
	}
}
