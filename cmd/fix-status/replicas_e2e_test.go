package main

// End-to-end tests of fix-status as operators run it: the real binary, in
// its own process (killed with -9, stopped with SIGTERM, restarted), against
// the emulator, alone or as several replicas sharing a real Redis behind a
// load balancer.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/shared/redistest"
	"github.com/fix-status/fix-status/config"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// fixStatusBinary builds the fix-status command once per test run.
func fixStatusBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fix-status-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "fix-status")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// replica is one fix-status serve process.
type replica struct {
	t       testing.TB
	cfgPath string
	url     string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan error
}

// syncBuffer is the process's output, read while it writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replicaConfig is the server config of the emulator's app for a replica
// listening on a free port.
func replicaConfig(t testing.TB, gh *fakegithub.Server, edit func(*config.Server)) (*config.Server, string) {
	t.Helper()
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Server.Port = freePort(t)
	cfg.Logging.Level = "info"
	if edit != nil {
		edit(cfg)
	}
	return cfg, writeConfig(t, cfg)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startReplica runs `fix-status serve --config cfgPath` and waits until it
// is ready.
func startReplica(t testing.TB, cfg *config.Server, cfgPath string) *replica {
	t.Helper()
	r := &replica{t: t, cfgPath: cfgPath, url: fmt.Sprintf("http://127.0.0.1:%d", cfg.Server.Port), log: &syncBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(fixStatusBinary(t), "serve", "--config", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("replica %s log (tail):\n%s", r.url, tail(r.log.String(), 40))
		}
	})
	deadline := time.Now().Add(e2eWait)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("replica exited: %v\n%s", err, r.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not ready: %v\n%s", err, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process at once (kill -9).
func (r *replica) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.done
		r.cmd.ProcessState = &os.ProcessState{}
	}
}

// term sends SIGTERM and waits for the drain to end.
func (r *replica) term() error {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		r.cmd.ProcessState = &os.ProcessState{}
		return err
	case <-time.After(e2eWait):
		return errors.New("the replica did not stop after SIGTERM")
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// balancer spreads deliveries over replicas as a Kubernetes Service would,
// skipping a replica that refuses connections.
type balancer struct {
	mu       sync.Mutex
	backends []*url.URL
	next     atomic.Int64
	srv      *http.Server
	ln       net.Listener
}

func newBalancer(t testing.TB, urls ...string) *balancer {
	t.Helper()
	b := &balancer{}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		b.backends = append(b.backends, p)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.ln = ln
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(func() { _ = b.srv.Close() })
	return b
}

func (b *balancer) URL() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := int(b.next.Add(1))
	for i := range b.backends {
		target := b.backends[(start+i)%len(b.backends)]
		rec := &recorder{header: http.Header{}}
		failed := false
		proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
			ErrorHandler: func(http.ResponseWriter, *http.Request, error) { failed = true }}
		req := r.Clone(r.Context())
		req.Body = readCloser(body)
		proxy.ServeHTTP(rec, req)
		if failed {
			continue // connection refused: the next replica
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	http.Error(w, "no replica answered", http.StatusBadGateway)
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }

func readCloser(b []byte) bodyReader { return bodyReader{bytes.NewReader(b)} }

// waitRepaired waits until every PR of prs carries fix-status's status for
// context, or the bound passes.
func waitRepaired(t testing.TB, gh *fakegithub.Server, prs []int, context string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		st := gh.State()
		missing := 0
		for _, n := range prs {
			p := pull(st, widgetsRepo, n)
			if s := latestStatus(p, context); s == nil || s.Creator != bot {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d PRs not repaired after %s", missing, len(prs), bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writesOnce fails when fix-status wrote a status or a comment twice for
// one context of a PR.
func writesOnce(t testing.TB, gh *fakegithub.Server, prs []int) {
	t.Helper()
	st := gh.State()
	for _, n := range prs {
		p := pull(st, widgetsRepo, n)
		seen := map[string]int{}
		for _, w := range writesBy(p, bot) {
			seen[w]++
		}
		for w, c := range seen {
			if c > 1 {
				t.Errorf("#%d: %q written %d times", n, w, c)
			}
		}
	}
}

// openPRs opens n PRs on acme/widgets that change file, as fast as the
// emulator delivers them, and returns their numbers.
func openPRs(t testing.TB, gh *fakegithub.Server, n int, file string) []int {
	t.Helper()
	var prs []int
	for i := 0; i < n; i++ {
		res, err := gh.Apply(context.Background(), fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
			Title: fmt.Sprintf("Change %d", i), Files: []fakegithub.File{{Filename: file, Status: "modified"}}})
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("PR %d: %v %+v", i, err, res)
		}
		prs = append(prs, res.Number)
	}
	return prs
}

// TestReplicaKilledRestartCatchesUp: kill -9 within the coalescing window
// right after a burst of acknowledged deliveries loses the queued work in
// memory; the restart's sweep repairs every PR, and nothing is written twice.
func TestReplicaKilledRestartCatchesUp(t *testing.T) {
	t.Parallel()
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	cfg, path := replicaConfig(t, gh, func(c *config.Server) { c.Repair.SweepInterval.Duration = 0 })
	r := startReplica(t, cfg, path)
	gh.SetWebhookURL(r.url + WebhookRoute)
	prs := openPRs(t, gh, 200, "docs/guide.md")
	r.kill()
	// The last deliveries were acknowledged inside the coalescing window:
	// their work died with the process.
	if p := pull(gh.State(), widgetsRepo, prs[len(prs)-1]); latestStatus(p, "pull-unit") != nil {
		t.Fatal("the last PR was repaired before the kill: the test proves nothing")
	}
	r = startReplica(t, cfg, path)
	gh.SetWebhookURL(r.url + WebhookRoute)
	waitRepaired(t, gh, prs, "pull-unit", 60*time.Second)
	writesOnce(t, gh, prs)
}

// TestReplicaTermThenRestartRetriggersOnTime: PRs waiting out their grace
// period when the server is stopped (SIGTERM) are re-triggered when the
// grace period ends, by the restarted server, once each.
func TestReplicaTermThenRestartRetriggersOnTime(t *testing.T) {
	t.Parallel()
	const grace = 4 * time.Second
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	cfg, path := replicaConfig(t, gh, func(c *config.Server) {
		c.Repair.SweepInterval.Duration = 0
		c.Repair.GracePeriod.Duration = grace
		// A decision that writes nothing (waiting) is logged at debug.
		c.Logging.Level = "debug"
	})
	r := startReplica(t, cfg, path)
	gh.SetWebhookURL(r.url + WebhookRoute)
	opened := time.Now()
	prs := openPRs(t, gh, 20, "pkg/a.go") // pull-unit should run: re-triggered after the grace period
	// Let the first checks see the PRs waiting, then stop.
	deadline := time.Now().Add(e2eWait)
	for !strings.Contains(r.log.String(), "grace period ends in") {
		if time.Now().After(deadline) {
			t.Fatal("no PR was seen waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.term(); err != nil {
		t.Fatal(err)
	}
	gh.SetWebhookURL("")
	r = startReplica(t, cfg, path)
	gh.SetWebhookURL(r.url + WebhookRoute)
	deadline = time.Now().Add(e2eWait + grace)
	for {
		st := gh.State()
		done := 0
		for _, n := range prs {
			for _, c := range pull(st, widgetsRepo, n).Comments {
				if c.User == bot && strings.HasPrefix(c.Body, "/test pull-unit") {
					done++
					if c.CreatedAt.Before(opened.Add(grace)) {
						t.Fatalf("#%d re-triggered at %s, inside its grace period (ends %s)", n, c.CreatedAt, opened.Add(grace))
					}
				}
			}
		}
		if done == len(prs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d PRs re-triggered", done, len(prs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	writesOnce(t, gh, prs)
}

// TestReplicasOnRedisSurviveAKill: two replicas share Redis behind a load
// balancer; one is killed with -9 in the middle of a burst. Every PR is
// repaired (work the dead replica had queued or was doing is done by the
// other), and nothing is written twice: no status, and no /test comment
// repeated within the grace period (work taken over from the dead replica
// sees the re-trigger it made; the emulator runs no CI, so one grace period
// later a context is re-triggered again, as it should be).
func TestReplicasOnRedisSurviveAKill(t *testing.T) {
	t.Parallel()
	const grace = 3 * time.Second
	rs := redistest.Start(t)
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	edit := func(c *config.Server) {
		c.Repair.SweepInterval.Duration = 0
		c.Repair.GracePeriod.Duration = grace
		c.Redis.Address = rs.Addr
	}
	cfgA, pathA := replicaConfig(t, gh, edit)
	cfgB, pathB := replicaConfig(t, gh, edit)
	a, b := startReplica(t, cfgA, pathA), startReplica(t, cfgB, pathB)
	lb := newBalancer(t, a.url, b.url)
	gh.SetWebhookURL(lb.URL() + WebhookRoute)
	var docs, code []int
	for i := 0; i < 20; i++ {
		if i == 10 {
			a.kill()
		}
		docs = append(docs, openPRs(t, gh, 1, "docs/a.md")...)
		code = append(code, openPRs(t, gh, 1, "pkg/a.go")...)
	}
	// Work the dead replica was doing is handed on when its lease ends
	// (asynq: 30 s, looked at every minute).
	const bound = 3 * time.Minute
	waitRepaired(t, gh, docs, "pull-unit", bound)
	deadline := time.Now().Add(bound)
	for {
		st := gh.State()
		missing := 0
		for _, n := range code {
			if countPrefix(pull(st, widgetsRepo, n), bot, "/test pull-unit") == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d PRs not re-triggered", missing, len(code))
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := gh.State()
	for _, n := range code {
		var last time.Time
		for _, c := range pull(st, widgetsRepo, n).Comments {
			if c.User != bot || !strings.HasPrefix(c.Body, "/test pull-unit") {
				continue
			}
			if !last.IsZero() && c.CreatedAt.Sub(last) < grace {
				t.Errorf("#%d: /test pull-unit again %s after the last", n, c.CreatedAt.Sub(last))
			}
			last = c.CreatedAt
		}
	}
	writesOnce(t, gh, docs)
}

// countPrefix counts the comments of user on p that start with prefix.
func countPrefix(p *fakegithub.StatePull, user, prefix string) int {
	n := 0
	for _, c := range p.Comments {
		if c.User == user && strings.HasPrefix(c.Body, prefix) {
			n++
		}
	}
	return n
}
