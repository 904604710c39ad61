package govern

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
)

// secondaryScenario enforces GitHub's secondary limits on two
// installations with a repository each.
const secondaryScenario = `secondary_limits: true
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 100, account: alice, repos: [alice/r]}
  - {id: 200, account: bob, repos: [bob/r]}
repos:
  - name: alice/r
    pulls:
      - {number: 1, title: a, base: main, user: alice, head_sha: 1111111111111111111111111111111111111111, files: [{filename: a.go, status: modified}]}
  - name: bob/r
    pulls:
      - {number: 1, title: b, base: main, user: bob, head_sha: 2222222222222222222222222222222222222222, files: [{filename: b.go, status: modified}]}
`

// offsetClock is the emulator's and the governor's clock: the test's start
// plus an offset that only Sleep moves on (at once), so pacing takes no
// time, both sides agree on every window, and how fast the machine is
// does not matter.
type offsetClock struct {
	start  time.Time
	offset atomic.Int64
}

func newClock() *offsetClock { return &offsetClock{start: time.Now()} }

func (c *offsetClock) Now() time.Time { return c.start.Add(time.Duration(c.offset.Load())) }

func (c *offsetClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.offset.Add(int64(d))
	}
	return ctx.Err()
}

// governedEmulator starts the emulator with secondary limits and returns
// governed clients of its app.
func governedEmulator(t *testing.T, clk *offsetClock) (*fakegithub.Server, *Clients) {
	t.Helper()
	gh := fakegithubtest.Start(t, secondaryScenario, fakegithub.Options{Now: clk.Now})
	cfg := fakegithubtest.ServerConfig(gh)
	cc := fakegithubtest.ClientCreator(t, gh)
	clients, err := NewClients(cc, New(Options{Now: clk.Now, Sleep: clk.Sleep}), cfg.GitHub.V4APIURL)
	if err != nil {
		t.Fatal(err)
	}
	return gh, clients
}

func installationClient(t *testing.T, c *Clients, id int64) *github.Client {
	t.Helper()
	gc, err := c.NewInstallationClient(id)
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// TestWritesPacedPerInstallation: 100 statuses for each of two
// installations, taking turns, are never refused by the emulator's 80 a
// minute and 500 an hour, and each installation keeps its own pace: the
// run takes as long as one installation's 100 writes (the hour's burst of
// 50, then 8s a write), not as long as 200.
func TestWritesPacedPerInstallation(t *testing.T) {
	clk := newClock()
	gh, clients := governedEmulator(t, clk)
	ctx := context.Background()
	alice, bob := installationClient(t, clients, 100), installationClient(t, clients, 200)
	start := clk.Now()
	for i := range 100 {
		for _, w := range []struct {
			c          *github.Client
			owner, sha string
		}{{alice, "alice", "1111111111111111111111111111111111111111"}, {bob, "bob", "2222222222222222222222222222222222222222"}} {
			st := &github.RepoStatus{Context: github.String(fmt.Sprintf("ci/%d", i)), State: github.String("success")}
			if _, _, err := w.c.Repositories.CreateStatus(ctx, w.owner, "r", w.sha, st); err != nil {
				t.Fatalf("write %d of %s: %v", i, w.owner, err)
			}
		}
	}
	took := clk.Now().Sub(start)
	st := gh.Stats()
	if st.SecondaryLimited != 0 || st.Writes.Total != 200 {
		t.Errorf("emulator: %d refused for a secondary limit, %d writes made; want 0 and 200", st.SecondaryLimited, st.Writes.Total)
	}
	// One installation: 50 at the hour's burst, the other 50 at 8s each
	// (less the few seconds the hour gave back meanwhile). Both sharing one
	// pace would take 150 × 8s = 20 minutes.
	if lo, hi := 6*time.Minute, 7*time.Minute; took < lo || took > hi {
		t.Errorf("the writes took %s on the clock, want %s..%s (one installation's pace)", took, lo, hi)
	}
}

// TestPointsPacedPerEndpoint: 950 reads of one endpoint of an installation
// and 100 of another, taking turns, stay under the emulator's 900 points a
// minute per endpoint, and each endpoint keeps its own budget: the run
// takes as long as the first endpoint's 950 reads (about 64s), not as long
// as 1,050 (71s).
func TestPointsPacedPerEndpoint(t *testing.T) {
	clk := newClock()
	gh, clients := governedEmulator(t, clk)
	ctx := context.Background()
	c := installationClient(t, clients, 100)
	start := clk.Now()
	for i := range 950 {
		if _, _, err := c.PullRequests.Get(ctx, "alice", "r", 1); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if i >= 100 {
			continue
		}
		if _, _, err := c.PullRequests.ListFiles(ctx, "alice", "r", 1, nil); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	took := clk.Now().Sub(start)
	if st := gh.Stats(); st.SecondaryLimited != 0 {
		t.Errorf("emulator refused %d reads for a secondary limit", st.SecondaryLimited)
	}
	// A burst of 56, then 844 a minute: (950-56)/844 minutes per endpoint.
	if lo, hi := 63*time.Second, 65*time.Second; took < lo || took > hi {
		t.Errorf("the reads took %s on the clock, want %s..%s (one endpoint's budget)", took, lo, hi)
	}
}
