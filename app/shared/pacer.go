package shared

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/fix-status/fix-status/app/govern"
)

// Pacer paces the content-creating requests of each installation across
// every replica (govern.Pacer): GitHub counts its secondary limits per
// installation, whichever replica writes. It keeps the LocalPacer's
// windows (govern.PacerOptions.Windows) as GCRA limits in Redis
// (go-redis/redis_rate), one key per installation and window, so a restart
// or a new replica starts from what the others spent.
type Pacer struct {
	r            *Redis
	lim          *redis_rate.Limiter
	minute, hour redis_rate.Limit
	sleep        func(ctx context.Context, d time.Duration) error
}

// Pacer paces by o's windows (o.Now is not used: Redis's clock decides;
// o.Sleep waits, default the wall clock).
func (r *Redis) Pacer(o govern.PacerOptions) *Pacer {
	minute, hour := o.Windows()
	sleep := o.Sleep
	if sleep == nil {
		sleep = govern.WallSleep
	}
	return &Pacer{r: r, lim: redis_rate.NewLimiter(r.rdb), minute: gcra(minute), hour: gcra(hour), sleep: sleep}
}

func gcra(w govern.Window) redis_rate.Limit {
	return redis_rate.Limit{Rate: w.Refill(), Burst: w.Burst, Period: w.Per}
}

// Wait implements govern.Pacer: it takes n from the installation's minute,
// then its hour, sleeping for as long as Redis says each is spent. A
// minute's token taken while the hour is spent is not given back: the
// pace only gets slower, never faster than the windows.
func (p *Pacer) Wait(ctx context.Context, inst int64, n int) (time.Duration, error) {
	var waited time.Duration
	id := strconv.FormatInt(inst, 10)
	for _, w := range []struct {
		name  string
		limit redis_rate.Limit
	}{{"minute", p.minute}, {"hour", p.hour}} {
		key := p.r.key("pace", w.name, id)
		for {
			res, err := p.lim.AllowN(ctx, key, w.limit, n)
			if err != nil {
				return waited, fmt.Errorf("write pacing in Redis: %w", err)
			}
			if res.Allowed >= n {
				break
			}
			if res.RetryAfter < 0 {
				return waited, fmt.Errorf("write pacing: %d at once is more than the %s's burst of %d", n, w.name, w.limit.Burst)
			}
			waited += res.RetryAfter
			if err := p.sleep(ctx, res.RetryAfter); err != nil {
				return waited, err
			}
		}
	}
	return waited, nil
}

var _ govern.Pacer = (*Pacer)(nil)
