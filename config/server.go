// Package config holds fix-status's two configuration tiers: the server config
// (one per deployment) and the repo config (.github/fix-status.yml, read from a
// PR's base branch). Both are parsed strictly: an unknown key is an error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"gopkg.in/yaml.v3"
)

// Named defaults of the server config.
const (
	DefaultAddress           = "127.0.0.1"
	DefaultPort              = 8080
	DefaultWebURL            = "https://github.com"
	DefaultV3APIURL          = "https://api.github.com/"
	DefaultV4APIURL          = "https://api.github.com/graphql"
	DefaultGracePeriod       = 10 * time.Minute
	DefaultStalePendingAfter = 2 * time.Hour
	DefaultSweepInterval     = 30 * time.Minute
)

// Server is the server config (the README's "Server config").
type Server struct {
	Server ServerListen `yaml:"server"`
	GitHub GitHub       `yaml:"github"`
	Prow   Prow         `yaml:"prow"`
	Repair Repair       `yaml:"repair"`
	UI     UI           `yaml:"ui,omitempty"`
}

// UI configures the details pages: PublicURL is where users reach them (the
// base of the OAuth callback); OAuth is the GitHub App's own OAuth client
// (user login).
type UI struct {
	PublicURL string `yaml:"public_url"`
	OAuth     OAuth  `yaml:"oauth,omitempty"`
}

// OAuth is a GitHub App's OAuth client id and secret.
type OAuth struct {
	ClientID     string `yaml:"client_id,omitempty"`
	ClientSecret string `yaml:"client_secret,omitempty"`
}

// ServerListen is where the webhook server listens.
type ServerListen struct {
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
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

// Repair tunes when fix-status acts.
type Repair struct {
	DryRun            bool     `yaml:"dry_run"`
	GracePeriod       Duration `yaml:"grace_period"`
	StalePendingAfter Duration `yaml:"stale_pending_after"`
	SweepInterval     Duration `yaml:"sweep_interval"`
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
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration like 10m: %w", n.Line, err)
	}
	v, err := parseDuration(s)
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
		return 0, fmt.Errorf("invalid duration %q (want e.g. 10m, 2h)", s)
	}
	return v, nil
}

// LoadServer reads a server config file, applies environment overrides and
// defaults, and validates it.
func LoadServer(path string) (*Server, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read server config: %w", err)
	}
	c, err := ParseServer(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.SetValuesFromEnv(os.LookupEnv); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.SetDefaults()
	if err := c.ResolvePrivateKey(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseServer decodes a server config strictly (unknown keys are errors). It
// does not apply the environment, defaults or validation.
func ParseServer(data []byte) (*Server, error) {
	var c Server
	if err := decodeStrict(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func decodeStrict(data []byte, into any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return cleanYAMLError(err)
	}
	return nil
}

// cleanYAMLError turns yaml.v3's "field x not found in type config.Repo" into
// words a user knows: "line 3: unknown key \"x\"".
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		if i := strings.Index(m, ": field "); i >= 0 && strings.Contains(m, " not found in type ") {
			field := m[i+len(": field "):]
			field = field[:strings.Index(field, " not found in type ")]
			m = fmt.Sprintf("%s: unknown key %q", m[:i], field)
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// SetValuesFromEnv applies environment overrides. The github section uses
// go-githubapp's names (GITHUB_V3_API_URL, GITHUB_APP_INTEGRATION_ID, ...);
// the rest use FIX_STATUS_<SECTION>_<KEY>.
func (c *Server) SetValuesFromEnv(lookup func(string) (string, bool)) error {
	str := func(key string, dst *string) {
		if v, ok := lookup(key); ok {
			*dst = v
		}
	}
	str("GITHUB_WEB_URL", &c.GitHub.WebURL)
	str("GITHUB_V3_API_URL", &c.GitHub.V3APIURL)
	str("GITHUB_V4_API_URL", &c.GitHub.V4APIURL)
	str("GITHUB_APP_WEBHOOK_SECRET", &c.GitHub.App.WebhookSecret)
	str("GITHUB_APP_PRIVATE_KEY", &c.GitHub.App.PrivateKey)
	str("GITHUB_APP_PRIVATE_KEY_FILE", &c.GitHub.App.PrivateKeyFile)
	str("FIX_STATUS_SERVER_ADDRESS", &c.Server.Address)
	if v, ok := lookup("GITHUB_APP_INTEGRATION_ID"); ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("GITHUB_APP_INTEGRATION_ID: %q is not a number", v)
		}
		c.GitHub.App.IntegrationID = id
	}
	if v, ok := lookup("FIX_STATUS_SERVER_PORT"); ok {
		p, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("FIX_STATUS_SERVER_PORT: %q is not a number", v)
		}
		c.Server.Port = p
	}
	if v, ok := lookup("FIX_STATUS_PROW_JOB_CONFIG"); ok {
		c.Prow.JobConfig = splitList(v)
	}
	if v, ok := lookup("FIX_STATUS_REPAIR_DRY_RUN"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("FIX_STATUS_REPAIR_DRY_RUN: %q is not true or false", v)
		}
		c.Repair.DryRun = b
	}
	for key, dst := range map[string]*Duration{
		"FIX_STATUS_REPAIR_GRACE_PERIOD":        &c.Repair.GracePeriod,
		"FIX_STATUS_REPAIR_STALE_PENDING_AFTER": &c.Repair.StalePendingAfter,
		"FIX_STATUS_REPAIR_SWEEP_INTERVAL":      &c.Repair.SweepInterval,
	} {
		if v, ok := lookup(key); ok {
			d, err := parseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			*dst = D(d)
		}
	}
	return nil
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

// SetDefaults fills every unset key with its named default.
func (c *Server) SetDefaults() {
	if c.Server.Address == "" {
		c.Server.Address = DefaultAddress
	}
	if c.Server.Port == 0 {
		c.Server.Port = DefaultPort
	}
	if c.GitHub.WebURL == "" {
		c.GitHub.WebURL = DefaultWebURL
	}
	if c.GitHub.V3APIURL == "" {
		c.GitHub.V3APIURL = DefaultV3APIURL
	}
	if c.GitHub.V4APIURL == "" {
		c.GitHub.V4APIURL = DefaultV4APIURL
	}
	if !c.Repair.GracePeriod.set {
		c.Repair.GracePeriod = D(DefaultGracePeriod)
	}
	if !c.Repair.StalePendingAfter.set {
		c.Repair.StalePendingAfter = D(DefaultStalePendingAfter)
	}
	if !c.Repair.SweepInterval.set {
		c.Repair.SweepInterval = D(DefaultSweepInterval)
	}
}

// ResolvePrivateKey reads private_key_file into private_key when only the file
// is given.
func (c *Server) ResolvePrivateKey() error {
	a := &c.GitHub.App
	if a.PrivateKey != "" && a.PrivateKeyFile != "" {
		return errors.New("github.app: set private_key or private_key_file, not both")
	}
	if a.PrivateKeyFile == "" {
		return nil
	}
	data, err := os.ReadFile(a.PrivateKeyFile)
	if err != nil {
		return fmt.Errorf("github.app.private_key_file: %w", err)
	}
	a.PrivateKey = string(data)
	a.PrivateKeyFile = ""
	return nil
}

// Validate reports the first problem that would stop the server from working.
func (c *Server) Validate() error {
	var errs []string
	if c.Server.Port < 0 || c.Server.Port > 65535 {
		errs = append(errs, fmt.Sprintf("server.port: %d is not a TCP port", c.Server.Port))
	}
	for key, u := range map[string]string{
		"github.web_url":    c.GitHub.WebURL,
		"github.v3_api_url": c.GitHub.V3APIURL,
		"github.v4_api_url": c.GitHub.V4APIURL,
	} {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Host == "" {
			errs = append(errs, fmt.Sprintf("%s: %q is not an absolute URL", key, u))
		}
	}
	if c.GitHub.App.IntegrationID <= 0 {
		errs = append(errs, "github.app.integration_id: missing (the GitHub App's id)")
	}
	if c.GitHub.App.WebhookSecret == "" {
		errs = append(errs, "github.app.webhook_secret: missing (webhooks cannot be verified without it)")
	}
	if !strings.Contains(c.GitHub.App.PrivateKey, "PRIVATE KEY-----") {
		errs = append(errs, "github.app.private_key: missing or not a PEM private key (or set private_key_file)")
	}
	for key, d := range map[string]Duration{
		"repair.grace_period":        c.Repair.GracePeriod,
		"repair.stale_pending_after": c.Repair.StalePendingAfter,
		"repair.sweep_interval":      c.Repair.SweepInterval,
	} {
		if d.Duration < 0 {
			errs = append(errs, fmt.Sprintf("%s: %s is negative", key, d.Duration))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return errors.New("invalid server config: " + strings.Join(errs, "; "))
}

// GitHubAppConfig returns the go-githubapp view of the github section.
func (c *Server) GitHubAppConfig() githubapp.Config {
	var g githubapp.Config
	g.WebURL = c.GitHub.WebURL
	g.V3APIURL = c.GitHub.V3APIURL
	g.V4APIURL = c.GitHub.V4APIURL
	g.App.IntegrationID = c.GitHub.App.IntegrationID
	g.App.WebhookSecret = c.GitHub.App.WebhookSecret
	g.App.PrivateKey = c.GitHub.App.PrivateKey
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
