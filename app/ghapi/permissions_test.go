package ghapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/plan"
)

const protectionScenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 1, account: o, repos: [o/r]PERMS}
repos:
  - name: o/r
    default_branch: main
    branches:
      main:
        protection:
          required_status_checks: {contexts: [ci/a], checks: [{context: ci/a, app_id: 15368}]}
        rules:
          - {type: required_status_checks, parameters: {required_status_checks: [{context: ci/r}]}}
      open:
        rules:
          - {type: required_status_checks, parameters: {required_status_checks: [{context: ci/r}]}}
      reviews-only:
        protection: {enforce_admins: true}
`

// TestReadRequiredProtectionUnknown: only GitHub's answers that say so make
// classic protection require nothing; a refusal for lack of the
// Administration permission is a PermissionError that comes with the
// rulesets' checks, and any other failure is an error: never "nothing
// required".
func TestReadRequiredProtectionUnknown(t *testing.T) {
	const route = "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"
	ruleset := plan.RequiredCheck{Context: "ci/r", From: "ruleset"}
	for _, tc := range []struct {
		name   string
		perms  string
		branch string
		fault  *fakegithub.Fault
		want   []plan.RequiredCheck
		// wantPerm is the permission the error names; wantErr a part of
		// any other error.
		wantPerm, wantErr string
	}{
		{name: "protected", branch: "main", want: []plan.RequiredCheck{{Context: "ci/a", AppID: 15368, From: "protection"}, ruleset}},
		{name: "not protected", branch: "open", want: []plan.RequiredCheck{ruleset}},
		{name: "protected, no required checks", branch: "reviews-only", want: nil},
		{name: "without administration", perms: ", permissions: {metadata: read, contents: read}", branch: "main",
			want: []plan.RequiredCheck{ruleset}, wantPerm: "administration=read"},
		{name: "without administration, not protected", perms: ", permissions: {metadata: read}", branch: "open",
			want: []plan.RequiredCheck{ruleset}, wantPerm: "administration=read"},
		{name: "a plan without branch protection", branch: "main",
			fault: &fakegithub.Fault{Route: route, Status: 403, Message: "Upgrade to GitHub Pro or make this repository public to enable this feature."},
			want:  []plan.RequiredCheck{ruleset}},
		{name: "a 403 that is no missing permission", branch: "main",
			fault:   &fakegithub.Fault{Route: route, Status: 403, Message: "Must have admin rights to Repository."},
			wantErr: "403 Must have admin rights"},
		{name: "a 404 that says nothing of protection", branch: "main", fault: &fakegithub.Fault{Route: route, Status: 404, Message: "Not Found"},
			wantErr: "404 Not Found"},
		{name: "no such branch", branch: "gone", wantErr: "404 Branch not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := fakegithubtest.Start(t, strings.Replace(protectionScenario, "PERMS", tc.perms, 1), fakegithub.Options{})
			_, c := clients(t, gh, 1)
			if tc.fault != nil {
				gh.Fault(*tc.fault)
			}
			got, err := ReadRequired(context.Background(), c, repo, tc.branch)
			pe := AsPermissionError(err)
			switch {
			case tc.wantPerm != "":
				if pe == nil || pe.Accepted != tc.wantPerm || pe.Denied != "classic branch protection cannot be read" ||
					pe.Endpoint != "GET /repos/o/r/branches/"+tc.branch+"/protection/required_status_checks" {
					t.Fatalf("error %v (%+v), want a PermissionError for %s", err, pe, tc.wantPerm)
				}
				if want := "o/r:" + tc.branch + ": classic branch protection cannot be read: permission missing: " + tc.wantPerm +
					"; grant it in the app's settings"; err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
				if c := Classify(err, time.Now()); c.Kind != Permanent || c.Permission != tc.wantPerm {
					t.Errorf("Classify = %+v, want permanent, naming %s", c, tc.wantPerm)
				}
			case tc.wantErr != "":
				if err == nil || pe != nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v (permission error %v), want one with %q", err, pe, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("required %+v, want %+v", got, tc.want)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("required[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestAsPermissionError: what GitHub's answers say of a missing permission.
func TestAsPermissionError(t *testing.T) {
	answer := func(code int, msg, accepted string) error {
		u, _ := url.Parse("https://api.github.com/repos/o/r/branches/main/protection")
		r := &http.Response{StatusCode: code, Header: http.Header{}, Request: &http.Request{Method: "GET", URL: u}}
		if accepted != "" {
			r.Header.Set(AcceptedPermissionsHeader, accepted)
		}
		return &github.ErrorResponse{Response: r, Message: msg}
	}
	for _, tc := range []struct {
		name     string
		err      error
		accepted string
		show     string
	}{
		{"an app's refusal", answer(403, "Resource not accessible by integration", "administration=read"), "administration=read", "administration=read"},
		{"a token's refusal, joined", errors.Join(errors.New("writes"), answer(403, "Resource not accessible by personal access token", "issues=write; pull_requests=write")),
			"issues=write; pull_requests=write", "issues=write or pull_requests=write"},
		{"no header", answer(403, "Resource not accessible by integration", ""), "", ""},
		{"a 404 with the header", answer(404, "Branch not protected", "administration=read"), "", ""},
		{"a 403 for the plan", answer(403, "Upgrade to GitHub Pro or make this repository public to enable this feature.", "administration=read"), "", ""},
		{"a secondary limit", &github.AbuseRateLimitError{Response: answer(403, "", "administration=read").(*github.ErrorResponse).Response}, "", ""},
		{"not GitHub's", errors.New("x"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := AsPermissionError(tc.err)
			if tc.accepted == "" {
				if pe != nil {
					t.Fatalf("AsPermissionError = %+v, want nil", pe)
				}
				return
			}
			if pe == nil || pe.Accepted != tc.accepted || pe.Permission() != tc.show || pe.Endpoint != "GET /repos/o/r/branches/main/protection" {
				t.Fatalf("AsPermissionError = %+v, want %q", pe, tc.accepted)
			}
			var er *github.ErrorResponse
			if !errors.As(pe, &er) || er.Response.StatusCode != http.StatusForbidden {
				t.Error("the PermissionError does not keep GitHub's answer")
			}
		})
	}
}

// gauge records what a PermissionWatch reports.
type gauge struct{ missing map[string]bool }

func (g *gauge) PermissionMissing(installation int64, permission string, missing bool) {
	g.missing[fmt.Sprintf("%s@%d", permission, installation)] = missing
}

// TestPermissionWatch: a missing permission is logged once per
// installation and permission per interval, however many refusals come,
// and the gauge is set while it is missing.
func TestPermissionWatch(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := &gauge{missing: map[string]bool{}}
	w := NewPermissionWatch(PermissionWatchOptions{Every: time.Hour, Now: func() time.Time { return now }, Gauge: g})
	var log bytes.Buffer
	ctx := zerolog.New(&log).WithContext(context.Background())
	refusal := &PermissionError{Accepted: "administration=read", Endpoint: "GET /repos/o/r/branches/main/protection/required_status_checks",
		Denied: "classic branch protection cannot be read"}
	steps := []struct {
		at           time.Duration
		installation int64
		granted      bool
		wantLines    int
	}{
		{at: 0, installation: 1, wantLines: 1},
		{at: time.Minute, installation: 1, wantLines: 1},      // within the interval: quiet
		{at: 2 * time.Minute, installation: 2, wantLines: 2},  // another installation
		{at: 61 * time.Minute, installation: 1, wantLines: 3}, // still missing an hour later
		{at: 62 * time.Minute, installation: 1, granted: true, wantLines: 3},
		{at: 63 * time.Minute, installation: 1, wantLines: 4}, // missing again: said at once
	}
	for i, s := range steps {
		now = time.Unix(1_700_000_000, 0).Add(s.at)
		if s.granted {
			w.Granted(s.installation, "administration=read")
			if g.missing["administration=read@1"] {
				t.Errorf("step %d: the gauge stays set after the grant", i)
			}
		} else {
			w.Missing(ctx, s.installation, "o/r", refusal)
			if !g.missing[fmt.Sprintf("administration=read@%d", s.installation)] {
				t.Errorf("step %d: the gauge is not set", i)
			}
		}
		if n := strings.Count(log.String(), "\n"); n != s.wantLines {
			t.Fatalf("step %d: %d lines logged, want %d:\n%s", i, n, s.wantLines, log.String())
		}
	}
	first, _, _ := strings.Cut(log.String(), "\n")
	for _, want := range []string{`"level":"warn"`, `"installation":1`, `"repo":"o/r"`, `"permission":"administration=read"`,
		`"endpoint":"GET /repos/o/r/branches/main/protection/required_status_checks"`, `permission missing: administration=read; grant it in the app's settings`} {
		if !strings.Contains(first, want) {
			t.Errorf("the warning %s lacks %s", first, want)
		}
	}
}
