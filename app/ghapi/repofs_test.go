package ghapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"

	"github.com/fix-status/fix-status/app/fakegithub"
)

// TestRepoFSConcurrentReads: the Prow loader reads a config's files on
// several goroutines through one RepoFS. Its bound then still holds
// exactly, and what was read is kept for the next read (run with -race:
// its counters and memory are shared).
func TestRepoFSConcurrentReads(t *testing.T) {
	gh, _, c := start(t, fakegithub.Options{})
	const limit, readers = 10, 16
	fsys := NewRepoFS(context.Background(), c, repo, "1111111111111111111111111111111111111111").Limit(limit)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() { _, errs[i] = fs.ReadFile(fsys, fmt.Sprintf("generated/file-%05d.txt", i+1)) })
	}
	wg.Wait()
	read, cut := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			read++
		case errors.Is(err, ErrTooManyReads):
			cut++
		default:
			t.Errorf("file %d: %v", i+1, err)
		}
	}
	if read != limit || cut != readers-limit || !errors.Is(fsys.Exceeded(), ErrTooManyReads) {
		t.Errorf("%d read, %d refused, exceeded %v; want %d, %d and ErrTooManyReads", read, cut, fsys.Exceeded(), limit, readers-limit)
	}
	gh.ResetStats()
	for i, err := range errs {
		if err == nil {
			if _, err := fs.ReadFile(fsys, fmt.Sprintf("generated/file-%05d.txt", i+1)); err != nil {
				t.Errorf("reading file %d again: %v", i+1, err)
			}
		}
	}
	if n := gh.Stats().Requests; n != 0 {
		t.Errorf("reading the files again made %d requests", n)
	}
}
