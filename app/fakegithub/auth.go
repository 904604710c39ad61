package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type idKind int

const (
	idAnonymous    idKind = iota
	idApp                 // the app's JWT
	idInstallation        // an installation access token
	idUser                // a user access token (oauth.go)
)

// identity is who made a request.
type identity struct {
	kind idKind
	tok  *token
	addr string
	app  *appInfo   // the app of a JWT
	user *userToken // for idUser
}

// actor is the login recorded for API writes. Only installation tokens can
// write, so it is the app's bot user, as GitHub shows it.
func (c *reqCtx) actor() string {
	return c.callerApp().botLogin()
}

// Installation tokens live for an hour, as on GitHub.
const tokenTTL = time.Hour

// JWT rules GitHub applies: at most 10 minutes of lifetime ahead, and a
// little clock drift forgiven.
const (
	maxJWTAhead = 10 * time.Minute
	jwtLeeway   = 60 * time.Second
)

func (s *Server) authenticate(c *reqCtx) (*identity, *resp) {
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return &identity{kind: idAnonymous, addr: clientAddr(c.r)}, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer", "token":
	default:
		r := c.errResp(http.StatusUnauthorized, "Bad credentials")
		return nil, &r
	}
	if strings.Count(cred, ".") == 2 && strings.HasPrefix(cred, "eyJ") {
		app, msg := s.verifyJWT(cred, c.now)
		if msg != "" {
			r := c.errResp(http.StatusUnauthorized, msg)
			return nil, &r
		}
		return &identity{kind: idApp, app: app}, nil
	}
	s.mu.RLock()
	tok := s.w.tokens[cred]
	user := s.w.userTokenFor(cred, c.now)
	s.mu.RUnlock()
	if user != nil {
		return &identity{kind: idUser, user: user}, nil
	}
	if tok == nil || !c.now.Before(tok.expires) {
		r := c.errResp(http.StatusUnauthorized, "Bad credentials")
		return nil, &r
	}
	return &identity{kind: idInstallation, tok: tok}, nil
}

// verifyJWT checks an app JWT as GitHub does, with the key of the app its
// issuer names, and returns the app or GitHub's message for a rejected one.
func (s *Server) verifyJWT(raw string, now time.Time) (*appInfo, string) {
	const undecodable = "A JSON web token could not be decoded"
	claims := jwt.MapClaims{}
	var app *appInfo
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		app = s.jwtIssuer(t.Claims.(jwt.MapClaims))
		return app.reg.key, nil
	})
	if err != nil {
		return nil, undecodable
	}
	msg := s.checkClaims(claims, app, now)
	if msg != "" {
		return nil, msg
	}
	return app, ""
}

// checkClaims applies GitHub's rules to a JWT's claims.
func (s *Server) checkClaims(claims jwt.MapClaims, app *appInfo, now time.Time) string {
	num := func(k string) (int64, bool) {
		switch v := claims[k].(type) {
		case float64:
			return int64(v), v == float64(int64(v))
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
		return 0, false
	}
	exp, ok := num("exp")
	if !ok || !now.Before(time.Unix(exp, 0)) {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	if time.Unix(exp, 0).After(now.Add(maxJWTAhead + jwtLeeway)) {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	iat, ok := num("iat")
	if !ok || time.Unix(iat, 0).After(now.Add(jwtLeeway)) {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	}
	iss, ok := num("iss")
	if !ok || iss != app.id {
		return "Integration not found"
	}
	return ""
}

// jwtIssuer is the served app a JWT's iss names; an unknown issuer is
// checked against the scenario app's key (and then rejected by iss).
func (s *Server) jwtIssuer(claims jwt.MapClaims) *appInfo {
	var id int64
	switch v := claims["iss"].(type) {
	case float64:
		id = int64(v)
	case string:
		id, _ = strconv.ParseInt(v, 10, 64)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.w.servedApp(id); a != nil {
		return a
	}
	return s.w.app
}

// checkAuthKind rejects credentials of the wrong kind for the route.
func (c *reqCtx) checkAuthKind() *resp {
	var r resp
	switch {
	case c.route.auth == authAny:
		return nil
	case c.route.auth == authJWT && c.id.kind == idApp:
		return nil
	case c.route.auth == authJWT && c.id.kind == idAnonymous:
		r = c.errResp(http.StatusUnauthorized, "Requires authentication")
	case c.route.auth == authJWT:
		r = c.errResp(http.StatusUnauthorized, "A JSON web token could not be decoded")
	case c.id.kind == idApp:
		// An app JWT only works on /app endpoints.
		r = c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	case c.id.kind == idUser && c.route.write:
		// The emulator's user tokens read only.
		r = c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	case c.id.kind == idAnonymous && (c.route.write || c.params["owner"] == ""):
		r = c.errResp(http.StatusUnauthorized, "Requires authentication")
	default:
		return nil
	}
	return &r
}

// canSee reports whether the caller may see a repository at all; GitHub
// answers 404 otherwise, never 403.
func (c *reqCtx) canSee(r *repo) bool {
	switch c.id.kind {
	case idApp:
		return c.route.auth == authJWT
	case idInstallation:
		return c.id.tok.reaches(r)
	case idUser:
		return c.userSees(r)
	default:
		return !r.private
	}
}

// checkPermission answers 403 "Resource not accessible by integration" when
// no permission of the token allows the route.
func (c *reqCtx) checkPermission() *resp {
	if len(c.route.perms) == 0 || c.id.kind == idApp {
		return nil
	}
	if c.id.kind == idUser {
		return c.checkUserPermission()
	}
	if c.id.kind == idAnonymous {
		for _, p := range c.route.perms {
			if strings.HasPrefix(p, "administration:") {
				r := c.errResp(http.StatusUnauthorized, "Requires authentication")
				return &r
			}
		}
		return nil
	}
	for _, p := range c.route.perms {
		if c.id.tok.allows(p) {
			return nil
		}
	}
	r := c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	return &r
}

const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newTokenValue() string {
	b := make([]byte, 36)
	max := big.NewInt(int64(len(tokenChars)))
	for i := range b {
		n, _ := rand.Int(rand.Reader, max)
		b[i] = tokenChars[n.Int64()]
	}
	return "ghs_" + string(b)
}

// issueToken stores a new installation token, dropping expired ones (and, past
// maxTokens, the oldest) so that the table stays bounded.
func (w *world) issueToken(in *installation, perms map[string]string, repos map[int64]bool, now time.Time) *token {
	if len(w.tokens) >= maxTokens {
		var oldest *token
		for k, t := range w.tokens {
			if !now.Before(t.expires) {
				delete(w.tokens, k)
				continue
			}
			if oldest == nil || t.expires.Before(oldest.expires) {
				oldest = t
			}
		}
		if len(w.tokens) >= maxTokens && oldest != nil {
			delete(w.tokens, oldest.value)
		}
	}
	t := &token{value: newTokenValue(), inst: in, expires: now.Add(tokenTTL).Truncate(time.Second), perms: perms, repos: repos}
	w.tokens[t.value] = t
	return t
}

var (
	keyOnce sync.Once
	keyVal  *rsa.PrivateKey
	keyErr  error
)

// generatedKey makes one 2048-bit key per process: generating one takes long
// enough to slow a test suite that builds many servers.
func generatedKey() (*rsa.PrivateKey, error) {
	keyOnce.Do(func() {
		keyVal, keyErr = rsa.GenerateKey(rand.Reader, 2048)
		if keyErr != nil {
			keyErr = fmt.Errorf("failed to generate the app's private key: %w", keyErr)
		}
	})
	return keyVal, keyErr
}
