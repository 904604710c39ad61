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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/fix-status/fix-status/app/serve"
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
}

// server is the running GitHub App.
type server struct {
	w     *wired
	svc   *serve.Service
	sched *trackingScheduler
	http  *http.Server
	ln    net.Listener
	ready atomic.Bool
}

func newServer(ctx context.Context, cfg *config.Server, o serverOptions) (*server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	wo := wireOptions{registry: reg}
	if o.logOut != nil {
		wo.logOut = o.logOut
	}
	w, err := wire(ctx, cfg, wo)
	if err != nil {
		return nil, err
	}
	so := o.service
	so.Logger, so.Clients, so.Metrics, so.Now = w.logger, w.clients, w.metrics, w.now
	if so.SweepInterval == 0 {
		so.SweepInterval = cfg.Repair.SweepInterval.Duration
	}
	pg, err := newPages(w, reg, &so)
	if err != nil {
		return nil, err
	}
	svc := serve.New(w.rec, so)
	// Handlers only enqueue work, so a small pool keeps up; the queue
	// absorbs bursts, and a full queue answers 503 (GitHub shows the failed
	// delivery, which can be redelivered). The request's logger, with the
	// event type and delivery id, follows each event into its handler.
	onError := githubapp.DefaultAsyncErrorCallback
	if o.onHandlerError != nil {
		onError = func(ctx context.Context, d githubapp.Dispatch, err error) {
			githubapp.DefaultAsyncErrorCallback(ctx, d, err)
			o.onHandlerError(err)
		}
	}
	sched := &trackingScheduler{seen: newDeliveryLog(), inner: githubapp.QueueAsyncScheduler(1000, 4,
		githubapp.WithContextDeriver(githubapp.DefaultContextDeriver), githubapp.WithAsyncErrorCallback(onError))}
	dispatcher := webhookGuard(githubapp.NewEventDispatcher(handlers.All(svc, w.metrics), cfg.GitHub.App.WebhookSecret,
		githubapp.WithScheduler(sched)))
	s := &server{w: w, svc: svc, sched: sched}
	mux := http.NewServeMux()
	mux.Handle(WebhookRoute, dispatcher)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	pg.mount(mux)
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(rw, "starting or stopping", http.StatusServiceUnavailable)
			return
		}
		_, _ = rw.Write([]byte("ok\n"))
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

// run serves until ctx ends, then stops taking webhooks and finishes the
// queued work.
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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	// Events already accepted finish their handlers (a /fix-status run
	// replies) before the service drains what they queued.
	if werr := s.sched.wait(shutdownCtx); werr != nil {
		err = errors.Join(err, werr)
	}
	if serr := s.svc.Shutdown(shutdownCtx); serr != nil {
		err = errors.Join(err, serr)
	}
	s.w.logger.Info().Msg("fix-status stopped")
	return err
}

// trackingScheduler ignores deliveries seen before and counts the events
// accepted and not yet handled, so a shutdown can wait for them:
// go-githubapp's queue cannot be drained.
type trackingScheduler struct {
	inner githubapp.Scheduler
	seen  *deliveryLog
	wg    sync.WaitGroup
}

// Schedule is called after the signature was checked: only then can a
// delivery id be trusted.
func (t *trackingScheduler) Schedule(ctx context.Context, d githubapp.Dispatch) error {
	if !t.seen.claim(d.DeliveryID) {
		zerolog.Ctx(ctx).Info().Msg("delivery seen before; ignored")
		return nil
	}
	t.wg.Add(1)
	d.Handler = trackedHandler{EventHandler: d.Handler, done: t.wg.Done}
	if err := t.inner.Schedule(ctx, d); err != nil {
		t.wg.Done()
		// Not accepted: GitHub's (or the recovery's) to send again.
		t.seen.release(d.DeliveryID)
		return err
	}
	return nil
}

// deliveryLog remembers the delivery ids accepted lately: a redelivered or
// replayed delivery keeps its X-GitHub-Delivery. Bounded in count and in
// time: GitHub keeps deliveries for 3 days (7 on GitHub Enterprise Server).
type deliveryLog struct {
	mu  sync.Mutex
	ids *expirable.LRU[string, struct{}]
}

const (
	deliveryLogSize = 200000
	deliveryLogTTL  = 8 * 24 * time.Hour
)

func newDeliveryLog() *deliveryLog {
	return &deliveryLog{ids: expirable.NewLRU[string, struct{}](deliveryLogSize, nil, deliveryLogTTL)}
}

// claim records id and reports whether it is new (a delivery without an id
// is always new).
func (l *deliveryLog) claim(id string) bool {
	if id == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ids.Contains(id) {
		return false
	}
	l.ids.Add(id, struct{}{})
	return true
}

func (l *deliveryLog) release(id string) { l.ids.Remove(id) }

func (t *trackingScheduler) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w with webhook handlers still running", ctx.Err())
	}
}

type trackedHandler struct {
	githubapp.EventHandler
	done func()
}

func (h trackedHandler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	defer h.done()
	return h.EventHandler.Handle(ctx, eventType, deliveryID, payload)
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
