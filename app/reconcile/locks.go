package reconcile

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// LocalLocks are locks of PRs and merge groups within one process.
type LocalLocks struct {
	mu    sync.Mutex
	locks map[string]*prLock
}

type prLock struct {
	ch      chan struct{} // holds a token while the PR is free
	waiters int
}

// NewLocalLocks returns in-process per-PR locks.
func NewLocalLocks() *LocalLocks { return &LocalLocks{locks: map[string]*prLock{}} }

// Lock implements Locker.
func (l *LocalLocks) Lock(ctx context.Context, ref string) (func(), error) {
	l.mu.Lock()
	pl, ok := l.locks[ref]
	if !ok {
		pl = &prLock{ch: make(chan struct{}, 1)}
		pl.ch <- struct{}{}
		l.locks[ref] = pl
	}
	pl.waiters++
	l.mu.Unlock()
	select {
	case <-pl.ch:
	case <-ctx.Done():
		l.release(ref, pl, false)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(ref, pl, true) }) }, nil
}

// release gives the token back (when held) and forgets a lock nobody
// waits for, so the map holds only PRs being reconciled.
func (l *LocalLocks) release(ref string, pl *prLock, held bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if held {
		pl.ch <- struct{}{}
	}
	if pl.waiters--; pl.waiters == 0 {
		delete(l.locks, ref)
	}
}

// localClaims are Claims within one process, forgotten after a day (a
// head's re-triggers are over by then).
type localClaims struct {
	mu   sync.Mutex
	seen *expirable.LRU[string, struct{}]
}

func newLocalClaims() *localClaims {
	return &localClaims{seen: expirable.NewLRU[string, struct{}](100000, nil, 24*time.Hour)}
}

func (c *localClaims) Claim(_ context.Context, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.Contains(key) {
		return false, nil
	}
	c.seen.Add(key, struct{}{})
	return true, nil
}

func (c *localClaims) Release(_ context.Context, key string) error {
	c.seen.Remove(key)
	return nil
}
