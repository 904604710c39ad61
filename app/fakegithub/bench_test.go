package fakegithub

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchScenario is one repository with 50 open PRs, each with files,
// statuses and check runs, and a budget the benchmark cannot exhaust.
func benchScenario() string {
	var b strings.Builder
	b.WriteString(`
app: {id: 42, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: bench, repos: [bench/repo], rate_limit: 1000000000}
repos:
  - name: bench/repo
    files: {main: {".github/fix-status.yml": "version: 1\n"}}
    branches:
      main:
        protection: {required_status_checks: {strict: false, contexts: [ci/build, ci/docs]}}
    pulls:
`)
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, `      - number: %d
        title: PR %d
        user: dev%d
        base: main
        generated_files: 20
        statuses: [{context: ci/build, state: pending, creator: prow}]
        check_runs: [{name: lint, status: completed, conclusion: success, workflow: Lint}]
`, i, i, i%7)
	}
	return b.String()
}

// BenchmarkServeMixed measures how many requests per second the emulator
// serves on 127.0.0.1 for a mixed load like fix-status's (about one write in
// five): go test -run '^$' -bench BenchmarkServeMixed -benchtime 5s ./app/fakegithub/
func BenchmarkServeMixed(b *testing.B) {
	s := startServer(b, benchScenario())
	tok := installationToken(b, s, 7)
	st := s.State()
	heads := make([]string, 0, 50)
	for _, p := range st.Repos[0].Pulls {
		heads = append(heads, p.HeadSHA)
	}
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	b.Cleanup(tr.CloseIdleConnections)

	type op struct {
		method string
		path   func(i int) string
		body   func(i int) string
	}
	const r = "/repos/bench/repo"
	ops := []op{
		{"GET", func(i int) string { return fmt.Sprintf("%s/pulls/%d", r, i%50+1) }, nil},
		{"GET", func(i int) string { return fmt.Sprintf("%s/pulls/%d/files?per_page=100", r, i%50+1) }, nil},
		{"GET", func(i int) string { return fmt.Sprintf("%s/commits/%s/status", r, heads[i%50]) }, nil},
		{"GET", func(i int) string { return fmt.Sprintf("%s/commits/%s/check-runs", r, heads[i%50]) }, nil},
		{"POST", func(i int) string { return fmt.Sprintf("%s/statuses/%s", r, heads[i%50]) },
			func(i int) string {
				return fmt.Sprintf(`{"state":"success","context":"ci/docs-%d","description":"Skipped: no docs changed"}`, i%10)
			}},
		{"GET", func(i int) string { return r + "/branches/main/protection/required_status_checks" }, nil},
		{"GET", func(i int) string { return r + "/rules/branches/main" }, nil},
		{"GET", func(i int) string { return r + "/contents/.github/fix-status.yml?ref=main" }, nil},
		{"GET", func(i int) string { return fmt.Sprintf("%s/pulls?per_page=%d", r, 10) }, nil},
		{"POST", func(i int) string { return fmt.Sprintf("%s/check-runs", r) },
			func(i int) string {
				return fmt.Sprintf(`{"name":"ci/skip-%d","head_sha":"%s","conclusion":"skipped","output":{"title":"Skipped","summary":"not needed"}}`, i%10, heads[i%50])
			}},
	}
	var seq, failed atomic.Int64
	s.ResetStats()
	b.SetParallelism(8) // 16 concurrent clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(seq.Add(1))
			o := ops[i%len(ops)]
			var body io.Reader
			if o.body != nil {
				body = strings.NewReader(o.body(i / len(ops)))
			}
			req, err := http.NewRequest(o.method, s.URL()+o.path(i/len(ops)), body)
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Authorization", "token "+tok)
			res, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode >= 300 {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d requests failed", n, b.N)
	}
	if got := s.Stats().Requests; got < int64(b.N) {
		b.Errorf("the emulator counted %d requests; want %d", got, b.N)
	}
}
