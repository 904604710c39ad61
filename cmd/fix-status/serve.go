package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/serve"
	"github.com/fix-status/fix-status/app/shared"
	"github.com/fix-status/fix-status/config"
	"github.com/fix-status/fix-status/handlers"
)

// WebhookRoute is go-githubapp's default webhook path.
const WebhookRoute = githubapp.DefaultWebhookRoute

func newServeCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve --config SERVER_CONFIG",
		Short: "Run the GitHub App: the webhook server and the periodic sweep",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadServer(cfgPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := newServer(ctx, cfg, serverOptions{})
			if err != nil {
				return err
			}
			return srv.run(ctx)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "server config file (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

type serverOptions struct {
	// listener, when set, is used instead of the config's address and port.
	listener net.Listener
	service  serve.Options
	logOut   io.Writer
	// onHandlerError, when set, is told every error a webhook handler
	// returns (they are logged either way).
	onHandlerError func(error)
	// noCatchUp turns off the start-up sweep and delivery recovery (tests
	// that count every request).
	noCatchUp bool
	// now is the server's clock (default time.Now): tests move it past a
	// grace period instead of waiting it out.
	now func() time.Time
	// sleep is the governor's wait (default the wall clock's).
	sleep func(ctx context.Context, d time.Duration) error
}

// server is the running GitHub App.
type server struct {
	w      *wired
	cfg    *config.Server
	svc    *serve.Service
	intake *intake
	http   *http.Server
	ln     net.Listener
	// ready: started and not draining (readiness); the process answers
	// /healthz while it lives (liveness).
	ready atomic.Bool
}

func newServer(ctx context.Context, cfg *config.Server, o serverOptions) (*server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := wire(ctx, cfg, wireOptions{registry: reg, logOut: o.logOut, now: o.now, sleep: o.sleep})
	if err != nil {
		return nil, err
	}
	so := o.service
	so.Logger, so.Clients, so.Governor, so.Metrics, so.Now = w.logger, w.clients, w.clients.Governor(), w.metrics, w.now
	if so.Bulk, err = bulk.NewReader(bulk.Options{Clients: w.clients}); err != nil {
		return nil, err
	}
	if so.SweepInterval == 0 {
		so.SweepInterval = cfg.Repair.SweepInterval.Duration
	}
	if so.Workers == 0 {
		so.Workers = cfg.Repair.Workers
	}
	if so.MaxPending == 0 {
		so.MaxPending = cfg.Repair.QueueSize
	}
	if so.Timeout == 0 {
		so.Timeout = cfg.Repair.ReconcileTimeout.Duration
	}
	// The drift watch audits as `fix-status audit` does online.
	so.Auditor = func(ctx context.Context, c *github.Client, repo plan.RepoRef) (*audit.RepoReport, error) {
		return audit.Repo(ctx, c, w.loader, repo, w.appID)
	}
	if so.Audits == nil {
		so.Audits = serve.NewAudits()
	}
	if !o.noCatchUp {
		so.SweepOnStart = cfg.Repair.SweepsOnStart()
		so.RedeliverWithin = cfg.Repair.RedeliverWithin.Duration
	}
	var seen serve.Deliveries = serve.NewMemDeliveries()
	if w.shared != nil {
		so.Queue = w.shared.Queue(shared.QueueOptions{Max: so.MaxPending, Timeout: so.Timeout, Now: w.now,
			OnLen: func(n int) { w.metrics.QueueDepth.Set(float64(n)) }})
		so.Leases = w.shared.Leases()
		seen = w.shared.Deliveries(serve.DeliveriesTTL)
	}
	pg, err := newPages(w, reg, &so)
	if err != nil {
		return nil, err
	}
	svc := serve.New(w.rec, so)
	s := &server{w: w, cfg: cfg, svc: svc, intake: &intake{seen: seen, inner: githubapp.DefaultScheduler()}}
	// Handlers run before the answer and only queue work (no API call), so
	// a delivery is acknowledged once its work is queued; what cannot be
	// queued is answered 503, which GitHub records as a failed delivery for
	// the recovery to send again.
	onError := func(rw http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, serve.ErrQueueFull), errors.Is(err, errDraining), errors.Is(err, errUnavailable):
			w.metrics.Dropped()
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("delivery not queued; answered 503")
			http.Error(rw, "cannot queue this delivery now: "+err.Error(), http.StatusServiceUnavailable)
		case errors.Is(err, handlers.ErrMalformed):
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("malformed webhook payload")
			http.Error(rw, err.Error(), http.StatusBadRequest)
		default:
			githubapp.DefaultErrorCallback(rw, r, err)
		}
		if o.onHandlerError != nil {
			o.onHandlerError(err)
		}
	}
	dispatcher := webhookGuard(githubapp.NewEventDispatcher(handlers.All(svc, w.metrics), cfg.GitHub.App.WebhookSecret,
		githubapp.WithScheduler(s.intake), githubapp.WithErrorCallback(onError)))
	mux := http.NewServeMux()
	mux.Handle(WebhookRoute, dispatcher)
	mux.Handle(config.MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	pg.mount(mux)
	mux.HandleFunc(config.HealthzPath, func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write([]byte("ok\n")) })
	mux.HandleFunc(config.ReadyzPath, func(rw http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(rw, "starting or draining", http.StatusServiceUnavailable)
			return
		}
		_, _ = rw.Write([]byte("ready\n"))
	})
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return w.logger.WithContext(context.Background()) }}
	s.ln = o.listener
	if s.ln == nil {
		addr := net.JoinHostPort(cfg.Server.Address, strconv.Itoa(cfg.Server.Port))
		if s.ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("failed to listen on %s: %w", addr, err)
		}
	}
	return s, nil
}

// URL is the server's base address.
func (s *server) URL() string { return "http://" + s.ln.Addr().String() }

// run serves until ctx ends, then drains: readiness goes 503 while the
// listener keeps answering, the queued work finishes (within the drain
// bound), and the listener closes.
func (s *server) run(ctx context.Context) error {
	s.svc.Start(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	s.ready.Store(true)
	s.w.logger.Info().Str("address", s.URL()).Str("webhook", WebhookRoute).Msg("fix-status serving")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	if s.w.shared == nil {
		// In memory, what is queued during the drain would be lost.
		s.intake.drain()
	}
	s.w.logger.Info().Dur("bound", s.cfg.Server.DrainTimeout.Duration).Msg("draining")
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.DrainTimeout.Duration)
	defer cancel()
	err := s.svc.Shutdown(drainCtx)
	if herr := s.http.Shutdown(drainCtx); herr != nil {
		err = errors.Join(err, herr)
	}
	if s.w.shared != nil {
		if cerr := s.w.shared.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	s.w.logger.Info().Msg("fix-status stopped")
	return err
}

// errDraining refuses deliveries while the server drains: what is queued in
// memory now would be lost at exit, so GitHub is told to keep it (503).
var errDraining = errors.New("fix-status is shutting down")

// errUnavailable: what deliveries were seen cannot be told (Redis is
// unreachable): answered 503, GitHub keeps the delivery for the recovery.
var errUnavailable = errors.New("the shared state is unavailable")

// intake takes a delivery once its signature was checked: it ignores
// deliveries seen before and runs the handler (which only queues work)
// before the answer.
type intake struct {
	inner    githubapp.Scheduler
	seen     serve.Deliveries
	draining atomic.Bool
}

func (in *intake) drain() { in.draining.Store(true) }

// Schedule is called after the signature was checked: only then can a
// delivery id be trusted.
func (in *intake) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	if in.draining.Load() {
		return errDraining
	}
	first, err := in.seen.Claim(ctx, d.DeliveryID)
	if err != nil {
		return fmt.Errorf("cannot tell whether delivery %s was seen: %w", d.DeliveryID, errUnavailable)
	}
	if !first {
		zerolog.Ctx(ctx).Info().Msg("delivery seen before; ignored")
		return nil
	}
	if err := in.inner.Schedule(ctx, d); err != nil {
		// Not accepted: GitHub's (or the recovery's) to send again.
		if rerr := in.seen.Release(ctx, d.DeliveryID); rerr != nil {
			zerolog.Ctx(ctx).Warn().Err(rerr).Msg("cannot forget a delivery that was not accepted")
		}
		return err
	}
	return nil
}

// MaxPayload is GitHub's limit for a webhook payload: it sends nothing
// bigger, so a bigger body is not GitHub's.
const MaxPayload = 25 << 20

// webhookGuard answers what must not reach the dispatcher: a body over 25 MB
// (413, read no further than the limit, before any signature work), and a
// delivery not signed with X-Hub-Signature-256's "sha256=" form (go-github
// would otherwise accept an older SHA-1 signature, in either header).
func webhookGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxPayload {
			http.Error(w, fmt.Sprintf("payload over %d bytes", MaxPayload), http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
		if err != nil {
			http.Error(w, "failed to read the payload", http.StatusBadRequest)
			return
		}
		if len(body) > MaxPayload {
			http.Error(w, fmt.Sprintf("payload over %d bytes", MaxPayload), http.StatusRequestEntityTooLarge)
			return
		}
		sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
		if !ok || len(sig) != 64 {
			http.Error(w, `X-Hub-Signature-256 must be "sha256=" and 64 hex digits`, http.StatusBadRequest)
			return
		}
		r.Header.Del("X-Hub-Signature")
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
