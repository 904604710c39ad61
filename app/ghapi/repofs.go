package ghapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/google/go-github/v60/github"
)

// RepoFS is a read-only fs.FS over one ref of a repository, through the
// contents API, so the rule loaders read GitHub exactly as they read a local
// checkout. Every read goes through the (caching) installation client. It is
// safe for concurrent use: the Prow loader reads its files in parallel.
type RepoFS struct {
	ctx    context.Context
	client *github.Client
	owner  string
	repo   string
	ref    string

	// mu guards what follows; it is not held during a read of GitHub.
	mu sync.Mutex
	// apiErr is the first failed read other than "not found".
	apiErr error
	// read keeps what was read, by path: the loaders stat, list and read
	// a directory through separate calls, and one ref does not change.
	read map[string]content
	// maxReads bounds the reads (0 = no bound); reads counts them, and
	// exceeded is the error of the first read past the bound.
	maxReads, reads int
	exceeded        error
}

// ErrTooManyReads is the error of a read past a RepoFS's bound.
var ErrTooManyReads = errors.New("too many files to read")

// NewRepoFS is repo at ref (a branch, tag or SHA), read through c. ctx
// bounds every read: the fs.FS methods take none.
func NewRepoFS(ctx context.Context, c *github.Client, repo plan.RepoRef, ref string) *RepoFS {
	return &RepoFS{ctx: ctx, client: c, owner: repo.Owner, repo: repo.Repo, ref: ref}
}

// Limit bounds the reads of the file system to n (files and directories
// listed): a pull request's own rules are read at its head, and a PR may add
// any number of workflow files.
func (r *RepoFS) Limit(n int) *RepoFS {
	r.maxReads = n
	return r
}

// Exceeded is the error of the first read past the bound (nil when none
// was): a loader that keeps going after a failed file must not take a cut
// read for the whole.
func (r *RepoFS) Exceeded() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exceeded
}

// APIErr is the first read that failed for another reason than "not
// found" (a 5xx, a rate limit): the rule loaders keep only its message.
func (r *RepoFS) APIErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apiErr
}

type content struct {
	file *github.RepositoryContent
	dir  []*github.RepositoryContent
	err  error
}

var (
	_ fs.ReadFileFS = (*RepoFS)(nil)
	_ fs.ReadDirFS  = (*RepoFS)(nil)
)

func (r *RepoFS) get(name string) (*github.RepositoryContent, []*github.RepositoryContent, error) {
	if !fs.ValidPath(name) {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	r.mu.Lock()
	if c, ok := r.read[name]; ok {
		r.mu.Unlock()
		return c.file, c.dir, c.err
	}
	if r.maxReads > 0 && r.reads >= r.maxReads {
		if r.exceeded == nil {
			r.exceeded = fmt.Errorf("%s/%s@%s: %w (more than %d)", r.owner, r.repo, r.ref, ErrTooManyReads, r.maxReads)
		}
		r.mu.Unlock()
		return nil, nil, r.exceeded
	}
	r.reads++
	r.mu.Unlock()
	p := name
	if p == "." {
		p = ""
	}
	file, dir, resp, err := r.client.Repositories.GetContents(r.ctx, r.owner, r.repo, p, &github.RepositoryContentGetOptions{Ref: r.ref})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			err = &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			r.remember(name, content{err: err})
			return nil, nil, err
		}
		if r.apiErr == nil {
			r.apiErr = err
		}
		return nil, nil, fmt.Errorf("failed to read %s in %s/%s@%s: %w", name, r.owner, r.repo, r.ref, err)
	}
	r.remember(name, content{file: file, dir: dir})
	return file, dir, nil
}

// remember keeps what a read answered; r.mu is held.
func (r *RepoFS) remember(name string, c content) {
	if r.read == nil {
		r.read = map[string]content{}
	}
	r.read[name] = c
}

func (r *RepoFS) ReadFile(name string) ([]byte, error) {
	file, _, err := r.get(name)
	if err != nil {
		return nil, err
	}
	if file == nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("failed to decode %s in %s/%s@%s: %w", name, r.owner, r.repo, r.ref, err)
	}
	return []byte(s), nil
}

func (r *RepoFS) ReadDir(name string) ([]fs.DirEntry, error) {
	file, dir, err := r.get(name)
	if err != nil {
		return nil, err
	}
	if file != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	out := make([]fs.DirEntry, 0, len(dir))
	for _, c := range dir {
		out = append(out, fileInfo{name: c.GetName(), dir: c.GetType() == "dir", size: int64(c.GetSize())})
	}
	return out, nil
}

func (r *RepoFS) Open(name string) (fs.File, error) {
	file, dir, err := r.get(name)
	if err != nil {
		return nil, err
	}
	if file == nil {
		entries := make([]fs.DirEntry, 0, len(dir))
		for _, c := range dir {
			entries = append(entries, fileInfo{name: c.GetName(), dir: c.GetType() == "dir", size: int64(c.GetSize())})
		}
		return &openDir{info: fileInfo{name: path.Base(name), dir: true}, entries: entries}, nil
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("failed to decode %s: %w", name, err)
	}
	return &openFile{info: fileInfo{name: path.Base(name), size: int64(len(s))}, r: strings.NewReader(s)}, nil
}

type fileInfo struct {
	name string
	dir  bool
	size int64
}

func (f fileInfo) Name() string { return f.name }
func (f fileInfo) Size() int64  { return f.size }
func (f fileInfo) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (f fileInfo) ModTime() time.Time         { return time.Time{} }
func (f fileInfo) IsDir() bool                { return f.dir }
func (f fileInfo) Sys() any                   { return nil }
func (f fileInfo) Type() fs.FileMode          { return f.Mode().Type() }
func (f fileInfo) Info() (fs.FileInfo, error) { return f, nil }

type openFile struct {
	info fileInfo
	r    *strings.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *openFile) Close() error               { return nil }

type openDir struct {
	info    fileInfo
	entries []fs.DirEntry
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error)   { return 0, io.EOF }
func (d *openDir) Close() error               { return nil }
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		e := d.entries
		d.entries = nil
		return e, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	if n > len(d.entries) {
		n = len(d.entries)
	}
	e := d.entries[:n]
	d.entries = d.entries[n:]
	return e, nil
}
