package ghapi

import (
	"github.com/gregjones/httpcache"
	lru "github.com/hashicorp/golang-lru"
)

// DefaultCacheEntries bounds the HTTP cache: enough for the ETags of every
// open PR of a large organisation (a few responses each).
const DefaultCacheEntries = 50000

// lruCache is a bounded httpcache.Cache: httpcache's own memory cache grows
// without limit.
type lruCache struct{ c *lru.Cache }

// NewHTTPCache returns an HTTP cache holding at most entries responses,
// least recently used first out.
func NewHTTPCache(entries int) httpcache.Cache {
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	c, _ := lru.New(entries) // only fails for a size <= 0
	return lruCache{c}
}

func (l lruCache) Get(key string) ([]byte, bool) {
	v, ok := l.c.Get(key)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

func (l lruCache) Set(key string, b []byte) { l.c.Add(key, b) }
func (l lruCache) Delete(key string)        { l.c.Remove(key) }
