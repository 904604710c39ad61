package ui

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkDetailsPage measures one view of a details page, signed in:
// render time and the GitHub API requests it costs (api-requests/op; the
// ones charged to a rate limit as charged/op, since a 304 is free).
//
//   - first: a new server, every cache empty;
//   - cold: the page's dry run and the user's access not cached (their
//     reads revalidate through the HTTP cache);
//   - cached: within the page's and the access's TTLs.
//
// go test -run '^$' -bench BenchmarkDetailsPage ./app/ui/
func BenchmarkDetailsPage(b *testing.B) {
	const page = "/prs/acme/private/1"
	view := func(b *testing.B, e *env, c *http.Client) {
		resp, err := c.Get(e.srv.URL + page)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s", resp.Status)
		}
	}
	measure := func(b *testing.B, e *env, run func()) {
		b.Helper()
		before := e.gh.Stats()
		b.ResetTimer()
		for range b.N {
			run()
		}
		b.StopTimer()
		after := e.gh.Stats()
		b.ReportMetric(float64(after.Requests-before.Requests)/float64(b.N), "api-requests/op")
		charged := func(m map[string]int64) (n int64) {
			for _, v := range m {
				n += v
			}
			return n
		}
		b.ReportMetric(float64(charged(after.RateLimitUsed)-charged(before.RateLimitUsed))/float64(b.N), "charged/op")
	}
	b.Run("first", func(b *testing.B) {
		var requests, charged int64
		for range b.N {
			b.StopTimer()
			e := newEnv(b)
			c, _, _ := e.signIn(b, "alice", "/")
			before := e.gh.Stats()
			b.StartTimer()
			view(b, e, c)
			b.StopTimer()
			after := e.gh.Stats()
			requests += after.Requests - before.Requests
			for k, v := range after.RateLimitUsed {
				charged += v - before.RateLimitUsed[k]
			}
		}
		b.ReportMetric(float64(requests)/float64(b.N), "api-requests/op")
		b.ReportMetric(float64(charged)/float64(b.N), "charged/op")
	})
	b.Run("cold", func(b *testing.B) {
		e := newEnv(b)
		c, _, _ := e.signIn(b, "alice", page)
		measure(b, e, func() {
			e.ui.pages.Purge()
			e.ui.access.Purge()
			view(b, e, c)
		})
	})
	b.Run("cached", func(b *testing.B) {
		e := newEnv(b)
		c, _, _ := e.signIn(b, "alice", page)
		measure(b, e, func() { view(b, e, c) })
	})
}
