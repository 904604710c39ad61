package main

// Benchmarks of the webhook path, against the emulator on 127.0.0.1 with no
// added latency:
//
//	go test -run '^$' -bench 'BenchmarkWebhook' -benchtime 3s ./cmd/fix-status/
//
// They report figures (b.ReportMetric) and assert nothing about time.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
)

// hookClient keeps connections open, as GitHub's deliveries do.
var hookClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}

// openedPayload is GitHub's own pull_request.opened delivery (28 KB): PR #2
// of Codertocat/Hello-World, as the hello scenario has it.
func openedPayload(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// deliverer posts signed deliveries of one payload.
type deliverer struct {
	url, sig string
	body     []byte
}

func (d deliverer) post(b *testing.B, id int) time.Duration {
	req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", id))
	req.Header.Set("X-Hub-Signature-256", d.sig)
	start := time.Now()
	resp, err := hookClient.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	_ = resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode/100 != 2 {
		b.Errorf("delivery answered %d", resp.StatusCode)
	}
	return took
}

// percentiles reports p50 and p99 of ds in milliseconds.
func percentiles(b *testing.B, ds []time.Duration, prefix string) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), prefix+"p50_ms")
	b.ReportMetric(at(0.99), prefix+"p99_ms")
}

func helloDeliverer(b *testing.B, h *harness) deliverer {
	body := openedPayload(b)
	return deliverer{url: h.hookURL, body: body, sig: fakegithub.SignPayload(h.gh.WebhookSecret(), body)}
}

// BenchmarkWebhookAck: how long a delivery waits for its answer:
//   - "one": one delivery at a time;
//   - "bursts": bursts of 20 concurrent deliveries every 10 ms (2,000
//     deliveries/s), the checks they cause running behind the queue;
//   - "saturated": as many parallel senders as keep every CPU busy
//     (b.RunParallel, GOMAXPROCS×4): the latency then is mostly waiting
//     for a CPU, shared by the senders, the server and the emulator.
func BenchmarkWebhookAck(b *testing.B) {
	b.Run("bursts", func(b *testing.B) {
		const burst, every = 20, 10 * time.Millisecond
		h := newHarness(b, hello, harnessOptions{})
		d := helloDeliverer(b, h)
		ds := make([]time.Duration, b.N)
		b.SetBytes(int64(len(d.body)))
		tick := time.NewTicker(every)
		defer tick.Stop()
		b.ResetTimer()
		for i := 0; i < b.N; i += burst {
			var wg sync.WaitGroup
			for j := i; j < i+burst && j < b.N; j++ {
				wg.Add(1)
				go func(j int) {
					defer wg.Done()
					ds[j] = d.post(b, j)
				}(j)
			}
			wg.Wait()
			<-tick.C
		}
		b.StopTimer()
		percentiles(b, ds, "ack_")
	})
	b.Run("one", func(b *testing.B) {
		h := newHarness(b, hello, harnessOptions{})
		d := helloDeliverer(b, h)
		ds := make([]time.Duration, 0, b.N)
		b.SetBytes(int64(len(d.body)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ds = append(ds, d.post(b, i))
		}
		b.StopTimer()
		percentiles(b, ds, "ack_")
	})
	b.Run("saturated", func(b *testing.B) {
		h := newHarness(b, hello, harnessOptions{})
		d := helloDeliverer(b, h)
		var mu sync.Mutex
		var all []time.Duration
		var next int64
		b.SetBytes(int64(len(d.body)))
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				mu.Lock()
				next++
				id := int(next)
				mu.Unlock()
				mine = append(mine, d.post(b, id))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
		b.StopTimer()
		percentiles(b, all, "ack_")
	})
}

// BenchmarkWebhookThroughput: deliveries per second the server accepts
// (answered 2xx) from parallel senders, with real-size payloads.
func BenchmarkWebhookThroughput(b *testing.B) {
	h := newHarness(b, hello, harnessOptions{})
	d := helloDeliverer(b, h)
	var mu sync.Mutex
	var next int64
	b.SetBytes(int64(len(d.body)))
	b.SetParallelism(8)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			next++
			id := int(next)
			mu.Unlock()
			d.post(b, id)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkWebhookToStatus: from a pull_request.opened delivery to the skip
// status fix-status posts for it, one PR after the other, with a 1 ms
// coalescing window (the production default, 2 s, would dominate).
func BenchmarkWebhookToStatus(b *testing.B) {
	h := newHarness(b, widgets{}.yaml(), harnessOptions{coalesce: time.Millisecond})
	ds := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writes := h.gh.Stats().Writes.Total
		start := time.Now()
		if _, err := h.gh.Apply(ctx, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
			Title: fmt.Sprint("bench ", i), Files: []fakegithub.File{{Filename: "docs/guide.md", Status: "modified"}}}); err != nil {
			b.Fatal(err)
		}
		deadline := start.Add(e2eWait)
		for h.gh.Stats().Writes.Total == writes {
			if time.Now().After(deadline) {
				b.Fatal("no status written")
			}
			time.Sleep(100 * time.Microsecond)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	percentiles(b, ds, "e2e_")
}
