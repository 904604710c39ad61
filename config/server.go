// Package config holds fix-status's two configuration tiers: the server config
// (one per deployment) and the repo config (.github/fix-status.yml, read from a
// PR's base branch). Both are parsed strictly: an unknown key is an error.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"
)

// The server's fixed HTTP paths, on server.port: the probes and the
// scrapes of a deployment point at them.
const (
	HealthzPath = "/healthz" // liveness: answers while the process lives
	ReadyzPath  = "/readyz"  // readiness: 503 once a drain starts
	MetricsPath = "/metrics"
)

// Named defaults of the server config.
const (
	DefaultAddress           = "127.0.0.1"
	DefaultPort              = 8080
	DefaultDrainTimeout      = 60 * time.Second
	DefaultHTTPCacheBytes    = int64(256 << 20)
	DefaultWebURL            = "https://github.com"
	DefaultV3APIURL          = "https://api.github.com/"
	DefaultV4APIURL          = "https://api.github.com/graphql"
	DefaultGracePeriod       = 10 * time.Minute
	DefaultStalePendingAfter = 2 * time.Hour
	DefaultSweepInterval     = 30 * time.Minute
	DefaultSweepOnStart      = true
	// GitHub keeps failed deliveries for 3 days on github.com (7 on GHES).
	DefaultRedeliverWithin  = 72 * time.Hour
	DefaultWorkers          = 4
	DefaultQueueSize        = 10000
	DefaultReconcileTimeout = 2 * time.Minute
	DefaultMaxRetriggers    = 3
	DefaultRedisKeyPrefix   = "fix-status:"
	// GitHub's secondary rate limits (github.com; a GitHub Enterprise
	// Server's administrator may set others) and the share of each
	// installation's hourly budget that background work leaves to
	// webhooks.
	DefaultWritesPerMinute        = 80
	DefaultWritesPerHour          = 500
	DefaultPointsPerMinute        = 900
	DefaultGraphQLPointsPerMinute = 2000
	DefaultMaxInFlight            = 8
	DefaultReserve                = 500
	DefaultLogLevel               = "info"
)

// Log levels accepted by logging.level.
var logLevels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel,
	"info":  zerolog.InfoLevel,
	"warn":  zerolog.WarnLevel,
	"error": zerolog.ErrorLevel,
}

// Server is the server config (docs/config.md). Every leaf key has an
// environment override (see ServerKeys).
type Server struct {
	Server  ServerListen `yaml:"server"`
	GitHub  GitHub       `yaml:"github"`
	Prow    Prow         `yaml:"prow"`
	Repair  Repair       `yaml:"repair"`
	Limits  Limits       `yaml:"limits"`
	Redis   Redis        `yaml:"redis"`
	Logging Logging      `yaml:"logging"`
	UI      UI           `yaml:"ui"`

	// origins records, per key path, where a value came from (file line or
	// environment variable): SetDefaults keeps an explicit zero
	// (max_retriggers: 0 means never re-trigger), and Validate's messages
	// point at the line or variable to fix.
	origins map[string]origin
}

type origin struct {
	line int
	env  string
}

// ServerListen is where the webhook server listens and how it stops.
type ServerListen struct {
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
	// DrainTimeout is how long a SIGTERM waits for queued work to finish.
	DrainTimeout Duration `yaml:"drain_timeout"`
	// HTTPCacheBytes bounds the HTTP cache shared by all installations.
	HTTPCacheBytes int64 `yaml:"http_cache_bytes"`
}

// GitHub mirrors go-githubapp's Config, plus private_key_file.
type GitHub struct {
	WebURL   string `yaml:"web_url"`
	V3APIURL string `yaml:"v3_api_url"`
	V4APIURL string `yaml:"v4_api_url"`
	App      App    `yaml:"app"`
}

// App identifies the GitHub App.
type App struct {
	IntegrationID  int64  `yaml:"integration_id"`
	WebhookSecret  string `yaml:"webhook_secret"`
	PrivateKey     string `yaml:"private_key,omitempty"`
	PrivateKeyFile string `yaml:"private_key_file,omitempty"`
}

// Prow names central Prow job configs (files or directories).
type Prow struct {
	JobConfig []string `yaml:"job_config,omitempty"`
}

// Repair tunes when and how much fix-status acts.
type Repair struct {
	DryRun            bool     `yaml:"dry_run"`
	GracePeriod       Duration `yaml:"grace_period"`
	StalePendingAfter Duration `yaml:"stale_pending_after"`
	SweepInterval     Duration `yaml:"sweep_interval"`
	// SweepOnStart is nil when unset; read it with SweepsOnStart.
	SweepOnStart *bool `yaml:"sweep_on_start"`
	// RedeliverWithin is the age limit of failed webhook deliveries to
	// recover (0 = off).
	RedeliverWithin  Duration `yaml:"redeliver_within"`
	Workers          int      `yaml:"workers"`
	QueueSize        int      `yaml:"queue_size"`
	ReconcileTimeout Duration `yaml:"reconcile_timeout"`
	// MaxRetriggers bounds re-triggers per context and head SHA (0 = never).
	MaxRetriggers int `yaml:"max_retriggers"`
}

// SweepsOnStart reports whether the server sweeps open PRs when it starts
// (sweep_on_start, true unless set to false).
func (r Repair) SweepsOnStart() bool { return r.SweepOnStart == nil || *r.SweepOnStart }

// Limits keep every request inside GitHub's rate limits (one governor per
// process; with Redis, writes are paced across replicas).
type Limits struct {
	// WritesPerMinute and WritesPerHour bound each installation's
	// content-creating requests (statuses, check runs, comments, re-runs).
	WritesPerMinute int `yaml:"writes_per_minute"`
	WritesPerHour   int `yaml:"writes_per_hour"`
	// PointsPerMinute bounds the points one installation spends on one
	// REST endpoint in a minute, GraphQLPointsPerMinute on GraphQL.
	PointsPerMinute        int `yaml:"points_per_minute"`
	GraphQLPointsPerMinute int `yaml:"graphql_points_per_minute"`
	// MaxInFlight bounds concurrent requests (GitHub allows 100).
	MaxInFlight int `yaml:"max_in_flight"`
	// Reserve and ReserveGraphQL are the REST requests and GraphQL points
	// of each installation's hourly budget that sweeps leave to webhooks.
	Reserve        int `yaml:"reserve"`
	ReserveGraphQL int `yaml:"reserve_graphql"`
}

// Redis is the shared store of several replicas; without an address the
// server runs as one replica with its state in memory.
type Redis struct {
	Address      string `yaml:"address"`
	PasswordFile string `yaml:"password_file"`
	// Password is read from PasswordFile by ResolveSecrets.
	Password  string `yaml:"-"`
	DB        int    `yaml:"db"`
	KeyPrefix string `yaml:"key_prefix"`
}

// RedisEnabled reports whether state is shared through Redis.
func (c *Server) RedisEnabled() bool { return c.Redis.Address != "" }

// Logging sets what the server logs.
type Logging struct {
	Level string `yaml:"level"`
}

// ZerologLevel is the zerolog level of Level (info when unset or unknown;
// Validate refuses unknown levels).
func (l Logging) ZerologLevel() zerolog.Level {
	if lvl, ok := logLevels[l.Level]; ok {
		return lvl
	}
	return zerolog.InfoLevel
}

// UI configures the details pages and the dashboard.
type UI struct {
	// PublicURL is where users reach the server, without a trailing slash
	// once SetDefaults ran; links in statuses point here.
	PublicURL string `yaml:"public_url"`
	OAuth     OAuth  `yaml:"oauth"`
}

// OAuth holds the GitHub App's own OAuth credentials (user login).
type OAuth struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
}

// Duration is a time.Duration written as "10m" in YAML; a bare "0" is zero.
type Duration struct {
	time.Duration
	set bool
}

// D returns a set Duration.
func D(d time.Duration) Duration { return Duration{Duration: d, set: true} }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration like 10m, got %s", n.Line, describeNode(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = D(v)
	return nil
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.Duration.String(), nil }

func parseDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 10m or 2h)", s)
	}
	return v, nil
}

// LoadServer reads a server config file, applies environment overrides and
// defaults, reads the secret files, and validates the result. Its error is a
// *Problems listing everything wrong, file and environment alike.
func LoadServer(path string) (*Server, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read server config: %w", err)
	}
	c, probs := parseServer(data)
	if len(probs) > 0 && probs[0].Key == "" {
		// Not YAML: nothing below would say anything useful.
		return nil, &Problems{File: path, List: probs}
	}
	probs = append(probs, c.setValuesFromEnv(os.LookupEnv)...)
	c.SetDefaults()
	probs = append(probs, c.resolveSecrets()...)
	failed := map[string]bool{}
	for _, p := range probs {
		failed[p.Key] = true
	}
	// A key that could not be read is not validated again: it would only be
	// reported "missing".
	for _, p := range c.validate() {
		if !failed[p.Key] && !failed[p.Key+"_file"] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return nil, &Problems{File: path, List: probs}
	}
	return c, nil
}

// ParseServer decodes a server config strictly: unknown keys, keys given
// twice and values of the wrong type are errors (a *Problems naming every
// one). It does not apply the environment, defaults or validation.
func ParseServer(data []byte) (*Server, error) {
	c, probs := parseServer(data)
	if len(probs) > 0 {
		return nil, problemsErr(probs)
	}
	return c, nil
}

func parseServer(data []byte) (*Server, []Problem) {
	c := &Server{origins: map[string]origin{}}
	root, line, problem := readDocument(data)
	switch {
	case problem != "":
		return c, []Problem{{Msg: problem, Line: line}}
	case root == nil:
		return c, nil
	}
	d := decoder{c: c}
	d.section(root, "")
	return c, d.probs
}

// decoder walks the YAML tree along the key table, so that every problem is
// reported with its key path and line, and decoding goes on past the first.
type decoder struct {
	c     *Server
	probs []Problem
}

func (d *decoder) section(n *yaml.Node, path string) {
	n = resolveAlias(n)
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.probs = append(d.probs, Problem{Key: path, Msg: "want a mapping of keys, got " + describeNode(n), Line: n.Line})
		return
	}
	keys := serverKeys()
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.probs = append(d.probs, Problem{Key: p, Msg: fmt.Sprintf("given twice (first at line %d)", line), Line: k.Line})
			continue
		}
		seen[k.Value] = k.Line
		switch {
		case keys.sections[p]:
			d.section(v, p)
		case keys.byPath[p] != nil:
			d.leaf(keys.byPath[p], v)
		default:
			d.probs = append(d.probs, Problem{Key: p, Msg: "unknown key", Line: k.Line})
		}
	}
}

func (d *decoder) leaf(k *Key, n *yaml.Node) {
	n = resolveAlias(n)
	if n.ShortTag() == "!!null" {
		return
	}
	field := k.field(d.c)
	var err error
	switch {
	case field.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		list := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item = resolveAlias(item); item.Kind != yaml.ScalarNode {
				err = fmt.Errorf("want %s, got %s in the list", describeType(field.Type().Elem()), describeNode(item))
				break
			}
			list = append(list, item.Value)
		}
		if err == nil {
			setList(field, list)
		}
	case field.Kind() != reflect.Slice && n.Kind == yaml.ScalarNode:
		err = setFromString(field, n.Value)
	default:
		err = fmt.Errorf("want %s, got %s", describeType(field.Type()), describeNode(n))
	}
	if err != nil {
		d.probs = append(d.probs, Problem{Key: k.Path, Msg: err.Error(), Line: n.Line})
		return
	}
	d.c.origins[k.Path] = origin{line: n.Line}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// SetValuesFromEnv applies the environment override of every key (see
// ServerKeys): the github section uses go-githubapp's names
// (GITHUB_V3_API_URL, GITHUB_APP_INTEGRATION_ID, ...), the rest
// FIX_STATUS_<SECTION>_<KEY>; lists are comma-separated. A private key given
// in the environment, as text or as a file, replaces both forms from the
// file. The error is a *Problems naming every variable that is wrong.
func (c *Server) SetValuesFromEnv(lookup func(string) (string, bool)) error {
	return problemsErr(c.setValuesFromEnv(lookup))
}

func (c *Server) setValuesFromEnv(lookup func(string) (string, bool)) []Problem {
	if c.origins == nil {
		c.origins = map[string]origin{}
	}
	var probs []Problem
	for _, k := range serverKeys().list {
		v, ok := lookup(k.Env)
		if !ok {
			continue
		}
		field := k.field(c)
		if field.Kind() == reflect.Slice {
			setList(field, splitList(v))
		} else if err := setFromString(field, v); err != nil {
			probs = append(probs, Problem{Key: k.Path, Msg: err.Error(), Env: k.Env})
			continue
		}
		c.origins[k.Path] = origin{env: k.Env}
	}
	const keyPath, filePath = "github.app.private_key", "github.app.private_key_file"
	keyEnv, fileEnv := c.origins[keyPath].env != "", c.origins[filePath].env != ""
	switch {
	case keyEnv && fileEnv:
		probs = append(probs, Problem{Key: keyPath, Env: envName(keyPath),
			Msg: fmt.Sprintf("set %s or %s, not both", envName(keyPath), envName(filePath))})
		c.GitHub.App.PrivateKeyFile = "" // reported once, here
	case keyEnv:
		c.GitHub.App.PrivateKeyFile = ""
		delete(c.origins, filePath)
	case fileEnv:
		c.GitHub.App.PrivateKey = ""
		delete(c.origins, keyPath)
	}
	return probs
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SetDefaults fills every key that was not set with its named default (a
// value set to zero in the file or the environment stays zero) and trims the
// trailing slash of ui.public_url.
func (c *Server) SetDefaults() {
	orDefault(c, "server.address", &c.Server.Address, DefaultAddress)
	orDefault(c, "server.port", &c.Server.Port, DefaultPort)
	orDefault(c, "server.drain_timeout", &c.Server.DrainTimeout, D(DefaultDrainTimeout))
	orDefault(c, "server.http_cache_bytes", &c.Server.HTTPCacheBytes, DefaultHTTPCacheBytes)
	orDefault(c, "github.web_url", &c.GitHub.WebURL, DefaultWebURL)
	orDefault(c, "github.v3_api_url", &c.GitHub.V3APIURL, DefaultV3APIURL)
	orDefault(c, "github.v4_api_url", &c.GitHub.V4APIURL, DefaultV4APIURL)
	r := &c.Repair
	orDefault(c, "repair.grace_period", &r.GracePeriod, D(DefaultGracePeriod))
	orDefault(c, "repair.stale_pending_after", &r.StalePendingAfter, D(DefaultStalePendingAfter))
	orDefault(c, "repair.sweep_interval", &r.SweepInterval, D(DefaultSweepInterval))
	orDefault(c, "repair.sweep_on_start", &r.SweepOnStart, new(DefaultSweepOnStart))
	orDefault(c, "repair.redeliver_within", &r.RedeliverWithin, D(DefaultRedeliverWithin))
	orDefault(c, "repair.workers", &r.Workers, DefaultWorkers)
	orDefault(c, "repair.queue_size", &r.QueueSize, DefaultQueueSize)
	orDefault(c, "repair.reconcile_timeout", &r.ReconcileTimeout, D(DefaultReconcileTimeout))
	orDefault(c, "repair.max_retriggers", &r.MaxRetriggers, DefaultMaxRetriggers)
	l := &c.Limits
	orDefault(c, "limits.writes_per_minute", &l.WritesPerMinute, DefaultWritesPerMinute)
	orDefault(c, "limits.writes_per_hour", &l.WritesPerHour, DefaultWritesPerHour)
	orDefault(c, "limits.points_per_minute", &l.PointsPerMinute, DefaultPointsPerMinute)
	orDefault(c, "limits.graphql_points_per_minute", &l.GraphQLPointsPerMinute, DefaultGraphQLPointsPerMinute)
	orDefault(c, "limits.max_in_flight", &l.MaxInFlight, DefaultMaxInFlight)
	orDefault(c, "limits.reserve", &l.Reserve, DefaultReserve)
	orDefault(c, "limits.reserve_graphql", &l.ReserveGraphQL, DefaultReserve)
	if c.RedisEnabled() {
		orDefault(c, "redis.key_prefix", &c.Redis.KeyPrefix, DefaultRedisKeyPrefix)
	}
	orDefault(c, "logging.level", &c.Logging.Level, DefaultLogLevel)
	c.UI.PublicURL = strings.TrimRight(c.UI.PublicURL, "/")
}

// orDefault sets *dst to def when it is zero and the key was not set
// explicitly.
func orDefault[T comparable](c *Server, key string, dst *T, def T) {
	var zero T
	if _, set := c.origins[key]; *dst == zero && !set {
		*dst = def
	}
}

// ResolvePrivateKey reads private_key_file into private_key when only the file
// is given.
func (c *Server) ResolvePrivateKey() error { return problemsErr(c.resolvePrivateKey()) }

func (c *Server) resolvePrivateKey() []Problem {
	a := &c.GitHub.App
	if a.PrivateKey != "" && a.PrivateKeyFile != "" {
		return []Problem{c.problem("github.app.private_key_file", "set private_key or private_key_file, not both")}
	}
	if a.PrivateKeyFile == "" {
		return nil
	}
	data, err := os.ReadFile(a.PrivateKeyFile)
	if err != nil {
		return []Problem{c.problem("github.app.private_key_file", err.Error())}
	}
	a.PrivateKey = string(data)
	a.PrivateKeyFile = ""
	return nil
}

// ResolveSecrets reads the secrets given as files: private_key_file (see
// ResolvePrivateKey) and redis.password_file.
func (c *Server) ResolveSecrets() error { return problemsErr(c.resolveSecrets()) }

func (c *Server) resolveSecrets() []Problem {
	probs := c.resolvePrivateKey()
	if f := c.Redis.PasswordFile; f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return append(probs, c.problem("redis.password_file", err.Error()))
		}
		// Secret files often end in the newline of the echo that wrote them.
		c.Redis.Password = strings.TrimRight(string(data), "\r\n")
	}
	return probs
}

// Validate reports every problem that would stop the server from working.
func (c *Server) Validate() error { return problemsErr(c.validate()) }

func (c *Server) validate() []Problem {
	var probs []Problem
	bad := func(key, format string, args ...any) {
		probs = append(probs, c.problem(key, fmt.Sprintf(format, args...)))
	}
	atLeast := func(key string, v, least int64) {
		if v < least {
			bad(key, "%d is less than %d", v, least)
		}
	}
	notNegative := func(key string, d Duration) {
		if d.Duration < 0 {
			bad(key, "%s is negative", d.Duration)
		}
	}
	absoluteURL := func(key, u string) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(key, "%q is not an absolute http(s) URL", u)
		}
	}

	if p := c.Server.Port; p < 1 || p > 65535 {
		bad("server.port", "%d is not a TCP port (1-65535)", p)
	}
	notNegative("server.drain_timeout", c.Server.DrainTimeout)
	atLeast("server.http_cache_bytes", c.Server.HTTPCacheBytes, 1)

	absoluteURL("github.web_url", c.GitHub.WebURL)
	absoluteURL("github.v3_api_url", c.GitHub.V3APIURL)
	absoluteURL("github.v4_api_url", c.GitHub.V4APIURL)
	if c.GitHub.App.IntegrationID <= 0 {
		bad("github.app.integration_id", "missing (the GitHub App's id)")
	}
	if c.GitHub.App.WebhookSecret == "" {
		bad("github.app.webhook_secret", "missing (webhooks cannot be verified without it)")
	}
	if !strings.Contains(c.GitHub.App.PrivateKey, "PRIVATE KEY-----") {
		bad("github.app.private_key", "missing or not a PEM private key (or set private_key_file)")
	}

	for i, p := range c.Prow.JobConfig {
		if strings.TrimSpace(p) == "" {
			bad("prow.job_config", "entry %d is empty", i)
		}
	}

	r := c.Repair
	notNegative("repair.grace_period", r.GracePeriod)
	notNegative("repair.stale_pending_after", r.StalePendingAfter)
	notNegative("repair.sweep_interval", r.SweepInterval)
	notNegative("repair.redeliver_within", r.RedeliverWithin)
	atLeast("repair.workers", int64(r.Workers), 1)
	atLeast("repair.queue_size", int64(r.QueueSize), 1)
	if r.ReconcileTimeout.Duration <= 0 {
		bad("repair.reconcile_timeout", "%s is not positive", r.ReconcileTimeout.Duration)
	}
	atLeast("repair.max_retriggers", int64(r.MaxRetriggers), 0)
	l := c.Limits
	for _, k := range []struct {
		key string
		v   int
	}{{"limits.writes_per_minute", l.WritesPerMinute}, {"limits.writes_per_hour", l.WritesPerHour},
		{"limits.points_per_minute", l.PointsPerMinute}, {"limits.graphql_points_per_minute", l.GraphQLPointsPerMinute},
		{"limits.max_in_flight", l.MaxInFlight}} {
		atLeast(k.key, int64(k.v), 1)
	}
	if l.MaxInFlight > 100 {
		bad("limits.max_in_flight", "%d is more than the 100 concurrent requests GitHub allows", l.MaxInFlight)
	}
	atLeast("limits.reserve", int64(l.Reserve), 0)
	atLeast("limits.reserve_graphql", int64(l.ReserveGraphQL), 0)

	if c.RedisEnabled() {
		if _, port, err := net.SplitHostPort(c.Redis.Address); err != nil || port == "" {
			bad("redis.address", "%q is not HOST:PORT", c.Redis.Address)
		}
	} else {
		// Zero values are what yaml.Marshal writes for an absent section.
		rd := c.Redis
		for _, k := range []struct {
			key string
			set bool
		}{{"redis.password_file", rd.PasswordFile != ""}, {"redis.db", rd.DB != 0}, {"redis.key_prefix", rd.KeyPrefix != ""}} {
			if k.set {
				probs = append(probs, c.problemAt("redis.address", k.key, fmt.Sprintf("missing (%s is set)", k.key)))
			}
		}
	}
	atLeast("redis.db", int64(c.Redis.DB), 0)

	if _, ok := logLevels[c.Logging.Level]; !ok {
		bad("logging.level", "%q is not one of debug, info, warn, error", c.Logging.Level)
	}

	if c.UI.PublicURL != "" {
		absoluteURL("ui.public_url", c.UI.PublicURL)
	}
	if o := c.UI.OAuth; (o.ClientID == "") != (o.ClientSecret == "") {
		if o.ClientID == "" {
			probs = append(probs, c.problemAt("ui.oauth.client_id", "ui.oauth.client_secret", "missing (ui.oauth.client_secret is set)"))
		} else {
			probs = append(probs, c.problemAt("ui.oauth.client_secret", "ui.oauth.client_id", "missing (ui.oauth.client_id is set)"))
		}
	}
	return probs
}

// problem is a problem with key, pointing at where its value came from.
func (c *Server) problem(key, msg string) Problem { return c.problemAt(key, key, msg) }

// problemAt is a problem with key caused by the value of another key, at.
func (c *Server) problemAt(key, at, msg string) Problem {
	o := c.origins[at]
	return Problem{Key: key, Msg: msg, Line: o.line, Env: o.env}
}

// GitHubAppConfig returns the go-githubapp view of the github section and of
// the app's OAuth credentials.
func (c *Server) GitHubAppConfig() githubapp.Config {
	var g githubapp.Config
	g.WebURL = c.GitHub.WebURL
	g.V3APIURL = c.GitHub.V3APIURL
	g.V4APIURL = c.GitHub.V4APIURL
	g.App.IntegrationID = c.GitHub.App.IntegrationID
	g.App.WebhookSecret = c.GitHub.App.WebhookSecret
	g.App.PrivateKey = c.GitHub.App.PrivateKey
	g.OAuth.ClientID = c.UI.OAuth.ClientID
	g.OAuth.ClientSecret = c.UI.OAuth.ClientSecret
	return g
}

// AppCredentials identify a GitHub App and the GitHub it is registered on.
type AppCredentials struct {
	WebURL, V3APIURL, V4APIURL string
	AppID                      int64
	WebhookSecret              string
	PrivateKey                 string // PEM
	ClientID, ClientSecret     string // the app's OAuth client (ui.oauth)
}

// ForApp is a server config for the app c, every other key at its default.
func ForApp(c AppCredentials) *Server {
	s := &Server{}
	s.GitHub.WebURL, s.GitHub.V3APIURL, s.GitHub.V4APIURL = c.WebURL, c.V3APIURL, c.V4APIURL
	s.GitHub.App.IntegrationID = c.AppID
	s.GitHub.App.WebhookSecret = c.WebhookSecret
	s.GitHub.App.PrivateKey = c.PrivateKey
	s.UI.OAuth = OAuth{ClientID: c.ClientID, ClientSecret: c.ClientSecret}
	s.SetDefaults()
	return s
}

// A Key is one leaf key of the server config.
type Key struct {
	// Path is the key in the file, sections joined by dots: repair.workers.
	Path string
	// Env is the environment variable that overrides it.
	Env string

	index []int // of the field in Server
}

func (k *Key) field(c *Server) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(k.index) }

// ServerKeys lists every key of the server config, in the order of the file.
// It is derived from the yaml tags of Server, so no key lacks an environment
// variable.
func ServerKeys() []Key {
	list := serverKeys().list
	out := make([]Key, len(list))
	copy(out, list)
	return out
}

// EnvNames lists the environment variable of every key of the server config.
func EnvNames() []string {
	list := serverKeys().list
	out := make([]string, len(list))
	for i, k := range list {
		out[i] = k.Env
	}
	return out
}

type keyTable struct {
	list     []Key
	byPath   map[string]*Key
	sections map[string]bool
}

var serverKeys = sync.OnceValue(func() *keyTable {
	t := &keyTable{byPath: map[string]*Key{}, sections: map[string]bool{}}
	t.collect(reflect.TypeFor[Server](), "", nil)
	for i := range t.list {
		t.byPath[t.list[i].Path] = &t.list[i]
	}
	return t
})

var durationType = reflect.TypeFor[Duration]()

// collect adds the keys of the struct type st, found at path. A struct field
// is a section, anything else a key; fields tagged "-" and unexported fields
// are no keys.
func (t *keyTable) collect(st reflect.Type, path string, index []int) {
	for i := range st.NumField() {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			panic(fmt.Sprintf("config: field %s.%s has no yaml tag", st.Name(), f.Name))
		}
		p, idx := joinPath(path, name), append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			t.sections[p] = true
			t.collect(f.Type, p, idx)
			continue
		}
		t.list = append(t.list, Key{Path: p, Env: envName(p), index: idx})
	}
}

// envName is the environment variable of a key path: go-githubapp's
// GITHUB_* names for the github section, FIX_STATUS_<SECTION>_<KEY> for the
// rest.
func envName(path string) string {
	name := strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
	if strings.HasPrefix(path, "github.") {
		return name
	}
	return "FIX_STATUS_" + name
}

// setFromString parses s into the key's field v; the message of its error
// names the value, the caller adds the key.
func setFromString(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := parseDuration(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(D(d)))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%q is out of range", s)
		}
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Bool || v.Type() == reflect.TypeFor[*bool]():
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		if v.Kind() == reflect.Bool {
			v.SetBool(b)
		} else {
			v.Set(reflect.ValueOf(&b))
		}
	default:
		panic("config: no parser for " + v.Type().String())
	}
	return nil
}

func setList(v reflect.Value, list []string) { v.Set(reflect.ValueOf(list)) }

// describeType says what a value of a key's type looks like.
func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 10m"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "a number"
	case t.Kind() == reflect.Bool || t == reflect.TypeFor[*bool]():
		return "true or false"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "a list of mappings"
	case t.Kind() == reflect.Slice:
		return "a list of " + strings.TrimPrefix(describeType(t.Elem()), "a ") + "s"
	case t.Kind() == reflect.Struct:
		return "a mapping of keys"
	default:
		return "a string"
	}
}

// Problem is one thing wrong with one key of the server config.
type Problem struct {
	// Key is the key path (repair.workers); empty for the file as a whole.
	Key string
	Msg string
	// Line is the line of the value in the file, when it came from there.
	Line int
	// Env is the environment variable the value came from, if it did.
	Env string
}

func (p Problem) String() string {
	s := p.Msg
	if p.Key != "" {
		s = p.Key + ": " + s
	}
	switch {
	case p.Env != "":
		s += " (env " + p.Env + ")"
	case p.Line > 0:
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	return s
}

// Problems is the error of a server config that cannot be used: every problem
// found, one per line, each naming the file when there is one.
type Problems struct {
	File string
	List []Problem
}

func (e *Problems) Error() string {
	lines := make([]string, len(e.List))
	for i, p := range e.List {
		lines[i] = p.String()
		if e.File != "" {
			lines[i] = e.File + ": " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// problemsErr is nil without problems, so that no typed nil becomes an error.
func problemsErr(list []Problem) error {
	if len(list) == 0 {
		return nil
	}
	return &Problems{List: list}
}
