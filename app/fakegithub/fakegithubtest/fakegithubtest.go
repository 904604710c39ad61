// Package fakegithubtest helps tests use the GitHub emulator: it starts one
// from a scenario and adapts GitHub's example webhook payloads to it.
package fakegithubtest

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/config"
)

// Start runs an emulator of scenarioYAML on 127.0.0.1 until the test ends.
// opts.Scenario is set from scenarioYAML.
func Start(t testing.TB, scenarioYAML string, opts fakegithub.Options) *fakegithub.Server {
	t.Helper()
	sc, err := fakegithub.ParseScenario([]byte(scenarioYAML))
	if err != nil {
		t.Fatal(err)
	}
	opts.Scenario = sc
	gh, err := fakegithub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	return gh
}

// Payload reads a JSON webhook payload (one of GitHub's examples) from path
// and sets fields by dotted path, e.g. "pull_request.head.sha"; a nil value
// deletes the field.
func Payload(t testing.TB, path string, adapt map[string]any) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for field, v := range adapt {
		keys := strings.Split(field, ".")
		cur := m
		for _, k := range keys[:len(keys)-1] {
			next, ok := cur[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[k] = next
			}
			cur = next
		}
		if v == nil {
			delete(cur, keys[len(keys)-1])
		} else {
			cur[keys[len(keys)-1]] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ServerConfig is a fix-status server config for the emulator's app.
func ServerConfig(gh *fakegithub.Server) *config.Server {
	return config.ForApp(config.AppCredentials(gh.Credentials()))
}

// ClientCreator is go-githubapp's caching client creator for the
// emulator's app, on a transport of the test's own whose idle connections
// are closed when the test ends, before an emulator started earlier shuts
// down (a connection dialled and never used would hold its shutdown 5s).
func ClientCreator(t testing.TB, gh *fakegithub.Server, opts ...githubapp.ClientOption) githubapp.ClientCreator {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cc, err := githubapp.NewDefaultCachingClientCreator(ServerConfig(gh).GitHubAppConfig(), append([]githubapp.ClientOption{githubapp.WithTransport(tr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}
