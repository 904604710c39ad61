package ghapi

import (
	"github.com/coocood/freecache"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
)

// DefaultCacheBytes bounds the HTTP cache when no size is given.
const DefaultCacheBytes = 256 << 20

// byteCache is an httpcache.Cache bounded in bytes (httpcache's own memory
// cache grows without limit, and an LRU of entries is unbounded in bytes: a
// page of 100 changed files is 50 KB). One is shared by the clients of every
// installation, so an app installed in many organisations keeps what it read
// however many installation clients go-githubapp keeps, and a client made
// twice at once for one installation does not lose the other's entries.
// Keys are request URLs; each installation reads only its own repositories.
type byteCache struct{ c *freecache.Cache }

// NewHTTPCache returns an HTTP cache of at most maxBytes (least recently
// used first out; a response bigger than a 1,024th of it is not kept).
func NewHTTPCache(maxBytes int64) httpcache.Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return byteCache{freecache.NewCache(int(maxBytes))}
}

func (b byteCache) Get(key string) ([]byte, bool) {
	v, err := b.c.Get([]byte(key))
	return v, err == nil
}

// Set keeps resp if it fits; one that does not is read again next time.
func (b byteCache) Set(key string, resp []byte) { _ = b.c.Set([]byte(key), resp, 0) }

func (b byteCache) Delete(key string) { b.c.Del([]byte(key)) }

// WithCache is go-githubapp's client option for one HTTP cache of maxBytes
// shared by every client it creates. Every response is revalidated: GitHub
// marks responses fresh for 60 s, and a status fix-status just wrote must
// be seen on the next read; a revalidation answered 304 costs no rate limit.
func WithCache(maxBytes int64) githubapp.ClientOption {
	shared := NewHTTPCache(maxBytes)
	return githubapp.WithClientCaching(true, func() httpcache.Cache { return shared })
}
