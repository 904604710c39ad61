package reconcile

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

func TestLocalLocks(t *testing.T) {
	l := NewLocalLocks()
	ctx := context.Background()
	unlock, err := l.Lock(ctx, widgets.PR(1).String())
	if err != nil {
		t.Fatal(err)
	}
	// Another PR is free.
	other, err := l.Lock(ctx, widgets.PR(2).String())
	if err != nil {
		t.Fatal(err)
	}
	other()
	// The same PR waits: a context that ends first gives up.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Lock(short, widgets.PR(1).String()); !errors.Is(err, context.Canceled) {
		t.Fatalf("second lock of a held PR: %v", err)
	}
	got := make(chan func(), 1)
	go func() {
		u, err := l.Lock(ctx, widgets.PR(1).String())
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	// Once the second caller waits on the lock, it has not got it.
	for waiting := 0; waiting < 2; {
		l.mu.Lock()
		waiting = l.locks[widgets.PR(1).String()].waiters
		l.mu.Unlock()
		runtime.Gosched()
	}
	select {
	case <-got:
		t.Fatal("the PR was locked twice")
	default:
	}
	unlock()
	unlock() // a second unlock is harmless
	(<-got)()
	if n := len(l.locks); n != 0 {
		t.Errorf("%d locks kept after every holder let go", n)
	}
}
