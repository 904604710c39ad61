package ghapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coocood/freecache"
	"github.com/google/go-github/v60/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/plan"
)

// DefaultCacheBytes bounds the HTTP cache when no size is given.
const DefaultCacheBytes = 256 << 20

// Cache is the memory of what fix-status read from GitHub, bounded in bytes
// (least recently used first out; an entry bigger than a 1,024th of it is
// not kept) and shared by the clients of every installation, so an app
// installed in many organisations keeps what it read however many
// installation clients go-githubapp keeps. It holds HTTP responses, keyed
// by request URL (each installation reads only its own repositories), and
// PRs' changed-file lists by head (Files).
type Cache struct{ c *freecache.Cache }

// NewCache returns a Cache of at most maxBytes (DefaultCacheBytes when 0).
func NewCache(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &Cache{freecache.NewCache(int(maxBytes))}
}

// ClientOption is go-githubapp's client option for the cache. Every
// response is revalidated: GitHub marks responses fresh for 60 s, and a
// status fix-status just wrote must be seen on the next read; a
// revalidation answered 304 costs no rate limit.
func (c *Cache) ClientOption() githubapp.ClientOption {
	h := byteCache{c.c}
	return githubapp.WithClientCaching(true, func() httpcache.Cache { return h })
}

// WithCache is the client option of a new Cache of maxBytes.
func WithCache(maxBytes int64) githubapp.ClientOption { return NewCache(maxBytes).ClientOption() }

// byteCache is the Cache as an httpcache.Cache (httpcache's own memory
// cache grows without limit, and an LRU of entries is unbounded in bytes: a
// page of 100 changed files is 50 KB).
type byteCache struct{ c *freecache.Cache }

func (b byteCache) Get(key string) ([]byte, bool) {
	v, err := b.c.Get([]byte(key))
	return v, err == nil
}

// Set keeps resp if it fits; one that does not is read again next time.
func (b byteCache) Set(key string, resp []byte) { _ = b.c.Set([]byte(key), resp, 0) }

func (b byteCache) Delete(key string) { b.c.Del([]byte(key)) }

// Files is ReadFiles, from the cache when the list of the PR's head
// against its base was read before: that list does not change, and reading
// it again is a request per 100 files even when each is answered 304 (30
// for a PR of 3,000 files). Only complete lists are kept. A nil Cache
// reads every time.
func (c *Cache) Files(ctx context.Context, client *github.Client, ref plan.PRRef, pr plan.PRInfo) (plan.Files, error) {
	if c == nil {
		return ReadFiles(ctx, client, ref, pr.ChangedFiles)
	}
	// Request URLs, the other keys, start with the scheme.
	key := []byte(fmt.Sprintf("files:%d/%s#%d:%s@%s..%s", ref.InstallationID, strings.ToLower(ref.FullRepo()), ref.Number,
		pr.BaseRef, pr.BaseSHA, pr.HeadSHA))
	if v, err := c.c.Get(key); err == nil {
		var f plan.Files
		if json.Unmarshal(v, &f) == nil {
			return f, nil
		}
	}
	f, err := ReadFiles(ctx, client, ref, pr.ChangedFiles)
	if err != nil || !f.Complete {
		return f, err
	}
	if v, merr := json.Marshal(f); merr == nil {
		_ = c.c.Set(key, v, 0)
	}
	return f, nil
}
