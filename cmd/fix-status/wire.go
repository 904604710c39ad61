package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/app/shared"
	"github.com/fix-status/fix-status/app/sources"
	"github.com/fix-status/fix-status/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// wired is the composition root's output: everything a command needs.
type wired struct {
	cfg *config.Server
	// clients go through gov, the one governor of the process: every
	// request of every driver (webhooks, sweeps, backfill, the pages)
	// keeps inside GitHub's rate limits together.
	clients *govern.Clients
	rec     *reconcile.Reconciler
	// loader and appID are the reconciler's rule loader and fix-status's
	// own app id, for the audit.
	loader *sources.Loader
	appID  int64
	// shared is the state replicas share, when the config names a Redis
	// server (nil: one replica, state in memory).
	shared  *shared.Redis
	metrics *metrics.Metrics
	logger  zerolog.Logger
	// now is the one clock of the commands (tests move it).
	now func() time.Time
}

type wireOptions struct {
	registry prometheus.Registerer
	logOut   io.Writer
	now      func() time.Time
	// governor sets the governor's limits (backfill's flags; nil: the
	// config's limits section); its clock is now's and sleep's, and with
	// Redis its writes are paced with the other replicas' (unless it names
	// a Pacer).
	governor *govern.Options
	// sleep is the governor's wait (default the wall clock's): tests move
	// a clock the emulator shares instead of waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// cacheBytes bounds the HTTP cache shared by every installation client
	// (0 = the config's server.http_cache_bytes); backfill reads each PR
	// once and keeps it small.
	cacheBytes int64
}

// wire builds the GitHub clients and the reconciler from a server config.
func wire(ctx context.Context, cfg *config.Server, o wireOptions) (*wired, error) {
	if o.logOut == nil {
		o.logOut = os.Stderr
	}
	// logging.level applies to every line, go-githubapp's per-request
	// github_request lines included: those are Debug, so the default level
	// (info) logs none of them.
	logger := zerolog.New(o.logOut).Level(cfg.Logging.ZerologLevel()).With().Timestamp().Logger()
	m := metrics.New(o.registry)
	if o.cacheBytes == 0 {
		o.cacheBytes = cfg.Server.HTTPCacheBytes
	}
	cache := ghapi.NewCache(o.cacheBytes)
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHubAppConfig(),
		githubapp.WithClientUserAgent("fix-status/"+version),
		githubapp.WithClientTimeout(30*time.Second),
		cache.ClientOption(),
		githubapp.WithClientMiddleware(githubapp.ClientLogging(zerolog.DebugLevel), m.ClientMiddleware()),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to create GitHub clients: %w", err)
	}
	var central *prow.Config
	if len(cfg.Prow.JobConfig) > 0 {
		if central, err = prow.Load(cfg.Prow.JobConfig...); err != nil {
			return nil, fmt.Errorf("prow.job_config: %w", err)
		}
	}
	loader := sources.NewLoader(central)
	var rd *shared.Redis
	ropts := reconcile.Options{}
	var gopts govern.Options
	if o.governor != nil {
		gopts = *o.governor
	} else {
		l := cfg.Limits
		gopts = govern.Options{WritesPerMinute: l.WritesPerMinute, WritesPerHour: l.WritesPerHour,
			PointsPerMinute: l.PointsPerMinute, GraphQLPointsPerMinute: l.GraphQLPointsPerMinute,
			MaxInFlight: l.MaxInFlight, ReserveCore: l.Reserve, ReserveGraphQL: l.ReserveGraphQL}
	}
	if gopts.Now == nil {
		gopts.Now = o.now
	}
	if gopts.Sleep == nil {
		gopts.Sleep = o.sleep
	}
	if cfg.RedisEnabled() {
		if rd, err = shared.Dial(ctx, shared.Options{Address: cfg.Redis.Address, Password: cfg.Redis.Password,
			DB: cfg.Redis.DB, KeyPrefix: cfg.Redis.KeyPrefix}); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		// A lock's lease outlives a pause of its holder by this much; the
		// write guard and the claims cover a longer one.
		ropts.Locks, ropts.Claims = rd.Locks(30*time.Second), rd.Claims(24*time.Hour)
		if gopts.Pacer == nil {
			gopts.Pacer = rd.Pacer(govern.PacerOptions{PerMinute: gopts.WritesPerMinute, PerHour: gopts.WritesPerHour, Sleep: gopts.Sleep})
		}
	}
	gov := govern.New(gopts)
	clients, err := govern.NewClients(cc, gov, cfg.GitHub.V4APIURL)
	if err != nil {
		return nil, err
	}
	if o.registry != nil {
		o.registry.MustRegister(gov)
	}
	appClient, err := clients.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("failed to create the app client: %w", err)
	}
	self, _, err := appClient.Apps.Get(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("failed to read the GitHub App (GET /app) at %s: %w", cfg.GitHub.V3APIURL, err)
	}
	rec := reconcile.New(reconcile.Options{
		Clients: clients, Cache: cache, Config: cfg, AppID: self.GetID(), AppSlug: self.GetSlug(),
		Sources: loader, Metrics: m, Now: o.now, Locks: ropts.Locks, Claims: ropts.Claims, Pacer: gov,
	})
	if o.now == nil {
		o.now = time.Now
	}
	return &wired{cfg: cfg, clients: clients, rec: rec, loader: loader, appID: self.GetID(), metrics: m, logger: logger, now: o.now, shared: rd}, nil
}
