// Package shared is what several replicas of fix-status share, in Redis:
// the durable work queue (re-checks scheduled by a replica that dies still
// run; hibiken/asynq), per-PR locks with a lease that ends with a crashed
// holder and named leases (bsm/redislock), delivery de-duplication, and
// claims on re-triggers so that no context gets two for one head, and the
// write pacing of each installation (go-redis/redis_rate), so that
// replicas together stay under GitHub's secondary limits.
// Everything else is recomputed from GitHub by whichever replica looks.
package shared

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

// Redis is the shared state of a deployment, under one key prefix.
type Redis struct {
	rdb    *redis.Client
	prefix string
	locks  *redislock.Client
}

// Options say where the state is.
type Options struct {
	Address  string
	Password string
	DB       int
	// KeyPrefix starts every key (and names the work queue), so that
	// deployments can share a Redis server.
	KeyPrefix string
}

// Dial connects to Redis and checks it answers.
func Dial(ctx context.Context, o Options) (*Redis, error) {
	rdb := redis.NewClient(&redis.Options{Addr: o.Address, Password: o.Password, DB: o.DB})
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("failed to reach Redis at %s: %w", o.Address, err)
	}
	return New(rdb, o.KeyPrefix), nil
}

// New uses a connected client.
func New(rdb *redis.Client, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, locks: redislock.New(rdb)}
}

// Close closes the connection.
func (r *Redis) Close() error { return r.rdb.Close() }

func (r *Redis) key(parts ...string) string { return r.prefix + strings.Join(parts, ":") }

// Deliveries de-duplicates webhook deliveries across replicas
// (serve.Deliveries): a delivery id is claimed once for ttl; a delivery
// without an id is always new.
func (r *Redis) Deliveries(ttl time.Duration) *Claims {
	return &Claims{r: r, kind: "delivery", ttl: ttl}
}

// Locks are per-PR locks across replicas (reconcile.Locker). A lock is a
// lease: it is refreshed while its holder works, and ends ttl after a
// holder that crashed.
type Locks struct {
	r   *Redis
	ttl time.Duration
}

// Locks hold a PR for ttl at a time, refreshed every ttl/3.
func (r *Redis) Locks(ttl time.Duration) *Locks { return &Locks{r: r, ttl: ttl} }

// lockRetry is how often a waiting replica tries a held lock again.
const lockRetry = 50 * time.Millisecond

// Lock waits until ref is free (or ctx ends) and holds it until unlock.
func (l *Locks) Lock(ctx context.Context, key string) (func(), error) {
	lk, err := l.r.locks.Obtain(ctx, l.r.key("lock", key), l.ttl, &redislock.Options{RetryStrategy: redislock.LinearBackoff(lockRetry)})
	if err != nil {
		return nil, fmt.Errorf("failed to lock %s: %w", key, err)
	}
	return hold(lk, l.ttl), nil
}

// hold refreshes lk until the returned release is called.
func hold(lk *redislock.Lock, ttl time.Duration) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := lk.Refresh(context.Background(), ttl, nil); err != nil {
					// Lost (Redis restarted, or a pause longer than
					// the lease): the work goes on; the write guard and
					// the re-trigger claims keep it from writing twice.
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			_ = lk.Release(context.Background())
		})
	}
}

// Leases are named leases across replicas (serve.Leaser).
type Leases struct{ r *Redis }

// Leases hands out named leases.
func (r *Redis) Leases() *Leases { return &Leases{r: r} }

// TryLease takes the lease name for ttl if no one holds it.
func (l *Leases) TryLease(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	lk, err := l.r.locks.Obtain(ctx, l.r.key("lease", name), ttl, nil)
	if errors.Is(err, redislock.ErrNotObtained) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to take lease %s: %w", name, err)
	}
	return hold(lk, ttl), true, nil
}

// Claims are keys claimed once across replicas, each for ttl: re-triggers
// (reconcile.Claims: the nth re-trigger of a context on a head SHA is made
// once, whichever replica gets there) and delivery ids (Deliveries).
type Claims struct {
	r    *Redis
	kind string
	ttl  time.Duration
}

// Claims are claims on re-triggers, kept for ttl.
func (r *Redis) Claims(ttl time.Duration) *Claims { return &Claims{r: r, kind: "claim", ttl: ttl} }

// Claim claims key and reports whether it was free; an empty key is always
// free.
func (c *Claims) Claim(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return true, nil
	}
	ok, err := c.r.rdb.SetNX(ctx, c.r.key(c.kind, key), 1, c.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("failed to claim %s %s: %w", c.kind, key, err)
	}
	return ok, nil
}

// Release gives a claim back.
func (c *Claims) Release(ctx context.Context, key string) error {
	return c.r.rdb.Del(ctx, c.r.key(c.kind, key)).Err()
}
