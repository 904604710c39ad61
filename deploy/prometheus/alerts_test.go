// Package prometheus holds fix-status's Prometheus alert rules
// (alerts.yaml) and the test that checks them with promtool.
package prometheus

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fix-status/fix-status/config"
)

// promtool runs promtool with args, or skips (fails under CI=true) when it
// is not installed.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		const msg = "promtool is not on PATH: install Debian's prometheus package (apt-get install -y prometheus) to check the alert rules"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPromtool: the rules are valid, and every alert fires on the series
// of alerts_test.yaml that should make it fire, and only on those.
func TestPromtool(t *testing.T) {
	promtool(t, "check", "rules", "alerts.yaml")
	promtool(t, "test", "rules", "alerts_test.yaml")
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// metrics are the names and labels `serve` exports (the contract of its
// GET /metrics), with the suffixes a histogram adds.
var metrics = map[string][]string{
	"fix_status_stuck_prs":                         {"repo", "reason"},
	"fix_status_stuck_pr_oldest_seconds":           nil,
	"fix_status_writes_total":                      {"kind", "result"},
	"fix_status_reconcile_errors_total":            nil,
	"fix_status_reconcile_duration_seconds_count":  nil,
	"fix_status_reconcile_duration_seconds_sum":    nil,
	"fix_status_reconcile_duration_seconds_bucket": {"le"},
	"fix_status_deliveries_recovered_total":        nil,
	"fix_status_deliveries_dropped_total":          nil,
	"fix_status_last_sweep_timestamp_seconds":      nil,
	"fix_status_github_rate_limit_remaining":       {"installation", "resource"},
	"fix_status_audit_findings":                    {"repo", "class"},
	"fix_status_audit_timestamp_seconds":           {"repo"},
	"fix_status_audit_errors_total":                nil,
	"fix_status_permission_missing":                {"installation", "permission"},
}

var (
	metricRE  = regexp.MustCompile(`fix_status_\w+(\{[^}]*\})?`)
	matcherRE = regexp.MustCompile(`(\w+)\s*(=~|!~|!=|=)`)
	byRE      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	sweepRE   = regexp.MustCompile(`> 2 \* (\d+)$`)
)

// TestAlertsUseExportedMetrics: each rule names only metrics and labels
// fix-status exports (a typo would make an alert that never fires), the
// seven alerts are all there, and the sweep alert's interval is the config's
// default sweep interval.
func TestAlertsUseExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			var labels []string
			for _, m := range metricRE.FindAllStringSubmatch(r.Expr, -1) {
				name := strings.TrimSuffix(m[0], m[1])
				allowed, ok := metrics[name]
				if !ok {
					t.Errorf("%s: %s is not a metric fix-status exports", r.Alert, name)
				}
				for _, lm := range matcherRE.FindAllStringSubmatch(m[1], -1) {
					if !slices.Contains(allowed, lm[1]) {
						t.Errorf("%s: %s has no label %s", r.Alert, name, lm[1])
					}
				}
				labels = append(labels, allowed...)
			}
			for _, by := range byRE.FindAllStringSubmatch(r.Expr, -1) {
				for _, l := range strings.Split(by[1], ",") {
					if l = strings.TrimSpace(l); !slices.Contains(labels, l) {
						t.Errorf("%s: groups by %s, which its metrics do not have", r.Alert, l)
					}
				}
			}
			if r.Alert == "FixStatusNoSweep" {
				m := sweepRE.FindStringSubmatch(strings.TrimSpace(r.Expr))
				want := int(config.DefaultSweepInterval.Seconds())
				if m == nil || m[1] != strconv.Itoa(want) {
					t.Errorf("FixStatusNoSweep: %q; want two default sweep intervals, > 2 * %d", r.Expr, want)
				}
			}
		}
	}
	want := []string{"FixStatusPRStuck", "FixStatusWritesFailing", "FixStatusNoSweep", "FixStatusRateLimitLow", "FixStatusDeliveriesDropped", "FixStatusReconcileErrors", "FixStatusAuditOrphanedContext", "FixStatusPermissionMissing"}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %v, want %v", alerts, want)
	}
}
