package govern

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/shurcooL/githubv4"
)

// Clients is a githubapp.ClientCreator whose app and installation clients
// (REST and GraphQL) send every request through a Governor. go-githubapp's
// own middleware cannot do it: it does not tell a middleware which
// installation a GraphQL client belongs to. Clients are made once per
// installation and reused, so the governor and go-github's own rate-limit
// memory see one client.
type Clients struct {
	githubapp.ClientCreator
	gov     *Governor
	v4URL   string
	graphql string

	mu   sync.Mutex
	rest map[int64]*github.Client
	v4   map[int64]*githubv4.Client
	app  *github.Client
}

// NewClients governs the clients of cc; v4URL is the GraphQL endpoint
// (the server config's v4_api_url).
func NewClients(cc githubapp.ClientCreator, gov *Governor, v4URL string) (*Clients, error) {
	u, err := url.Parse(v4URL)
	if err != nil {
		return nil, fmt.Errorf("invalid GraphQL URL %q: %w", v4URL, err)
	}
	return &Clients{ClientCreator: cc, gov: gov, v4URL: v4URL, graphql: u.Path,
		rest: map[int64]*github.Client{}, v4: map[int64]*githubv4.Client{}}, nil
}

// Governor is the governor the clients go through.
func (c *Clients) Governor() *Governor { return c.gov }

// governed rebuilds a go-github client around a governed copy of base's
// http.Client (which keeps go-githubapp's middleware, token and cache).
func (c *Clients) governed(base *github.Client, inst int64) *github.Client {
	root := "/"
	if base.BaseURL != nil {
		root = base.BaseURL.Path
	}
	hc := &http.Client{Transport: &transport{g: c.gov, inst: inst, inner: base.Client(), graphql: c.graphql, root: root}}
	gc := github.NewClient(hc)
	gc.BaseURL, gc.UploadURL, gc.UserAgent = base.BaseURL, base.UploadURL, base.UserAgent
	return gc
}

// NewAppClient returns the app's (JWT) client, governed for the counts.
func (c *Clients) NewAppClient() (*github.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.app != nil {
		return c.app, nil
	}
	base, err := c.ClientCreator.NewAppClient()
	if err != nil {
		return nil, err
	}
	c.app = c.governed(base, 0)
	return c.app, nil
}

// NewInstallationClient returns the installation's governed REST client.
func (c *Clients) NewInstallationClient(id int64) (*github.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restLocked(id)
}

func (c *Clients) restLocked(id int64) (*github.Client, error) {
	if cl := c.rest[id]; cl != nil {
		return cl, nil
	}
	base, err := c.ClientCreator.NewInstallationClient(id)
	if err != nil {
		return nil, err
	}
	cl := c.governed(base, id)
	c.rest[id] = cl
	return cl, nil
}

// NewInstallationV4Client returns the installation's governed GraphQL
// client. It shares the REST client's authenticated transport (an
// installation token is good for both APIs).
func (c *Clients) NewInstallationV4Client(id int64) (*githubv4.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.v4[id]; cl != nil {
		return cl, nil
	}
	rest, err := c.restLocked(id)
	if err != nil {
		return nil, err
	}
	hc := rest.Client()
	hc.Transport = userAgent{ua: rest.UserAgent, next: hc.Transport}
	cl := githubv4.NewEnterpriseClient(c.v4URL, hc)
	c.v4[id] = cl
	return cl, nil
}

type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(req)
}

var _ githubapp.ClientCreator = (*Clients)(nil)
