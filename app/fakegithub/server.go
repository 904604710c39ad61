package fakegithub

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	Scenario   *Scenario
	WebhookURL string // may be empty; settable later with SetWebhookURL
	// Latency is added to every API response (not to /_fake/ calls).
	Latency time.Duration
	// PrivateKey is the app's key; nil generates one (2048 bits, cached per
	// process so that tests stay fast).
	PrivateKey *rsa.PrivateKey
	// WebhooksForAPIWrites makes the emulator send, as GitHub does, the
	// webhooks that the app's own writes cause (status, check_run
	// created/completed, issue_comment created; the sender is the app's bot).
	// They are sent in the background after the response; WaitWebhooks waits.
	// Off by default, so that only Event sends webhooks and tests stay
	// deterministic.
	WebhooksForAPIWrites bool
	// Now is the emulator's clock: token and JWT expiry, rate-limit windows
	// and every created_at. nil = time.Now. ghinstallation signs JWTs with the
	// wall clock, so a Now far from it makes app authentication fail, as clock
	// drift does on GitHub.
	Now func() time.Time
}

// Server is the GitHub emulator. It is safe for concurrent use.
type Server struct {
	opts    Options
	key     *rsa.PrivateKey
	keyPEM  []byte
	now     func() time.Time
	secret  string
	latency time.Duration

	mu sync.RWMutex // guards w
	w  *world

	statsMu sync.Mutex // guards stats, faults
	stats   statsData
	faults  []*Fault
	holds   []*holdState // holds not yet released (faults.go)
	gql     graphqlState // GraphQL budgets (graphql.go)

	hookMu      sync.Mutex
	webhookURL  string
	deliveries  []Delivery
	attempts    []*attempt // GET /app/hook/deliveries (deliveries.go)
	nextAttempt int64
	appDown     bool
	hookClient  *http.Client
	hookSem     chan struct{}
	async       sync.WaitGroup
	pending     atomic.Int64

	srvMu    sync.Mutex
	httpSrv  *http.Server
	listener net.Listener
	url      string

	handler  http.Handler
	lastBase atomic.Pointer[string]
}

// New builds an emulator from a scenario.
func New(opts Options) (*Server, error) {
	if opts.Scenario == nil {
		return nil, errors.New("fakegithub: Options.Scenario is required")
	}
	s := &Server{opts: opts, now: opts.Now, latency: opts.Latency, webhookURL: opts.WebhookURL, secret: opts.Scenario.App.WebhookSecret}
	if s.now == nil {
		s.now = time.Now
	}
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = generatedKey(); err != nil {
			return nil, err
		}
	}
	s.key = key
	s.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	w, err := newWorld(opts.Scenario, s.now())
	if err != nil {
		return nil, err
	}
	s.w = w
	w.registerScenarioApp(opts.Scenario.App, &key.PublicKey)
	s.stats = newStats()
	s.hookClient = &http.Client{Timeout: webhookTimeout}
	s.hookSem = make(chan struct{}, 8)
	s.handler = s.routes()
	return s, nil
}

// Handler serves GitHub's API at the root and the admin API under /_fake/.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the base URL, "http://127.0.0.1:PORT".
func (s *Server) Start(addr string) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv != nil {
		return "", errors.New("fakegithub: already started")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	s.listener = l
	s.url = "http://" + l.Addr().String()
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.httpSrv = srv
	// srv, not s.httpSrv: Close may clear that before this goroutine runs.
	go func() { _ = srv.Serve(l) }()
	return s.url, nil
}

// Close stops the server started by Start.
func (s *Server) Close() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv == nil {
		return nil
	}
	// Held requests would keep Shutdown waiting.
	s.releaseHolds("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	s.httpSrv = nil
	s.async.Wait()
	s.hookClient.CloseIdleConnections()
	return err
}

// URL is the base URL after Start ("" before).
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// SetWebhookURL sets where webhooks go ("" = nowhere).
func (s *Server) SetWebhookURL(u string) {
	s.hookMu.Lock()
	s.webhookURL = u
	s.hookMu.Unlock()
}

// AppID is the id of the app under test.
func (s *Server) AppID() int64 { return s.opts.Scenario.App.ID }

// PrivateKeyPEM is the app's private key (PKCS#1 PEM).
func (s *Server) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// WebhookSecret is the secret webhooks are signed with.
func (s *Server) WebhookSecret() string { return s.secret }

// SecondaryLimits reports whether the emulator enforces GitHub's secondary
// limits (the scenario's secondary_limits).
func (s *Server) SecondaryLimits() bool { return s.opts.Scenario.SecondaryLimits }

// Credentials are what a GitHub App needs to talk to this emulator: the
// addresses of its web pages, REST and GraphQL APIs, and the app's id,
// webhook secret and private key. Call it after Start.
type Credentials struct {
	WebURL, V3APIURL, V4APIURL string
	AppID                      int64
	WebhookSecret              string
	PrivateKey                 string
	// ClientID and ClientSecret are the app's OAuth credentials (user sign-in).
	ClientID, ClientSecret string
}

// Credentials returns the app's credentials and the emulator's addresses
// (what --write-app-config writes as a server config).
func (s *Server) Credentials() Credentials {
	base := s.URL()
	if base == "" {
		base = "http://127.0.0.1"
	}
	return Credentials{
		WebURL: base + "/", V3APIURL: base + "/", V4APIURL: base + "/graphql",
		AppID: s.AppID(), WebhookSecret: s.secret, PrivateKey: string(s.keyPEM),
		ClientID: s.w.app.reg.clientID, ClientSecret: s.w.app.reg.clientSecret,
	}
}

// baseURL is the API root used in URLs inside responses: the listening
// address after Start, else the Host of the request (or of the last request,
// for webhooks) when the Handler is served by someone else.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	if r != nil && r.Host != "" {
		u := "http://" + r.Host
		s.lastBase.Store(&u)
		return u
	}
	if u := s.lastBase.Load(); u != nil {
		return *u
	}
	return "http://127.0.0.1"
}

// sleep waits for the configured latency, or until the request is gone.
func (s *Server) sleep(ctx context.Context) {
	if s.latency <= 0 {
		return
	}
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fake/state", s.handleState)
	mux.HandleFunc("GET /_fake/stats", s.handleStats)
	mux.HandleFunc("DELETE /_fake/stats", s.handleResetStats)
	mux.HandleFunc("POST /_fake/faults", s.handleFaults)
	mux.HandleFunc("DELETE /_fake/faults", s.handleClearFaults)
	mux.HandleFunc("GET /_fake/faults", s.handleListFaults)
	mux.HandleFunc("POST /_fake/faults/release", s.handleReleaseFaults)
	mux.HandleFunc("POST /_fake/faults/wait", s.handleWaitFaults)
	mux.HandleFunc("POST /_fake/events", s.handleEvents)
	mux.HandleFunc("GET /_fake/deliveries", s.handleDeliveries)
	mux.HandleFunc("POST /_fake/merge-queues/check", s.handleCheckMergeQueues)
	s.webRoutes(mux)
	api := http.HandlerFunc(s.serveAPI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") || isWebPath(r.URL.Path) {
			mux.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/graphql" {
			s.serveGraphQL(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
