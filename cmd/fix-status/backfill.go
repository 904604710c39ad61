package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/fix-status/fix-status/app/backfill"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/config"
)

// backfillCacheBytes bounds the HTTP cache in a backfill: every PR is read
// once (and not cached), so only what is read again (branch rules, comments
// on a retry) is kept.
const backfillCacheBytes = 16 << 20

// backfillFlags are the command's flags (the README's Backfill section).
type backfillFlags struct {
	cfgPath          string
	repos, orgs      []string
	dryRun           bool
	output           string
	reads            string
	maxWrites        int
	resume           string
	concurrency      int
	reserve          int
	reserveGraphQL   int
	writesPerMinute  int
	writesPerHour    int
	progressInterval time.Duration
}

// backfillEnv is what tests and the benchmarks set instead of the
// process's defaults: the clock, where logs and progress go, a hook per
// result.
type backfillEnv struct {
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	logOut   io.Writer
	tty      *bool
	onResult func(*backfill.PRResult)
}

func newBackfillCmd() *cobra.Command { return newBackfillCmdWith(backfillEnv{}) }

func newBackfillCmdWith(env backfillEnv) *cobra.Command {
	var f backfillFlags
	cmd := &cobra.Command{
		Use:   "backfill --config SERVER_CONFIG [--repo OWNER/REPO]... [--org ORG]... [--dry-run=false]",
		Short: "Repair every open pull request of the app's installations, paced under GitHub's rate limits",
		Long: `backfill repairs every open pull request of every installation of the app (or of
the given organisations and repositories) in one run. It is a dry run unless
--dry-run=false.

PR data is read in bulk with GitHub's GraphQL API (--reads graphql, the default:
pages of many PRs per query) or per PR with REST (--reads rest). PRs closest to
merging (approved, every reported check green) are repaired first. Requests stay
inside the rate budget: backfill pauses while an installation's remaining budget
is below --reserve (REST requests) or --reserve-graphql (GraphQL points) until
the window resets, paces writes (--writes-per-minute, --writes-per-hour), obeys
retry-after, retries 5xx a few times, and keeps at most --concurrency requests
in flight.

A failing repository or PR does not stop the run; every failure is reported.
With --resume FILE, each finished PR is appended to FILE and PRs already in it
at the same head SHA are skipped, so an interrupted run goes on where it
stopped.

Exit status: 0 when everything was done; 1 when any PR or repository failed,
the run was interrupted, or the command could not start.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.output != "text" && f.output != "json" {
				return fmt.Errorf("--output: %q is not text or json", f.output)
			}
			cfg, err := config.LoadServer(f.cfgPath)
			if err != nil {
				return err
			}
			// The limits the flags do not set are the config's.
			fl := cmd.Flags()
			for _, l := range []struct {
				flag string
				v    *int
				cfg  int
			}{{"reserve", &f.reserve, cfg.Limits.Reserve}, {"reserve-graphql", &f.reserveGraphQL, cfg.Limits.ReserveGraphQL},
				{"writes-per-minute", &f.writesPerMinute, cfg.Limits.WritesPerMinute}, {"writes-per-hour", &f.writesPerHour, cfg.Limits.WritesPerHour}} {
				if !fl.Changed(l.flag) {
					*l.v = l.cfg
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := runBackfill(ctx, cfg, f, env, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if f.output == "json" {
				err = writeBackfillJSON(cmd.OutOrStdout(), res)
			} else {
				err = writeBackfillText(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			switch {
			case res.Interrupted:
				return fmt.Errorf("backfill interrupted: %d PR(s) not done", res.Unfinished)
			case len(res.Failures) > 0:
				return fmt.Errorf("backfill: %d failure(s)", len(res.Failures))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfgPath, "config", "", "server config file (required)")
	fl.StringArrayVar(&f.repos, "repo", nil, "repository OWNER/REPO to backfill (repeatable)")
	fl.StringArrayVar(&f.orgs, "org", nil, "organisation (or user) whose repositories to backfill (repeatable)")
	fl.BoolVar(&f.dryRun, "dry-run", true, "plan without writing; --dry-run=false repairs")
	fl.StringVar(&f.output, "output", "text", "output format: text or json")
	fl.StringVar(&f.reads, "reads", backfill.ReadsGraphQL, "how PR data is read: graphql (pages of many PRs) or rest (per PR)")
	fl.IntVar(&f.maxWrites, "max-writes", 0, "stop writing after this many writes; the remaining PRs are planned only (0 = no limit)")
	fl.StringVar(&f.resume, "resume", "", "resume file: finished PRs are appended to it and skipped when it is given again")
	fl.IntVar(&f.concurrency, "concurrency", backfill.DefaultConcurrency, fmt.Sprintf("PRs handled and requests in flight at once (1..%d)", govern.MaxConcurrency))
	fl.IntVar(&f.reserve, "reserve", govern.DefaultReserve, "REST requests of each installation's hourly budget left to the webhook path")
	fl.IntVar(&f.reserveGraphQL, "reserve-graphql", govern.DefaultReserve, "GraphQL points of each installation's hourly budget left to the webhook path")
	fl.IntVar(&f.writesPerMinute, "writes-per-minute", govern.DefaultWritesPerMinute, "content-creating requests per minute at most (GitHub's secondary limit)")
	fl.IntVar(&f.writesPerHour, "writes-per-hour", govern.DefaultWritesPerHour, "content-creating requests per hour at most (GitHub's secondary limit)")
	fl.DurationVar(&f.progressInterval, "progress-interval", 10*time.Second, "how often a progress line is logged when standard error is not a terminal")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// runBackfill wires governed clients and a reconciler from cfg and runs the
// backfill. Progress goes to stderr: a bar on a terminal, log lines
// otherwise.
func runBackfill(ctx context.Context, cfg *config.Server, f backfillFlags, env backfillEnv, stderr io.Writer) (*backfill.Result, error) {
	if f.concurrency < 1 || f.concurrency > govern.MaxConcurrency {
		return nil, fmt.Errorf("--concurrency: %d is not between 1 and %d (GitHub allows %d concurrent requests)", f.concurrency, govern.MaxConcurrency, govern.MaxConcurrency)
	}
	if f.reads != backfill.ReadsGraphQL && f.reads != backfill.ReadsREST {
		return nil, fmt.Errorf("--reads: %q is not graphql or rest", f.reads)
	}
	if f.maxWrites < 0 || f.reserve < 0 || f.reserveGraphQL < 0 || f.writesPerMinute < 1 || f.writesPerHour < 1 {
		return nil, errors.New("--max-writes and the reserves must not be negative, the write rates must be at least 1")
	}
	tty := env.tty != nil && *env.tty
	if env.tty == nil {
		if fd, ok := stderr.(interface{ Fd() uintptr }); ok {
			tty = term.IsTerminal(int(fd.Fd()))
		}
	}
	logOut := env.logOut
	if logOut == nil {
		logOut = stderr
	}
	w, err := wire(ctx, cfg, wireOptions{logOut: logOut, now: env.now, cacheBytes: backfillCacheBytes,
		governor: &govern.Options{
			ReserveCore: f.reserve, ReserveGraphQL: f.reserveGraphQL,
			WritesPerMinute: f.writesPerMinute, WritesPerHour: f.writesPerHour,
			MaxInFlight: f.concurrency, MaxWrites: f.maxWrites,
			PointsPerMinute: cfg.Limits.PointsPerMinute, GraphQLPointsPerMinute: cfg.Limits.GraphQLPointsPerMinute, Sleep: env.sleep,
		}})
	if err != nil {
		return nil, err
	}
	clients := w.clients
	// Info for every write (or planned write) and the progress lines; on a
	// terminal only warnings, which would otherwise tear the bar apart.
	logger := w.logger.Level(zerolog.InfoLevel)
	if tty {
		logger = logger.Level(zerolog.WarnLevel)
	}
	ctx = logger.WithContext(ctx)

	var journal *backfill.Journal
	if f.resume != "" {
		if journal, err = backfill.OpenJournal(f.resume); err != nil {
			return nil, err
		}
	}
	var prog progress
	if tty {
		prog = newBarProgress(stderr)
	} else {
		prog = newLogProgress(ctx, logger, f.progressInterval)
	}
	if env.onResult != nil {
		prog = hookProgress{progress: prog, f: env.onResult}
	}
	rn, err := backfill.NewRunner(backfill.Options{
		Clients: clients, Reconciler: w.rec,
		Reads: f.reads, DryRun: f.dryRun, Concurrency: f.concurrency,
		Journal: journal, Progress: prog,
	})
	if err != nil {
		return nil, err
	}
	repos, fails := backfill.SelectRepos(ctx, clients, f.repos, f.orgs)
	logger.Info().Int("repos", len(repos)).Str("reads", f.reads).Bool("dry_run", f.dryRun).Msg("backfill started")
	res := rn.Run(ctx, repos)
	res.Failures = append(fails, res.Failures...)
	prog.done(res)
	if journal != nil {
		if err := journal.Close(); err != nil {
			res.Failures = append(res.Failures, backfill.Failure{Repo: "(resume file)", Err: err})
		}
	}
	return res, nil
}

// progress shows the run as it goes.
type progress interface {
	backfill.Progress
	done(*backfill.Result)
}

type hookProgress struct {
	progress
	f func(*backfill.PRResult)
}

func (h hookProgress) Finished(r *backfill.PRResult) {
	h.progress.Finished(r)
	h.f(r)
}

// barProgress is a progress bar on a terminal; its total grows as
// repositories are read.
type barProgress struct{ bar *progressbar.ProgressBar }

func newBarProgress(w io.Writer) *barProgress {
	return &barProgress{bar: progressbar.NewOptions(0,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("backfill"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("PRs"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

func (b *barProgress) Found(n int)                 { b.bar.AddMax(n) }
func (b *barProgress) Finished(*backfill.PRResult) { _ = b.bar.Add(1) }
func (b *barProgress) done(res *backfill.Result)   { _ = b.bar.Finish() }

// logProgress logs a progress line every interval (for logs, CI, cron).
type logProgress struct {
	logger  zerolog.Logger
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu                      sync.Mutex
	found, finished, failed int
	writes, wouldWrite      int
	start                   time.Time
}

func newLogProgress(ctx context.Context, logger zerolog.Logger, every time.Duration) *logProgress {
	p := &logProgress{logger: logger, stop: make(chan struct{}), stopped: make(chan struct{}), start: time.Now()}
	if every <= 0 {
		close(p.stopped)
	} else {
		go func() {
			defer close(p.stopped)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					p.log("backfill progress")
				case <-p.stop:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return p
}

func (p *logProgress) Found(n int) {
	p.mu.Lock()
	p.found += n
	p.mu.Unlock()
}

func (p *logProgress) Finished(r *backfill.PRResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished++
	if r.Err != nil {
		p.failed++
	}
	if r.Report != nil {
		p.writes += r.Report.Writes
	}
	if r.DryRun {
		p.wouldWrite += r.WouldWrite()
	}
}

func (p *logProgress) log(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logger.Info().Int("found", p.found).Int("done", p.finished).Int("failed", p.failed).
		Int("writes", p.writes).Int("would_write", p.wouldWrite).Dur("elapsed", time.Since(p.start)).Msg(msg)
}

func (p *logProgress) done(*backfill.Result) {
	p.once.Do(func() { close(p.stop) })
	<-p.stopped
	p.log("backfill finished")
}

// backfillReport is the JSON report (the README's Backfill section).
type backfillReport struct {
	PRs         int   `json:"prs"`
	Repaired    int   `json:"repaired"`
	Writes      int   `json:"writes"`
	Blocked     int   `json:"blocked"`
	Errors      int   `json:"errors"`
	APIRequests int64 `json:"api_requests"`

	DryRun           bool              `json:"dry_run"`
	WouldWrite       int               `json:"would_write"`
	Repos            int               `json:"repos"`
	Resumed          int               `json:"resumed"`
	Unfinished       int               `json:"unfinished"`
	Interrupted      bool              `json:"interrupted"`
	MaxWritesReached bool              `json:"max_writes_reached"`
	Reads            backfillReads     `json:"reads"`
	RateLimit        backfillRate      `json:"rate_limit"`
	DurationSeconds  float64           `json:"duration_seconds"`
	Results          []backfillResult  `json:"results"`
	Failures         []backfillFailure `json:"failures"`
}

type backfillReads struct {
	Mode string `json:"mode"`
	// Requests and Points are every read of the run; PRRequests and
	// PRPoints those of the PR data (lists, files, head results), the rest
	// is branch rules and the reconciler's extras.
	Requests        int64 `json:"requests"`
	Points          int64 `json:"points"`
	PRRequests      int64 `json:"pr_requests"`
	PRPoints        int64 `json:"pr_points"`
	GraphQLRequests int64 `json:"graphql_requests"`
	GraphQLPoints   int64 `json:"graphql_points"`
	RESTPoints      int64 `json:"rest_points"`
	NotModified     int64 `json:"not_modified"`
	FilesFallbacks  int   `json:"files_fallbacks"`
	ChecksFallbacks int   `json:"checks_fallbacks"`
	RepoFallbacks   int   `json:"repo_fallbacks"`
}

type backfillRate struct {
	Pauses           int64   `json:"pauses"`
	PausedSeconds    float64 `json:"paused_seconds"`
	WriteWaitSeconds float64 `json:"write_wait_seconds"`
	// PointsWaitSeconds is how long requests waited for an endpoint's
	// points a minute (GitHub's secondary limit).
	PointsWaitSeconds float64 `json:"points_wait_seconds"`
	SecondaryLimited  int64   `json:"secondary_limited"`
}

type backfillResult struct {
	PR           string          `json:"pr"`
	HeadSHA      string          `json:"head_sha"`
	Priority     string          `json:"priority"`
	DryRun       bool            `json:"dry_run"`
	WriteLimited bool            `json:"write_limited,omitempty"`
	Skipped      string          `json:"skipped,omitempty"`
	Writes       int             `json:"writes"`
	Decisions    []checkDecision `json:"decisions"`
}

type backfillFailure struct {
	PR    string `json:"pr,omitempty"`
	Repo  string `json:"repo,omitempty"`
	Error string `json:"error"`
}

func toBackfillReport(res *backfill.Result) backfillReport {
	st := res.Stats
	out := backfillReport{
		PRs: len(res.Results), Repaired: res.Repaired(), Writes: res.Writes(), Blocked: res.Blocked(),
		Errors: len(res.Failures), APIRequests: st.Requests,
		DryRun: res.DryRun, WouldWrite: res.WouldWrite(), Repos: res.Repos, Resumed: res.Resumed,
		Unfinished: res.Unfinished, Interrupted: res.Interrupted, MaxWritesReached: res.MaxWritesReached,
		Reads: backfillReads{Mode: res.Reads, Requests: st.Reads, Points: st.RESTReadPoints + st.GraphQLPoints,
			PRRequests: st.PRReadRequests, PRPoints: st.PRReadRESTPoints + st.GraphQLPoints,
			GraphQLRequests: st.GraphQLRequests, GraphQLPoints: st.GraphQLPoints, RESTPoints: st.RESTReadPoints,
			NotModified: st.NotModified, FilesFallbacks: res.FilesFallbacks, ChecksFallbacks: res.ChecksFallbacks,
			RepoFallbacks: res.RepoFallbacks},
		RateLimit: backfillRate{Pauses: st.Pauses, PausedSeconds: st.Paused.Seconds(), WriteWaitSeconds: st.WriteWait.Seconds(),
			PointsWaitSeconds: st.PointsWait.Seconds(), SecondaryLimited: st.SecondaryLimited},
		DurationSeconds: res.Duration.Seconds(),
		Results:         []backfillResult{}, Failures: []backfillFailure{},
	}
	for _, r := range res.Results {
		br := backfillResult{PR: r.Name(), HeadSHA: r.HeadSHA, Priority: r.Priority, DryRun: r.DryRun,
			WriteLimited: r.WriteLimited, Decisions: []checkDecision{}}
		if r.Report != nil {
			cr := toCheckReport(r.Report)
			br.Skipped, br.Writes, br.Decisions = cr.Skipped, cr.Writes, cr.Decisions
		}
		out.Results = append(out.Results, br)
	}
	for _, f := range res.Failures {
		out.Failures = append(out.Failures, backfillFailure{PR: f.PR, Repo: f.Repo, Error: f.Err.Error()})
	}
	return out
}

func writeBackfillJSON(w io.Writer, res *backfill.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(toBackfillReport(res))
}

func writeBackfillText(w io.Writer, res *backfill.Result) error {
	r := toBackfillReport(res)
	mode := "applied"
	if r.DryRun {
		mode = "dry run"
	}
	fmt.Fprintf(w, "backfill (%s, reads: %s): %d PRs in %d repositories\n", mode, r.Reads.Mode, r.PRs, r.Repos)
	if r.Resumed > 0 {
		fmt.Fprintf(w, "  skipped:      %d (finished in an earlier run)\n", r.Resumed)
	}
	repaired := fmt.Sprint(r.Repaired)
	if r.DryRun {
		repaired += " (would be)"
	}
	fmt.Fprintf(w, "  repaired:     %s\n", repaired)
	fmt.Fprintf(w, "  writes:       %d", r.Writes)
	if r.WouldWrite > 0 {
		fmt.Fprintf(w, " (%d more planned, not made)", r.WouldWrite)
	}
	fmt.Fprintln(w)
	if r.MaxWritesReached {
		fmt.Fprintln(w, "                --max-writes reached: the remaining PRs were planned only")
	}
	fmt.Fprintf(w, "  blocked:      %d\n", r.Blocked)
	fmt.Fprintf(w, "  errors:       %d\n", r.Errors)
	fmt.Fprintf(w, "  API requests: %d (reads: %d; rate-limit points for reads: %d = %d GraphQL + %d REST; PR data: %d requests, %d points)\n",
		r.APIRequests, r.Reads.Requests, r.Reads.Points, r.Reads.GraphQLPoints, r.Reads.RESTPoints, r.Reads.PRRequests, r.Reads.PRPoints)
	if r.RateLimit.Pauses > 0 || r.RateLimit.SecondaryLimited > 0 {
		fmt.Fprintf(w, "  paused:       %d time(s), %.0fs (rate budget, retry-after)\n", r.RateLimit.Pauses, r.RateLimit.PausedSeconds)
	}
	fmt.Fprintf(w, "  duration:     %s\n", res.Duration.Round(100*time.Millisecond))
	if r.Interrupted {
		fmt.Fprintf(w, "interrupted: %d PR(s) not done; run again with the same --resume file to go on\n", r.Unfinished)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(w, "failures:")
		for _, f := range r.Failures {
			what := f.PR
			if what == "" {
				what = f.Repo
			}
			fmt.Fprintf(w, "  %s: %s\n", what, f.Error)
		}
	}
	return nil
}
