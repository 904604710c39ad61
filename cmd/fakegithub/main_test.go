package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/config"
)

// TestServesTheExampleScenario starts the command as an operator would and
// talks to it like curl.
func TestServesTheExampleScenario(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "fix-status.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--scenario", "../../examples/scenarios/hello-world.yaml",
			"--write-app-config", cfgPath}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	const prefix = "fakegithub listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line = %q", line)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, prefix))

	res, err := http.Get(base + "/repos/Codertocat/Hello-World/pulls/2")
	if err != nil {
		t.Fatal(err)
	}
	var pull struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	}
	if err := json.NewDecoder(res.Body).Decode(&pull); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || pull.Number != 2 || pull.Head.SHA != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" {
		t.Errorf("GET pulls/2 = %d %+v", res.StatusCode, pull)
	}

	cfg, err := config.LoadServer(cfgPath)
	if err != nil {
		t.Fatalf("the written app config does not load: %v", err)
	}
	if cfg.GitHub.V3APIURL != base+"/" || cfg.GitHub.V4APIURL != base+"/graphql" || cfg.GitHub.App.IntegrationID != 1 ||
		cfg.GitHub.App.WebhookSecret != "s3cret" {
		t.Errorf("config github section = %+v", cfg.GitHub)
	}
	// The app's OAuth client: generated, since the scenario sets none.
	if cfg.UI.OAuth.ClientID != "Iv1.0000000000000001" || len(cfg.UI.OAuth.ClientSecret) != 40 {
		t.Errorf("config ui.oauth = %+v; want the generated client", cfg.UI.OAuth)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}

func TestRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := writeFile(bad, "app: {id: 1, slug: x, webhook_secret: s}\nrepos:\n  - name: nope\n"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		want string
	}{
		"no scenario":      {nil, "--scenario is required"},
		"invalid scenario": {[]string{"--scenario", bad}, `repos[0].name: "nope" is not OWNER/REPO`},
		"missing file":     {[]string{"--scenario", bad + ".missing"}, "failed to read scenario"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v; want %q", err, tc.want)
			}
		})
	}
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}
