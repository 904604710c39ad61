package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// More apps. Besides the scenario's app (which the emulator serves) and the
// other apps a scenario names (which only appear in check runs), an app
// created through GitHub's manifest flow is served too: its JWT (signed with
// the key the conversion returned) authenticates /app calls, its
// installations (installation.created with its app_id) give tokens, and its
// webhooks go to its manifest's hook_attributes.url, signed with its secret,
// for the events it subscribed to.

// registration is what GitHub keeps of an app it serves: its key and
// secrets, where its webhooks go and where its users may be sent back to.
type registration struct {
	key           *rsa.PublicKey
	webhookSecret string
	// hookURL is where webhooks go; the scenario's app uses the server's
	// webhook URL instead.
	hookURL      string
	clientID     string
	clientSecret string
	callbackURLs []string
	externalURL  string
	description  string
	budget       budget // JWT-authenticated /app calls
}

// clientID is the app's OAuth client id.
func (a *appInfo) clientID() string {
	if a.reg != nil && a.reg.clientID != "" {
		return a.reg.clientID
	}
	return fmt.Sprintf("Iv1.%016x", a.id)
}

// externalURL is the app's homepage (the manifest's url), else its page.
func (a *appInfo) externalURL(base string) string {
	if a.reg != nil && a.reg.externalURL != "" {
		return a.reg.externalURL
	}
	return base + "/apps/" + a.slug
}

// descriptionOf is the app's description (null when it has none).
func (a *appInfo) descriptionOf() *string {
	if a.reg == nil {
		return nil
	}
	return strp(a.reg.description)
}

// randomHex returns n random bytes in hex, for secrets and codes.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// registerScenarioApp records the scenario app's credentials: its key, its
// webhook secret and its OAuth client (generated when the scenario has none).
func (w *world) registerScenarioApp(sa ScenarioApp, key *rsa.PublicKey) {
	reg := &registration{key: key, webhookSecret: sa.WebhookSecret, clientID: sa.ClientID, clientSecret: sa.ClientSecret,
		callbackURLs: sa.CallbackURLs}
	if reg.clientID == "" {
		reg.clientID = fmt.Sprintf("Iv1.%016x", sa.ID)
	}
	if reg.clientSecret == "" {
		reg.clientSecret = randomHex(20)
	}
	w.app.reg = reg
}

// servedApp is an app the emulator serves, by id.
func (w *world) servedApp(id int64) *appInfo {
	if a := w.apps[id]; a != nil && a.reg != nil {
		return a
	}
	return nil
}

// appByClientID finds a served app by its OAuth client id.
func (w *world) appByClientID(id string) *appInfo {
	for _, a := range w.apps {
		if a.reg != nil && a.reg.clientID == id {
			return a
		}
	}
	return nil
}

// callerApp is the app a request authenticates as (the scenario's app for
// anonymous calls, which cannot write).
func (c *reqCtx) callerApp() *appInfo {
	switch {
	case c.id.kind == idInstallation:
		return c.id.tok.inst.app
	case c.id.kind == idUser:
		return c.id.user.app
	case c.id.app != nil:
		return c.id.app
	}
	return c.w.app
}

// holds reports whether an installation covers a repository. The scenario
// app's installation is the repository's own (r.inst); other apps'
// installations list theirs.
func (in *installation) holds(r *repo) bool {
	if r.inst == in {
		return true
	}
	for _, x := range in.repos {
		if x == r {
			return true
		}
	}
	return false
}

// appInstallationOf is an app's installation on an account.
func (w *world) appInstallationOf(a *appInfo, account string) *installation {
	for _, in := range w.insts {
		if in.app == a && strings.EqualFold(in.account, account) {
			return in
		}
	}
	return nil
}

// appInstallationFor is the installation of an app that covers a repository.
func (w *world) appInstallationFor(a *appInfo, r *repo) *installation {
	for _, in := range w.insts {
		if in.app == a && in.holds(r) {
			return in
		}
	}
	return nil
}

// fanOut sends a repository event to every other app installed on the
// repository that subscribes to it (as a followup, with that app's
// installation), and addresses installation.created to the app installed.
func (w *world) fanOut(base string, h *hook, r *repo, ev *Event) {
	switch h.event {
	case "installation":
		h.app = w.servedApp(ev.AppID)
		return
	case "installation_repositories":
		h.app = w.instByID[ev.InstallationID].app
		return
	}
	if r == nil {
		return
	}
	h.skip = needsPermission(h.event, r.inst)
	for _, in := range w.insts {
		if in.app == w.app || !in.holds(r) || !subscribed(in.app, h.event) {
			continue
		}
		payload := make(map[string]any, len(h.payload))
		for k, v := range h.payload {
			payload[k] = v
		}
		payload["installation"] = map[string]any{"id": in.id, "node_id": nodeID("Installation", in.id)}
		other := &hook{event: h.event, action: h.action, payload: payload, installed: true, app: in.app, skip: needsPermission(h.event, in),
			instID: in.id, repoID: r.id}
		w.addFollowup(other, EventResult{})
	}
}

// manifestJSON is what the emulator reads of the manifest a user's browser
// posts (GitHub's "Registering a GitHub App from a manifest"); the other
// keys (public, setup_url, …) change nothing it serves.
type manifestJSON struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	HookAttributes *struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	CallbackURLs       []string          `json:"callback_urls"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// manifestCode is the temporary code the manifest flow hands back.
type manifestCode struct {
	app     *appInfo
	pem     string
	expires time.Time
}

// manifestCodeTTL is how long a manifest code can be converted.
const manifestCodeTTL = time.Hour

var slugJunk = regexp.MustCompile(`[^a-z0-9]+`)

// slugOf makes GitHub's slug of an app name.
func slugOf(name string) string {
	return strings.Trim(slugJunk.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// handleNewApp is POST {web}/settings/apps/new and
// POST {web}/organizations/{org}/settings/apps/new: the user approves the
// manifest at once; GitHub creates the app and redirects to the manifest's
// redirect_url with a code and the state (a parameter of the form's action
// URL, where GitHub's documentation puts it). The owner is the organization, or
// the user named by login (form or query), else the account of the first
// installation.
func (s *Server) handleNewApp(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form: "+err.Error(), http.StatusBadRequest)
		return
	}
	var m manifestJSON
	if err := json.Unmarshal([]byte(r.PostForm.Get("manifest")), &m); err != nil {
		http.Error(w, "the manifest field is not a JSON manifest: "+err.Error(), http.StatusBadRequest)
		return
	}
	if problem := m.check(); problem != "" {
		http.Error(w, "invalid manifest: "+problem, http.StatusUnprocessableEntity)
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		http.Error(w, "failed to make the app's key", http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	owner, org := r.PathValue("org"), true
	if owner == "" {
		owner, org = s.w.defaultLogin(r.Form.Get("login")), false
	}
	code, problem := s.w.createApp(m, owner, org, key, s.now())
	s.mu.Unlock()
	if problem != "" {
		http.Error(w, problem, http.StatusUnprocessableEntity)
		return
	}
	http.Redirect(w, r, withQuery(m.RedirectURL, url.Values{"code": {code}, "state": {r.URL.Query().Get("state")}}), http.StatusFound)
}

// check applies GitHub's rules to a manifest ("" when it is valid).
func (m *manifestJSON) check() string {
	switch {
	case m.Name == "" || slugOf(m.Name) == "":
		return "name: missing"
	case len(m.Name) > 34:
		return "name: longer than 34 characters"
	case !absoluteURL(m.URL):
		return "url: missing or not an absolute URL"
	case !absoluteURL(m.RedirectURL):
		return "redirect_url: missing or not an absolute URL"
	case m.HookAttributes != nil && m.HookAttributes.URL != "" && !absoluteURL(m.HookAttributes.URL):
		return "hook_attributes.url: not an absolute URL"
	}
	for _, u := range m.CallbackURLs {
		if !absoluteURL(u) {
			return fmt.Sprintf("callback_urls: %q is not an absolute URL", u)
		}
	}
	for k, v := range m.DefaultPermissions {
		if !permLevels[v] {
			return fmt.Sprintf("default_permissions.%s: %q is not read, write or admin", k, v)
		}
	}
	return ""
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// withQuery adds parameters to a URL's query.
func withQuery(raw string, v url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// createApp registers a manifest's app and returns its conversion code.
func (w *world) createApp(m manifestJSON, owner string, org bool, key *rsa.PrivateKey, now time.Time) (code, problem string) {
	slug := slugOf(m.Name)
	id := int64(1)
	for _, a := range w.apps {
		if a.slug == slug || strings.EqualFold(a.name, m.Name) {
			return "", "Name is already in use"
		}
		id = max(id, a.id+1)
	}
	perms := copyPerms(m.DefaultPermissions)
	perms["metadata"] = maxLevel(perms["metadata"], "read") // every app can read metadata
	events := append([]string{}, m.DefaultEvents...)
	sort.Strings(events)
	if org {
		w.orgs[strings.ToLower(owner)] = true
	}
	a := &appInfo{id: id, slug: slug, name: m.Name, owner: owner, perms: perms, events: events, createdAt: now,
		reg: &registration{key: &key.PublicKey, webhookSecret: randomHex(20), clientID: fmt.Sprintf("Iv1.%016x", id),
			clientSecret: randomHex(20), callbackURLs: m.CallbackURLs, externalURL: m.URL, description: m.Description}}
	if h := m.HookAttributes; h != nil && (h.Active == nil || *h.Active) {
		a.reg.hookURL = h.URL
	}
	w.apps[id] = a
	code = randomHex(10)
	w.webState().manifests[code] = &manifestCode{app: a, expires: now.Add(manifestCodeTTL),
		pem: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))}
	return code, ""
}

func maxLevel(a, b string) string {
	if permRank[a] >= permRank[b] {
		return a
	}
	return b
}

type appConfigJSON struct {
	*integrationJSON
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
	PEM           string `json:"pem"`
}

// hConvertManifest is POST /app-manifests/{code}/conversions: a code works
// once, within an hour, and answers the new app with its secrets.
func hConvertManifest(c *reqCtx) resp {
	web := c.w.webState()
	mc := web.manifests[c.params["code"]]
	if mc == nil || !c.now.Before(mc.expires) {
		return c.notFound()
	}
	delete(web.manifests, c.params["code"])
	return created(appConfigJSON{integrationJSON: c.w.integrationJSON(c.base, mc.app), ClientSecret: mc.app.reg.clientSecret,
		WebhookSecret: mc.app.reg.webhookSecret, PEM: mc.pem})
}

// AppStats counts what one app did.
type AppStats struct {
	Requests int64 `json:"requests"`
	Writes   int64 `json:"writes"`
}

// countApp counts a request (or a write) for the app whose credentials it
// carries.
func (s *Server) countApp(c *reqCtx, write bool) {
	if c.id.kind == idAnonymous || c.id.kind == idApp && c.id.app == nil {
		return
	}
	slug := c.callerApp().slug
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats.byApp[slug]
	if write {
		st.Writes++
	} else {
		st.Requests++
	}
	s.stats.byApp[slug] = st
}

// stateApps lists the served apps, the scenario's first.
func (w *world) stateApps() []StateApp {
	out := []StateApp{}
	ids := make([]int64, 0, len(w.apps))
	for id, a := range w.apps {
		if a.reg != nil && a != w.app {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, a := range append([]*appInfo{w.app}, appsByID(w, ids)...) {
		out = append(out, StateApp{ID: a.id, Slug: a.slug, Permissions: copyPerms(a.perms), Owner: a.owner,
			Events: append([]string{}, a.events...), HookURL: a.reg.hookURL})
	}
	return out
}

func appsByID(w *world, ids []int64) []*appInfo {
	out := make([]*appInfo, len(ids))
	for i, id := range ids {
		out[i] = w.apps[id]
	}
	return out
}
