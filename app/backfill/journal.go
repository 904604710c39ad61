package backfill

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Journal is the --resume file: one JSON line per finished PR, appended as
// it finishes, so an interrupted run can go on without redoing them. A PR
// counts as finished at the head SHA it was reconciled at: a new push makes
// it due again.
type Journal struct {
	path string

	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	done     map[string]JournalEntry
	unsynced int
	lastSync time.Time
}

// JournalEntry is one line of the journal.
type JournalEntry struct {
	PR      string    `json:"pr"`
	HeadSHA string    `json:"head_sha"`
	DryRun  bool      `json:"dry_run"`
	Writes  int       `json:"writes"`
	At      time.Time `json:"at"`
}

// The journal is synced to disk when a line is recorded with syncEvery
// lines unsynced or syncInterval since the last sync, and on Close: a
// crash loses the lines since the last sync (fewer than syncEvery; during
// a long pause, all those recorded since), which the next run redoes
// (reconciling is idempotent).
const (
	syncEvery    = 100
	syncInterval = 2 * time.Second
)

// OpenJournal reads the finished PRs of path (which may not exist yet) and
// opens it for appending. A line torn by a crash is ignored.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open the resume file: %w", err)
	}
	j := &Journal{path: path, f: f, done: map[string]JournalEntry{}, lastSync: time.Now()}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var e JournalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.PR == "" {
			continue
		}
		j.done[journalKey(e.PR)] = e
	}
	if err := sc.Err(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("failed to read the resume file %s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("failed to read the resume file %s: %w", path, err)
	}
	j.w = bufio.NewWriter(f)
	if end > 0 {
		// Start on a new line after a torn last line.
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, end-1); err == nil && last[0] != '\n' {
			_ = j.w.WriteByte('\n')
		}
	}
	return j, nil
}

func journalKey(pr string) string { return strings.ToLower(pr) }

// Len is the number of PRs the journal holds.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.done)
}

// Done reports whether pr was finished at headSHA: repaired, or (for a dry
// run) looked at in a dry run.
func (j *Journal) Done(pr, headSHA string, dryRun bool) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.done[journalKey(pr)]
	return ok && e.HeadSHA == headSHA && (!e.DryRun || dryRun)
}

// Record appends a finished PR.
func (j *Journal) Record(e JournalEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done[journalKey(e.PR)] = e
	if _, err := j.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("failed to write the resume file %s: %w", j.path, err)
	}
	j.unsynced++
	if j.unsynced >= syncEvery || time.Since(j.lastSync) >= syncInterval {
		return j.syncLocked()
	}
	return nil
}

func (j *Journal) syncLocked() error {
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("failed to write the resume file %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("failed to sync the resume file %s: %w", j.path, err)
	}
	j.unsynced, j.lastSync = 0, time.Now()
	return nil
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.syncLocked()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}
