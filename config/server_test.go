package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadServerDefaultsAndKeyFile(t *testing.T) {
	key := writeFile(t, "key.pem", testKey)
	p := writeFile(t, "config.yml", `
github:
  app:
    integration_id: 12345
    webhook_secret: s3cret
    private_key_file: `+key+`
repair:
  stale_pending_after: 0
`)
	c, err := LoadServer(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Address != DefaultAddress || c.Server.Port != DefaultPort {
		t.Errorf("listen defaults: %+v", c.Server)
	}
	if c.GitHub.V3APIURL != DefaultV3APIURL || c.GitHub.V4APIURL != DefaultV4APIURL || c.GitHub.WebURL != DefaultWebURL {
		t.Errorf("github defaults: %+v", c.GitHub)
	}
	if c.GitHub.App.PrivateKey != testKey {
		t.Errorf("private_key_file not read: %q", c.GitHub.App.PrivateKey)
	}
	if c.Repair.GracePeriod.Duration != DefaultGracePeriod || c.Repair.SweepInterval.Duration != DefaultSweepInterval {
		t.Errorf("repair defaults: %+v", c.Repair)
	}
	if c.Repair.StalePendingAfter.Duration != 0 {
		t.Errorf("stale_pending_after: 0 must stay 0 (off), got %s", c.Repair.StalePendingAfter.Duration)
	}
	if got := c.GitHubAppConfig(); got.App.IntegrationID != 12345 || got.V3APIURL != DefaultV3APIURL {
		t.Errorf("GitHubAppConfig: %+v", got)
	}
}

func TestSetValuesFromEnv(t *testing.T) {
	env := map[string]string{
		"GITHUB_V3_API_URL":              "http://127.0.0.1:9/",
		"GITHUB_APP_INTEGRATION_ID":      "7",
		"GITHUB_APP_WEBHOOK_SECRET":      "env-secret",
		"GITHUB_APP_PRIVATE_KEY":         testKey,
		"FIX_STATUS_SERVER_PORT":         "9090",
		"FIX_STATUS_PROW_JOB_CONFIG":     "/a, /b",
		"FIX_STATUS_REPAIR_DRY_RUN":      "true",
		"FIX_STATUS_REPAIR_GRACE_PERIOD": "1m",
	}
	c := &Server{}
	if err := c.SetValuesFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.GitHub.V3APIURL != "http://127.0.0.1:9/" || c.GitHub.App.IntegrationID != 7 || c.GitHub.App.WebhookSecret != "env-secret" ||
		c.Server.Port != 9090 || !c.Repair.DryRun || c.Repair.GracePeriod.Duration != time.Minute ||
		strings.Join(c.Prow.JobConfig, "|") != "/a|/b" {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestServerConfigErrors(t *testing.T) {
	tests := map[string]struct {
		yaml string
		env  map[string]string
		want string
	}{
		"unknown key":       {yaml: "github:\n  app:\n    id: 1\n", want: `line 3: unknown key "id"`},
		"bad duration":      {yaml: "repair:\n  grace_period: ten minutes\n", want: `line 2: invalid duration "ten minutes"`},
		"missing app id":    {yaml: "github: {app: {webhook_secret: s, private_key: \"" + strings.ReplaceAll(testKey, "\n", `\n`) + "\"}}\n", want: "github.app.integration_id: missing"},
		"missing secret":    {yaml: "github: {app: {integration_id: 1}}\n", want: "github.app.webhook_secret: missing"},
		"missing key":       {yaml: "github: {app: {integration_id: 1}}\n", want: "github.app.private_key: missing"},
		"bad url":           {yaml: "github: {v3_api_url: 'api.github.com'}\n", want: `github.v3_api_url: "api.github.com" is not an absolute URL`},
		"bad port":          {yaml: "server: {port: 70000}\n", want: "server.port: 70000 is not a TCP port"},
		"negative duration": {yaml: "repair: {sweep_interval: -1m}\n", want: "repair.sweep_interval: -1m0s is negative"},
		"key and key file":  {yaml: "github: {app: {private_key: x, private_key_file: /nonexistent}}\n", want: "set private_key or private_key_file, not both"},
		"missing key file":  {yaml: "github: {app: {private_key_file: /nonexistent/key.pem}}\n", want: "github.app.private_key_file: open /nonexistent/key.pem"},
		"bad env number":    {yaml: "{}\n", env: map[string]string{"GITHUB_APP_INTEGRATION_ID": "abc"}, want: `GITHUB_APP_INTEGRATION_ID: "abc" is not a number`},
		"bad env duration":  {yaml: "{}\n", env: map[string]string{"FIX_STATUS_REPAIR_GRACE_PERIOD": "soon"}, want: "FIX_STATUS_REPAIR_GRACE_PERIOD: invalid duration"},
		"bad env bool":      {yaml: "{}\n", env: map[string]string{"FIX_STATUS_REPAIR_DRY_RUN": "maybe"}, want: "FIX_STATUS_REPAIR_DRY_RUN"},
		"not YAML":          {yaml: "server: [\n", want: "invalid YAML"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			p := writeFile(t, "config.yml", tt.yaml)
			_, err := LoadServer(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}
