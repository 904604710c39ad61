package main

import "testing"

// TestE2ELogLevel: logging.level sets the server's level. go-githubapp's
// per-request lines (github_request) are Debug: at the default level, info,
// a reconcile logs none of them; at debug every API request has one.
func TestE2ELogLevel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		level string
		// wantRequests: github_request lines are logged; wantDebug: any
		// line at debug is.
		wantRequests, wantDebug bool
	}{
		{level: "info"},
		{level: "debug", wantRequests: true, wantDebug: true},
	} {
		t.Run(tt.level, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{}.yaml(), harnessOptions{logLevel: tt.level})
			mark := h.mark()
			n := h.openPR(t, "octocat", "docs/guide.md")
			h.waitDecisions(t, mark, prName(n), "pull-unit")
			var requests, debug, writes int
			for _, l := range h.logLines(t) {
				switch {
				case l["message"] == "github_request":
					requests++
					if l["path"] == nil || l["status"] == nil {
						t.Errorf("github_request line without path or status: %v", l)
					}
				case l["message"] == "decision" && l["level"] == "info":
					writes++
				}
				if l["level"] == "debug" {
					debug++
				}
			}
			if got := requests > 0; got != tt.wantRequests {
				t.Errorf("level %s: %d github_request lines, want them: %v", tt.level, requests, tt.wantRequests)
			}
			if got := debug > 0; got != tt.wantDebug {
				t.Errorf("level %s: %d debug lines, want them: %v", tt.level, debug, tt.wantDebug)
			}
			if writes != 1 {
				// The skip of pull-unit is a write: Info at both levels.
				t.Errorf("level %s: %d decision lines at info for writes, want 1", tt.level, writes)
			}
		})
	}
}
