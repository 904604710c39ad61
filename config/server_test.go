package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
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

func envMap(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// problemLines is the error as a list of lines, the file name cut off.
func problemLines(err error, file string) []string {
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, file+": ")
	}
	return lines
}

// minimal is the smallest valid github section.
const minimal = "github:\n  app:\n    integration_id: 1\n    webhook_secret: s\n    private_key: \"" + `-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n` + "\"\n"

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
	if c.GitHub.App.PrivateKey != testKey || c.GitHub.App.PrivateKeyFile != "" {
		t.Errorf("private_key_file not read: key %q, file %q", c.GitHub.App.PrivateKey, c.GitHub.App.PrivateKeyFile)
	}
	if c.Repair.StalePendingAfter.Duration != 0 {
		t.Errorf("stale_pending_after: 0 must stay 0 (off), got %s", c.Repair.StalePendingAfter.Duration)
	}
	if got := c.GitHubAppConfig(); got.App.IntegrationID != 12345 || got.V3APIURL != DefaultV3APIURL || got.App.PrivateKey != testKey {
		t.Errorf("GitHubAppConfig: %+v", got)
	}
}

// TestServerKeys pins the key set of the server config and the environment
// variable names operators use.
func TestServerKeys(t *testing.T) {
	want := map[string]string{
		"server.address":              "FIX_STATUS_SERVER_ADDRESS",
		"server.port":                 "FIX_STATUS_SERVER_PORT",
		"server.drain_timeout":        "FIX_STATUS_SERVER_DRAIN_TIMEOUT",
		"server.http_cache_bytes":     "FIX_STATUS_SERVER_HTTP_CACHE_BYTES",
		"github.web_url":              "GITHUB_WEB_URL",
		"github.v3_api_url":           "GITHUB_V3_API_URL",
		"github.v4_api_url":           "GITHUB_V4_API_URL",
		"github.app.integration_id":   "GITHUB_APP_INTEGRATION_ID",
		"github.app.webhook_secret":   "GITHUB_APP_WEBHOOK_SECRET",
		"github.app.private_key":      "GITHUB_APP_PRIVATE_KEY",
		"github.app.private_key_file": "GITHUB_APP_PRIVATE_KEY_FILE",
		"prow.job_config":             "FIX_STATUS_PROW_JOB_CONFIG",
		"repair.dry_run":              "FIX_STATUS_REPAIR_DRY_RUN",
		"repair.grace_period":         "FIX_STATUS_REPAIR_GRACE_PERIOD",
		"repair.stale_pending_after":  "FIX_STATUS_REPAIR_STALE_PENDING_AFTER",
		"repair.sweep_interval":       "FIX_STATUS_REPAIR_SWEEP_INTERVAL",
		"repair.sweep_on_start":       "FIX_STATUS_REPAIR_SWEEP_ON_START",
		"repair.redeliver_within":     "FIX_STATUS_REPAIR_REDELIVER_WITHIN",
		"repair.workers":              "FIX_STATUS_REPAIR_WORKERS",
		"repair.queue_size":           "FIX_STATUS_REPAIR_QUEUE_SIZE",
		"repair.reconcile_timeout":    "FIX_STATUS_REPAIR_RECONCILE_TIMEOUT",
		"repair.max_retriggers":       "FIX_STATUS_REPAIR_MAX_RETRIGGERS",
		"redis.address":               "FIX_STATUS_REDIS_ADDRESS",
		"redis.password_file":         "FIX_STATUS_REDIS_PASSWORD_FILE",
		"redis.db":                    "FIX_STATUS_REDIS_DB",
		"redis.key_prefix":            "FIX_STATUS_REDIS_KEY_PREFIX",
		"logging.level":               "FIX_STATUS_LOGGING_LEVEL",
		"ui.public_url":               "FIX_STATUS_UI_PUBLIC_URL",
		"ui.oauth.client_id":          "FIX_STATUS_UI_OAUTH_CLIENT_ID",
		"ui.oauth.client_secret":      "FIX_STATUS_UI_OAUTH_CLIENT_SECRET",
	}
	got := map[string]string{}
	for _, k := range ServerKeys() {
		got[k.Path] = k.Env
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ServerKeys (-want +got):\n%s", d)
	}
	names := EnvNames()
	if len(names) != len(want) || len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(want) {
		t.Errorf("EnvNames: %d names, %d distinct, want %d distinct", len(names), len(slices.Compact(slices.Sorted(slices.Values(names)))), len(want))
	}
}

// yamlAt writes value at a dotted key path as a YAML document.
func yamlAt(path, value string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			b.WriteString("\n")
		}
	}
	return b.String() + " " + value + "\n"
}

// TestEnvEqualsFile sets every key once in the file and once in the
// environment: both must set that key, the same way, and nothing else.
func TestEnvEqualsFile(t *testing.T) {
	samples := map[reflect.Type][2]string{ // YAML, environment
		reflect.TypeFor[string]():   {"v-1", "v-1"},
		reflect.TypeFor[int]():      {"7", "7"},
		reflect.TypeFor[int64]():    {"7", "7"},
		reflect.TypeFor[bool]():     {"true", "true"},
		reflect.TypeFor[*bool]():    {"false", "false"},
		reflect.TypeFor[Duration](): {"90s", "90s"},
		reflect.TypeFor[[]string](): {"[/a, /b]", "/a, /b"},
	}
	for _, k := range ServerKeys() {
		t.Run(k.Path, func(t *testing.T) {
			typ := k.field(&Server{}).Type()
			sample, ok := samples[typ]
			if !ok {
				t.Fatalf("no sample value for %s", typ)
			}
			fromFile, err := ParseServer([]byte(yamlAt(k.Path, sample[0])))
			if err != nil {
				t.Fatal(err)
			}
			fromEnv := &Server{}
			if err := fromEnv.SetValuesFromEnv(envMap(map[string]string{k.Env: sample[1]})); err != nil {
				t.Fatal(err)
			}
			if k.field(fromFile).IsZero() {
				t.Errorf("the file did not set %s", k.Path)
			}
			if want, got := fromFile.origins[k.Path], (origin{line: strings.Count(k.Path, ".") + 1}); want != got {
				t.Errorf("origin from the file %+v, want %+v", got, want)
			}
			if fromEnv.origins[k.Path].env != k.Env {
				t.Errorf("origin from the environment %+v, want %s", fromEnv.origins[k.Path], k.Env)
			}
			fromFile.origins, fromEnv.origins = nil, nil
			if d := cmp.Diff(fromFile, fromEnv, cmp.AllowUnexported(Server{}, Duration{})); d != "" {
				t.Errorf("file and environment differ (-file +env):\n%s", d)
			}
		})
	}
}

func TestSetDefaults(t *testing.T) {
	c, err := ParseServer([]byte("redis: {address: 'redis:6379'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	want := Server{
		Server: ServerListen{Address: DefaultAddress, Port: DefaultPort, DrainTimeout: D(DefaultDrainTimeout), HTTPCacheBytes: DefaultHTTPCacheBytes},
		GitHub: GitHub{WebURL: DefaultWebURL, V3APIURL: DefaultV3APIURL, V4APIURL: DefaultV4APIURL},
		Repair: Repair{
			GracePeriod: D(DefaultGracePeriod), StalePendingAfter: D(DefaultStalePendingAfter), SweepInterval: D(DefaultSweepInterval),
			SweepOnStart: new(true), RedeliverWithin: D(DefaultRedeliverWithin), Workers: DefaultWorkers, QueueSize: DefaultQueueSize,
			ReconcileTimeout: D(DefaultReconcileTimeout), MaxRetriggers: DefaultMaxRetriggers,
		},
		Redis:   Redis{Address: "redis:6379", KeyPrefix: DefaultRedisKeyPrefix},
		Logging: Logging{Level: DefaultLogLevel},
	}
	c.origins = nil
	if d := cmp.Diff(&want, c, cmp.AllowUnexported(Server{}, Duration{})); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	if !c.RedisEnabled() || !c.Repair.SweepsOnStart() {
		t.Errorf("RedisEnabled %v, SweepsOnStart %v: want both", c.RedisEnabled(), c.Repair.SweepsOnStart())
	}
	if (&Server{}).RedisEnabled() || !(Repair{}).SweepsOnStart() {
		t.Error("the zero config must not use Redis and must sweep on start")
	}
	var noRedis Server
	noRedis.SetDefaults()
	if noRedis.Redis.KeyPrefix != "" {
		t.Errorf("key_prefix %q set without redis.address", noRedis.Redis.KeyPrefix)
	}
}

// TestExplicitZero: a value set to zero is kept, never replaced by a default.
func TestExplicitZero(t *testing.T) {
	tests := map[string]struct {
		yaml string
		env  map[string]string
		ok   func(*Server) bool
	}{
		"max_retriggers 0 means never": {yaml: "repair: {max_retriggers: 0}", ok: func(c *Server) bool { return c.Repair.MaxRetriggers == 0 }},
		"from the environment":         {env: map[string]string{"FIX_STATUS_REPAIR_MAX_RETRIGGERS": "0"}, ok: func(c *Server) bool { return c.Repair.MaxRetriggers == 0 }},
		"sweep_on_start false":         {yaml: "repair: {sweep_on_start: false}", ok: func(c *Server) bool { return !c.Repair.SweepsOnStart() }},
		"redeliver_within 0":           {yaml: "repair: {redeliver_within: 0}", ok: func(c *Server) bool { return c.Repair.RedeliverWithin.Duration == 0 }},
		"drain_timeout 0s":             {yaml: "server: {drain_timeout: 0s}", ok: func(c *Server) bool { return c.Server.DrainTimeout.Duration == 0 }},
		"empty key prefix":             {yaml: "redis: {address: 'r:6379', key_prefix: ''}", ok: func(c *Server) bool { return c.Redis.KeyPrefix == "" }},
		"null is unset":                {yaml: "repair: {workers: ~}", ok: func(c *Server) bool { return c.Repair.Workers == DefaultWorkers }},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := ParseServer([]byte(minimal + tt.yaml + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.SetValuesFromEnv(envMap(tt.env)); err != nil {
				t.Fatal(err)
			}
			c.SetDefaults()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if !tt.ok(c) {
				t.Errorf("value replaced: %+v", c)
			}
		})
	}
}

// TestEnvOverridesFile: the environment wins over the file, key by key, and
// a list from the environment replaces the file's.
func TestEnvOverridesFile(t *testing.T) {
	c, err := ParseServer([]byte(minimal + "server: {port: 9090}\nprow: {job_config: [/a, /b]}\nrepair: {workers: 2, queue_size: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FIX_STATUS_SERVER_PORT": "9191", "FIX_STATUS_PROW_JOB_CONFIG": "/c", "FIX_STATUS_REPAIR_WORKERS": "8"}
	if err := c.SetValuesFromEnv(envMap(env)); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if c.Server.Port != 9191 || !slices.Equal(c.Prow.JobConfig, []string{"/c"}) || c.Repair.Workers != 8 || c.Repair.QueueSize != 5 {
		t.Errorf("port %d, job_config %v, workers %d, queue_size %d", c.Server.Port, c.Prow.JobConfig, c.Repair.Workers, c.Repair.QueueSize)
	}
	c.Repair.Workers = 0
	if err := c.Validate(); err == nil || err.Error() != "repair.workers: 0 is less than 1 (env FIX_STATUS_REPAIR_WORKERS)" {
		t.Errorf("a problem with a value from the environment names the variable: %v", err)
	}
}

func TestPrivateKeyPrecedence(t *testing.T) {
	keyFile := writeFile(t, "key.pem", testKey)
	otherKey := strings.Replace(testKey, "MIIB", "MIIC", 1)
	tests := map[string]struct {
		yaml    string
		env     map[string]string
		wantKey string
		wantErr []string
	}{
		"env key over file's key file": {
			yaml: "private_key_file: /nonexistent/key.pem", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": otherKey}, wantKey: otherKey,
		},
		"env key over file's readable key file": {
			yaml: "private_key_file: " + keyFile, env: map[string]string{"GITHUB_APP_PRIVATE_KEY": otherKey}, wantKey: otherKey,
		},
		"env key file over file's key": {
			yaml: "private_key: garbage", env: map[string]string{"GITHUB_APP_PRIVATE_KEY_FILE": keyFile}, wantKey: testKey,
		},
		"env key over file's key": {
			yaml: "private_key: garbage", env: map[string]string{"GITHUB_APP_PRIVATE_KEY": otherKey}, wantKey: otherKey,
		},
		"both in the file": {
			yaml:    "private_key: x\n    private_key_file: " + keyFile,
			wantErr: []string{"github.app.private_key_file: set private_key or private_key_file, not both (line 6)"},
		},
		"both in the environment": {
			env:     map[string]string{"GITHUB_APP_PRIVATE_KEY": testKey, "GITHUB_APP_PRIVATE_KEY_FILE": keyFile},
			wantErr: []string{"github.app.private_key: set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE, not both (env GITHUB_APP_PRIVATE_KEY)"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			p := writeFile(t, "c.yaml", "github:\n  app:\n    integration_id: 1\n    webhook_secret: s\n    "+tt.yaml+"\n")
			c, err := LoadServer(p)
			if d := cmp.Diff(tt.wantErr, problemLines(err, p)); d != "" {
				t.Fatalf("errors (-want +got):\n%s", d)
			}
			if err == nil && c.GitHub.App.PrivateKey != tt.wantKey {
				t.Errorf("private key %q, want %q", c.GitHub.App.PrivateKey, tt.wantKey)
			}
		})
	}
}

// TestServerConfigErrors checks that every problem is reported, each with its
// key and where the value came from.
func TestServerConfigErrors(t *testing.T) {
	tests := map[string]struct {
		yaml string
		env  map[string]string
		want []string
	}{
		"decode errors, all of them": {
			yaml: minimal + `server:
  port: eighty
  drain_timeout: soon
  nope: 1
repair:
  workers: "four"
  sweep_on_start: maybe
  dry_run: [true]
prow:
  job_config: /etc/prow
`,
			want: []string{
				`server.port: "eighty" is not a number (line 7)`,
				`server.drain_timeout: "soon" is not a duration (want e.g. 10m or 2h) (line 8)`,
				`server.nope: unknown key (line 9)`,
				`repair.workers: "four" is not a number (line 11)`,
				`repair.sweep_on_start: "maybe" is not true or false (line 12)`,
				`repair.dry_run: want true or false, got a list (line 13)`,
				`prow.job_config: want a list of strings, got "/etc/prow" (line 15)`,
			},
		},
		"decode and validation together": {
			yaml: "server: {port: 70000}\ngithub: {app: {integration_id: x}}\nrepair: {workers: 0, sweep_interval: -1m}\n",
			want: []string{
				`github.app.integration_id: "x" is not a number (line 2)`,
				"server.port: 70000 is not a TCP port (1-65535) (line 1)",
				"github.app.webhook_secret: missing (webhooks cannot be verified without it)",
				"github.app.private_key: missing or not a PEM private key (or set private_key_file)",
				"repair.sweep_interval: -1m0s is negative (line 3)",
				"repair.workers: 0 is less than 1 (line 3)",
			},
		},
		"unknown sections and keys": {
			yaml: minimal + "github:\n  oauth: {}\nmetrics: {}\n",
			want: []string{
				"github: given twice (first at line 1) (line 6)",
				"metrics: unknown key (line 8)",
			},
		},
		"a section that is not a mapping": {
			yaml: minimal + "repair: 5\n",
			want: []string{`repair: want a mapping of keys, got "5" (line 6)`},
		},
		"a key given twice": {
			yaml: minimal + "logging:\n  level: info\n  level: debug\n",
			want: []string{"logging.level: given twice (first at line 7) (line 8)"},
		},
		"validation of every section": {
			yaml: strings.Replace(minimal, "github:\n", "github:\n  v3_api_url: api.github.com\n", 1) + `prow: {job_config: ["", /ok]}
repair: {queue_size: -1, max_retriggers: -1, reconcile_timeout: 0, grace_period: -1s, stale_pending_after: -2h, redeliver_within: -1h}
server: {http_cache_bytes: 0, drain_timeout: -5s, port: 0}
redis: {db: 2}
logging: {level: verbose}
ui: {public_url: "fix-status.example.com", oauth: {client_id: Iv1.abc}}
`,
			want: []string{
				"server.port: 0 is not a TCP port (1-65535) (line 9)",
				"server.drain_timeout: -5s is negative (line 9)",
				"server.http_cache_bytes: 0 is less than 1 (line 9)",
				`github.v3_api_url: "api.github.com" is not an absolute http(s) URL (line 2)`,
				"prow.job_config: entry 0 is empty (line 7)",
				"repair.grace_period: -1s is negative (line 8)",
				"repair.stale_pending_after: -2h0m0s is negative (line 8)",
				"repair.redeliver_within: -1h0m0s is negative (line 8)",
				"repair.queue_size: -1 is less than 1 (line 8)",
				"repair.reconcile_timeout: 0s is not positive (line 8)",
				"repair.max_retriggers: -1 is less than 0 (line 8)",
				"redis.address: missing (redis.db is set) (line 10)",
				`logging.level: "verbose" is not one of debug, info, warn, error (line 11)`,
				`ui.public_url: "fix-status.example.com" is not an absolute http(s) URL (line 12)`,
				"ui.oauth.client_secret: missing (ui.oauth.client_id is set) (line 12)",
			},
		},
		"bad URL and redis address": {
			yaml: strings.Replace(minimal, "github:\n", "github:\n  v4_api_url: 'ftp://x/graphql'\n", 1) + "redis: {address: redis}\n",
			want: []string{
				`github.v4_api_url: "ftp://x/graphql" is not an absolute http(s) URL (line 2)`,
				`redis.address: "redis" is not HOST:PORT (line 7)`,
			},
		},
		"environment errors name the variable": {
			yaml: minimal,
			env: map[string]string{
				"GITHUB_APP_INTEGRATION_ID":      "abc",
				"FIX_STATUS_REPAIR_GRACE_PERIOD": "soon",
				"FIX_STATUS_REPAIR_DRY_RUN":      "maybe",
				"FIX_STATUS_SERVER_PORT":         "99999999999999999999",
				"FIX_STATUS_LOGGING_LEVEL":       "loud",
			},
			want: []string{
				`server.port: "99999999999999999999" is out of range (env FIX_STATUS_SERVER_PORT)`,
				`github.app.integration_id: "abc" is not a number (env GITHUB_APP_INTEGRATION_ID)`,
				`repair.dry_run: "maybe" is not true or false (env FIX_STATUS_REPAIR_DRY_RUN)`,
				`repair.grace_period: "soon" is not a duration (want e.g. 10m or 2h) (env FIX_STATUS_REPAIR_GRACE_PERIOD)`,
				`logging.level: "loud" is not one of debug, info, warn, error (env FIX_STATUS_LOGGING_LEVEL)`,
			},
		},
		"missing key file": {
			yaml: "github: {app: {integration_id: 1, webhook_secret: s, private_key_file: /nonexistent/key.pem}}\n",
			want: []string{"github.app.private_key_file: open /nonexistent/key.pem: no such file or directory (line 1)"},
		},
		"missing redis password file": {
			yaml: minimal + "redis: {address: 'r:6379', password_file: /nonexistent/pw}\n",
			want: []string{"redis.password_file: open /nonexistent/pw: no such file or directory (line 6)"},
		},
		"not YAML": {
			yaml: "server: [\n",
			want: []string{"invalid YAML: line 1: did not find expected node content"},
		},
		"two documents": {
			yaml: minimal + "---\nserver: {}\n",
			want: []string{"want one YAML document, found more (line 6)"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			p := writeFile(t, "config.yml", tt.yaml)
			_, err := LoadServer(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, p+": ") {
					t.Errorf("line %q does not name the file", line)
				}
			}
			if d := cmp.Diff(tt.want, problemLines(err, p)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestRedisPasswordFile(t *testing.T) {
	pw := writeFile(t, "pw", "hunter2\n")
	c, err := ParseServer([]byte(minimal + "redis: {address: '127.0.0.1:6379', password_file: " + pw + ", db: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.ResolveSecrets(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Redis.Password != "hunter2" || c.Redis.DB != 3 || c.Redis.KeyPrefix != DefaultRedisKeyPrefix {
		t.Errorf("redis: %+v", c.Redis)
	}
}

func TestLoggingLevel(t *testing.T) {
	for level, want := range map[string]zerolog.Level{
		"debug": zerolog.DebugLevel, "info": zerolog.InfoLevel, "warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel, "": zerolog.InfoLevel,
	} {
		if got := (Logging{Level: level}).ZerologLevel(); got != want {
			t.Errorf("ZerologLevel(%q) = %s, want %s", level, got, want)
		}
	}
}

func TestPublicURLAndOAuth(t *testing.T) {
	c, err := ParseServer([]byte(minimal + "ui:\n  public_url: https://fix-status.example.com/\n  oauth: {client_id: Iv1.abc, client_secret: shh}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.UI.PublicURL != "https://fix-status.example.com" {
		t.Errorf("public_url %q keeps its trailing slash", c.UI.PublicURL)
	}
	if g := c.GitHubAppConfig(); g.OAuth.ClientID != "Iv1.abc" || g.OAuth.ClientSecret != "shh" {
		t.Errorf("GitHubAppConfig OAuth: %+v", g.OAuth)
	}
}

// TestMarshalRoundTrip: a config written with go.yaml.in/yaml/v3 (as register does)
// reads back the same.
func TestMarshalRoundTrip(t *testing.T) {
	c := ForApp(AppCredentials{WebURL: "http://127.0.0.1:1", V3APIURL: "http://127.0.0.1:1/", V4APIURL: "http://127.0.0.1:1/graphql",
		AppID: 3, WebhookSecret: "s", PrivateKey: testKey})
	c.Repair.StalePendingAfter = D(0)
	c.Prow.JobConfig = []string{"/jobs"}
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseServer(data)
	if err != nil {
		t.Fatalf("%v in\n%s", err, data)
	}
	back.SetDefaults()
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	back.origins = nil
	if d := cmp.Diff(c, back, cmp.AllowUnexported(Server{}, Duration{})); d != "" {
		t.Errorf("round trip (-written +read):\n%s", d)
	}
	var direct struct{ D Duration }
	if err := yaml.Unmarshal([]byte("d: 90s"), &direct); err != nil || direct.D != D(90*time.Second) {
		t.Errorf("Duration.UnmarshalYAML: %v, %+v", err, direct.D)
	}
	if err := yaml.Unmarshal([]byte("d: {x: 1}"), &direct); err == nil || !strings.Contains(err.Error(), "want a duration like 10m, got a mapping") {
		t.Errorf("Duration.UnmarshalYAML of a mapping: %v", err)
	}
}

// TestExamples loads the shipped example configs the way the Kubernetes
// manifests run them: secrets from the environment.
func TestExamples(t *testing.T) {
	tests := map[string]struct {
		webURL, v3, v4 string
	}{
		"fix-status.yaml": {DefaultWebURL, DefaultV3APIURL, DefaultV4APIURL},
		"ghes.yaml":       {"https://github.example.com", "https://github.example.com/api/v3/", "https://github.example.com/api/graphql"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("GITHUB_APP_PRIVATE_KEY", testKey)
			t.Setenv("GITHUB_APP_WEBHOOK_SECRET", "from-a-secret")
			c, err := LoadServer(filepath.Join("..", "examples", "config", name))
			if err != nil {
				t.Fatal(err)
			}
			if c.GitHub.WebURL != tt.webURL || c.GitHub.V3APIURL != tt.v3 || c.GitHub.V4APIURL != tt.v4 {
				t.Errorf("github URLs %q %q %q", c.GitHub.WebURL, c.GitHub.V3APIURL, c.GitHub.V4APIURL)
			}
			if c.GitHub.App.PrivateKey != testKey || c.GitHub.App.WebhookSecret != "from-a-secret" {
				t.Error("secrets from the environment not applied")
			}
		})
	}
}

// TestDocsNameEveryKey keeps docs/config.md complete.
func TestDocsNameEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, k := range ServerKeys() {
		leaf := k.Path[strings.LastIndex(k.Path, ".")+1:]
		if !strings.Contains(doc, "`"+k.Env+"`") || !strings.Contains(doc, leaf+":") {
			t.Errorf("docs/config.md does not document %s (%s)", k.Path, k.Env)
		}
	}
}

// leafKeys walks the Server type on its own (not through ServerKeys): every
// exported field with a yaml name that is not a section (a struct other
// than Duration) is a key of the file.
func leafKeys(t reflect.Type, path string, index []int, out *[]Key) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			leafKeys(f.Type, p, idx, out)
			continue
		}
		// The environment names of CONTRACTS: go-githubapp's GITHUB_* for
		// the github section, FIX_STATUS_<SECTION>_<KEY> for the rest.
		env := strings.ToUpper(strings.ReplaceAll(p, ".", "_"))
		if !strings.HasPrefix(p, "github.") {
			env = "FIX_STATUS_" + env
		}
		*out = append(*out, Key{Path: p, Env: env, index: idx})
	}
}

// TestEveryKeyHasEnvOverride: every key of the server config, found by
// walking the type, is overridden by its environment variable: the file
// sets one value, the environment another, and the environment's wins. A
// key added without an override fails here.
func TestEveryKeyHasEnvOverride(t *testing.T) {
	samples := map[reflect.Type][3]string{ // in the file; in the environment; what the environment's reads as
		reflect.TypeFor[string]():   {"from-file", "from-env", "from-env"},
		reflect.TypeFor[int]():      {"5", "7", "7"},
		reflect.TypeFor[int64]():    {"5", "7", "7"},
		reflect.TypeFor[bool]():     {"false", "true", "true"},
		reflect.TypeFor[*bool]():    {"true", "false", "false"},
		reflect.TypeFor[Duration](): {"1m", "90s", "1m30s"},
		reflect.TypeFor[[]string](): {"[/file]", "/env/a, /env/b", "[/env/a /env/b]"},
	}
	var keys []Key
	leafKeys(reflect.TypeFor[Server](), "", nil, &keys)
	if len(keys) != len(ServerKeys()) {
		t.Errorf("%d keys in the type, %d in ServerKeys", len(keys), len(ServerKeys()))
	}
	for _, k := range keys {
		t.Run(k.Path, func(t *testing.T) {
			typ := k.field(&Server{}).Type()
			sample, ok := samples[typ]
			if !ok {
				t.Fatalf("no sample value for %s: a key of a new type needs one (and a parser)", typ)
			}
			t.Setenv(k.Env, sample[1])
			c, err := ParseServer([]byte(yamlAt(k.Path, sample[0])))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.SetValuesFromEnv(os.LookupEnv); err != nil {
				t.Fatal(err)
			}
			got := k.field(c)
			if got.Kind() == reflect.Pointer {
				got = got.Elem()
			}
			if s := fmt.Sprint(got.Interface()); s != sample[2] {
				t.Errorf("%s: %s from the environment, %s in the file: got %s", k.Path, sample[1], sample[0], s)
			}
			if o := c.origins[k.Path]; o.env != k.Env {
				t.Errorf("%s comes from %+v, want %s", k.Path, o, k.Env)
			}
		})
	}
}
