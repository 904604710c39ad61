package fakegithub

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAPI sends arbitrary methods, paths and bodies with a valid token: the
// emulator must answer JSON without panicking.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct{ method, path, body string }{
		{"GET", "/repos/Codertocat/Hello-World/pulls?page=9223372036854775807&per_page=-1", ""},
		{"GET", "/repos/Codertocat/Hello-World/contents/%2e%2e/x?ref=", ""},
		{"GET", "/repos/Codertocat/Hello-World/commits/ec26c3e/status", ""},
		{"GET", "/repos/Codertocat/Hello-World/compare/...", ""},
		{"POST", "/repos/Codertocat/Hello-World/statuses/ec26c3e57ca3a959ca5aad62de7213c562f8c821", `{"state":5}`},
		{"POST", "/repos/Codertocat/Hello-World/check-runs", `{"name":"x","head_sha":"ec26c3e57ca3a959ca5aad62de7213c562f8c821","status":"completed"}`},
		{"PATCH", "/repos/Codertocat/Hello-World/check-runs/1", `[]`},
		{"POST", "/repos/Codertocat/Hello-World/issues/comments/x/reactions", `{"content":null}`},
		{"GET", "/repos/Codertocat/Hello-World/branches/%/protection", ""},
		{"DELETE", "/repos/Codertocat/Hello-World", ""},
		{"GET", "//", ""},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	s, err := New(Options{Scenario: mustScenario(f, testScenario)})
	if err != nil {
		f.Fatal(err)
	}
	s.mu.Lock()
	tok := s.w.issueToken(s.w.instByID[7], copyPerms(s.w.instByID[7].perms), nil, s.now())
	s.mu.Unlock()
	h := s.Handler()
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/_fake/") {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "token "+tok.value)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusNotModified {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s %s → %d with a body that is not JSON: %q", method, path, rec.Code, rec.Body.String())
		}
	})
}

func mustScenario(tb testing.TB, data string) *Scenario {
	tb.Helper()
	sc, err := ParseScenario([]byte(data))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}
