package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/store"
)

// TestAuthorization is the table of who may do what. Every row runs on a
// fresh server with the same cast:
//
//	viewer                    reads
//	subA  submitter  owner A  pushes A's systems
//	subB  submitter  owner B  pushes B's systems
//	subS  submitter  system sentiment-api only
//	rev   reviewer            decides
//	admin                     everything
func TestAuthorization(t *testing.T) {
	const ownerA, ownerB = "ml-platform@example.com", "team-b@example.com"
	forEachDialect(t, func(t *testing.T, dialect string) {
		board := policy(t, "board")
		sentiment := exampleModel(t, "sentiment-api") // owner A
		fraud := exampleModel(t, "fraud-detection")   // owner fraud-ml@bank.example
		pushOf := func(src []byte) api.PushRequest { return buildPush(t, "system.yaml", src, board) }
		until := day.AddDate(0, 1, 0).Format("2006-01-02")

		type cast map[string]string
		setup := func(t *testing.T) (*env, cast) {
			e := newEnv(t, dialect)
			c := cast{
				"admin":  e.admin,
				"viewer": e.token("viewer", store.RoleViewer, "", ""),
				"subA":   e.token("sub-a", store.RoleSubmitter, ownerA, ""),
				"subB":   e.token("sub-b", store.RoleSubmitter, ownerB, ""),
				"subS":   e.token("sub-s", store.RoleSubmitter, "", "sentiment-api"),
				"rev":    e.token("rev", store.RoleReviewer, "", ""),
			}
			// Owner A's sentiment-api exists, escalated, pushed by subA.
			want(t, e.do("POST", "/api/v1/push", c["subA"], pushOf(sentiment)), http.StatusCreated, nil)
			return e, c
		}
		cases := []struct {
			name   string
			who    string
			method string
			path   string
			body   func() any
			code   int
		}{
			{"viewer cannot push", "viewer", "POST", "/api/v1/push", func() any { return pushOf(sentiment) }, 403},
			{"reviewer cannot push", "rev", "POST", "/api/v1/push", func() any { return pushOf(sentiment) }, 403},
			{"viewer cannot decide", "viewer", "POST", "/api/v1/systems/sentiment-api/decisions", func() any { return api.Decision{Decision: "approved", Until: until} }, 403},
			{"viewer cannot create tokens", "viewer", "POST", "/api/v1/tokens", func() any { return api.TokenRequest{Name: "x", Role: "admin"} }, 403},
			{"viewer cannot list tokens", "viewer", "GET", "/api/v1/tokens", nil, 403},
			{"viewer cannot revoke tokens", "viewer", "DELETE", "/api/v1/tokens/tok_x", nil, 403},
			{"viewer cannot read the audit log", "viewer", "GET", "/api/v1/audit", nil, 403},
			{"viewer reads systems", "viewer", "GET", "/api/v1/systems", nil, 200},
			{"viewer reads decisions", "viewer", "GET", "/api/v1/systems/sentiment-api/decisions", nil, 200},
			{"submitter cannot decide", "subA", "POST", "/api/v1/systems/sentiment-api/decisions", func() any { return api.Decision{Decision: "rejected"} }, 403},
			{"submitter cannot create tokens", "subA", "POST", "/api/v1/tokens", func() any { return api.TokenRequest{Name: "x", Role: "admin"} }, 403},
			{"reviewer cannot create tokens", "rev", "POST", "/api/v1/tokens", func() any { return api.TokenRequest{Name: "x", Role: "admin"} }, 403},
			{"submitter A pushes its own system", "subA", "POST", "/api/v1/push", func() any {
				return pushOf(replace(t, sentiment, "criticality: high", "criticality: critical"))
			}, 201},
			{"submitter A cannot push B's system", "subA", "POST", "/api/v1/push", func() any { return pushOf(fraud) }, 403},
			{"submitter B cannot push A's system", "subB", "POST", "/api/v1/push", func() any { return pushOf(sentiment) }, 403},
			{"submitter B cannot take A's system over", "subB", "POST", "/api/v1/push", func() any { return pushOf(withOwner(t, sentiment, ownerB)) }, 403},
			{"submitter A cannot move its system to B", "subA", "POST", "/api/v1/push", func() any { return pushOf(withOwner(t, sentiment, ownerB)) }, 403},
			{"system-scoped submitter pushes its system", "subS", "POST", "/api/v1/push", func() any {
				return pushOf(replace(t, sentiment, "criticality: high", "criticality: critical"))
			}, 201},
			{"system-scoped submitter cannot push another", "subS", "POST", "/api/v1/push", func() any { return pushOf(fraud) }, 403},
			{"reviewer decides", "rev", "POST", "/api/v1/systems/sentiment-api/decisions", func() any { return api.Decision{Decision: "changes-requested", Comment: "add a rate limit"} }, 201},
			{"admin pushes anything", "admin", "POST", "/api/v1/push", func() any { return pushOf(fraud) }, 201},
			{"no token", "", "GET", "/api/v1/systems", nil, 401},
			{"no token on metrics", "", "GET", "/metrics", nil, 401},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e, who := setup(t)
				var body any
				if c.body != nil {
					body = c.body()
				}
				w := e.do(c.method, c.path, who[c.who], body)
				if w.Code != c.code {
					t.Fatalf("%s %s as %s: %d, want %d: %s", c.method, c.path, c.who, w.Code, c.code, w.Body.String())
				}
				if c.code == 401 && w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}

		t.Run("the pusher cannot approve its own escalation", func(t *testing.T) {
			e, who := setup(t)
			// The same name in another case, on a reviewer token: the same person.
			subARev := e.token("SUB-A", store.RoleReviewer, "", "")
			approve := api.Decision{Decision: "approved", Until: until}
			wantError(t, e.do("POST", "/api/v1/systems/sentiment-api/decisions", subARev, approve), http.StatusForbidden, "cannot decide on an escalation you pushed")
			// An admin who pushed the latest version cannot decide on it either.
			want(t, e.do("POST", "/api/v1/push", who["admin"], pushOf(replace(t, sentiment, "criticality: high", "criticality: critical"))), http.StatusCreated, nil)
			wantError(t, e.do("POST", "/api/v1/systems/sentiment-api/decisions", who["admin"], approve), http.StatusForbidden, "cannot decide on an escalation you pushed")
			want(t, e.do("POST", "/api/v1/systems/sentiment-api/decisions", who["rev"], approve), http.StatusCreated, nil)
		})

		t.Run("bad tokens", func(t *testing.T) {
			e, who := setup(t)
			for _, h := range []string{"", "Bearer", "Bearer ", "Basic " + who["admin"], "Bearer mlt_short", "Bearer " + who["admin"] + "x", "Bearer mlt_" + strings.Repeat("A", 43), "bearer\t" + who["admin"]} {
				req := httptest.NewRequest("GET", "/api/v1/systems", nil)
				if h != "" {
					req.Header.Set("Authorization", h)
				}
				wantError(t, e.serve(req), http.StatusUnauthorized)
			}
			// A session cookie does not authenticate the API.
			cookie := login(t, e, who["admin"])
			req := httptest.NewRequest("GET", "/api/v1/systems", nil)
			req.AddCookie(cookie)
			wantError(t, e.serve(req), http.StatusUnauthorized)
		})
	})
}

// login signs in through Server.Login, as the login page does, and
// returns the session cookie.
func login(t testing.TB, e *env, secret string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/login", nil)
	if err := e.srv.Login(w, r, secret); err != nil {
		t.Fatalf("Login: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != int(SessionTTL/time.Second) {
				t.Errorf("session cookie attributes: %+v", c)
			}
			return c
		}
	}
	t.Fatal("Login set no session cookie")
	return nil
}

func principalFor(e *env, c *http.Cookie) string {
	r := httptest.NewRequest("GET", "/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	if p := e.srv.Principal(r); p != nil {
		return p.Name + "/" + p.Role
	}
	return ""
}

func TestSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		rev := e.token("rev", store.RoleReviewer, "", "")
		if err := e.srv.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "mlt_nope"); err != ErrLogin {
			t.Errorf("Login with a bad secret: %v", err)
		}
		c := login(t, e, rev)
		if got := principalFor(e, c); got != "rev/reviewer" {
			t.Fatalf("principal %q", got)
		}
		if got := principalFor(e, &http.Cookie{Name: SessionCookie, Value: "forged"}); got != "" {
			t.Errorf("a forged cookie signs in as %q", got)
		}
		e.clock.Add(SessionTTL + time.Minute)
		if got := principalFor(e, c); got != "" {
			t.Errorf("an expired session signs in as %q", got)
		}
		e.clock.Add(-SessionTTL - time.Minute)

		// Revoking the token ends its sessions.
		var toks []api.Token
		want(t, e.do("GET", "/api/v1/tokens", e.admin, nil), http.StatusOK, &toks)
		for _, tk := range toks {
			if tk.Name == "rev" {
				want(t, e.do("DELETE", "/api/v1/tokens/"+tk.ID, e.admin, nil), http.StatusNoContent, nil)
			}
		}
		if got := principalFor(e, c); got != "" {
			t.Errorf("the session of a revoked token signs in as %q", got)
		}
		if err := e.srv.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), rev); err != ErrLogin {
			t.Errorf("Login with a revoked token: %v", err)
		}

		// Logout ends the session server-side, not just the cookie.
		c = login(t, e, e.admin)
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		e.srv.Logout(w, r)
		if got := principalFor(e, c); got != "" {
			t.Errorf("after logout the old cookie signs in as %q", got)
		}
		if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
			t.Errorf("logout cookies: %+v", cs)
		}
		var audit []api.AuditEntry
		want(t, e.do("GET", "/api/v1/audit?action=login", e.admin, nil), http.StatusOK, &audit)
		if len(audit) != 2 {
			t.Errorf("%d login audit entries, want 2", len(audit))
		}
	})
}

func TestCSRF(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		c := login(t, e, e.admin)
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		p := e.srv.Principal(r)
		if p == nil || len(p.CSRF) < 32 {
			t.Fatalf("principal %+v has no CSRF token", p)
		}
		post := func(form url.Values, site string) int {
			r := httptest.NewRequest("POST", "/logout", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if site != "" {
				r.Header.Set("Sec-Fetch-Site", site)
			}
			r.AddCookie(c)
			return e.serve(r).Code
		}
		if code := post(url.Values{}, "same-origin"); code != http.StatusForbidden {
			t.Errorf("POST without csrf: %d", code)
		}
		if code := post(url.Values{"csrf": {"wrong"}}, "same-origin"); code != http.StatusForbidden {
			t.Errorf("POST with a wrong csrf: %d", code)
		}
		if code := post(url.Values{"csrf": {p.CSRF}}, "cross-site"); code != http.StatusForbidden {
			t.Errorf("cross-site POST with the right csrf: %d", code)
		}
		if got := principalFor(e, c); got == "" {
			t.Fatal("a rejected POST ended the session")
		}
		if code := post(url.Values{"csrf": {p.CSRF}}, "same-origin"); code == http.StatusForbidden {
			t.Errorf("POST with the right csrf: %d", code)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		for _, r := range []*http.Request{
			request("GET", "/api/v1/kpis", e.admin, nil),
			request("GET", "/api/v1/kpis", "", nil),
			request("GET", "/api/v1/nowhere", e.admin, nil),
			request("GET", "/healthz", "", nil),
			request("GET", "/metrics", e.admin, nil),
			request("GET", "/login", "", nil),
			request("GET", "/", "", nil),
		} {
			w := e.serve(r)
			h := w.Header()
			for k, v := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			} {
				if h.Get(k) != v {
					t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL.Path, k, h.Get(k), v)
				}
			}
			if r.Header.Get("Authorization") != "" && h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: authenticated answer with Cache-Control %q", r.URL.Path, h.Get("Cache-Control"))
			}
		}
	})
}

// TestLogsHoldNoSecrets captures the server's log while tokens, cookies
// and bodies go through it, then looks for them.
func TestLogsHoldNoSecrets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		sub := e.token("ci", store.RoleSubmitter, "ml-platform@example.com", "")
		req := buildPush(t, "system.yaml", exampleModel(t, "sentiment-api"), policy(t, "standard"))
		want(t, e.do("POST", "/api/v1/push", sub, req), http.StatusCreated, nil)
		e.do("GET", "/api/v1/systems", sub, nil)
		e.do("GET", "/api/v1/systems", sub+"x", nil)
		e.do("POST", "/api/v1/push", sub, `{"model": "secret-body-text`)
		cookie := login(t, e, e.admin)
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookie)
		e.serve(r)
		r = httptest.NewRequest("POST", "/logout", strings.NewReader("csrf=bad-csrf-value"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(cookie)
		e.serve(r)

		logs := e.logs.String()
		if !strings.Contains(logs, `"route":"POST /api/v1/push"`) || !strings.Contains(logs, `"token":"ci"`) || !strings.Contains(logs, `"status":201`) {
			t.Errorf("the log lacks the route, token name or status:\n%s", logs)
		}
		for _, secret := range []string{sub, e.admin, HashToken(sub), cookie.Value, "Bearer", "secret-body-text", "bad-csrf-value", "Authorization"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log contains %q", secret)
			}
		}
	})
}

func TestPushLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, func(c *Config) { c.PushLimit = 2 })
		sub := e.token("ci", store.RoleSubmitter, "ml-platform@example.com", "")
		other := e.token("ci2", store.RoleSubmitter, "ml-platform@example.com", "")
		std := policy(t, "standard")
		src := exampleModel(t, "sentiment-api")
		for i, crit := range []string{"low", "medium"} {
			want(t, e.do("POST", "/api/v1/push", sub, buildPush(t, "system.yaml", replace(t, src, "criticality: high", "criticality: "+crit), std)), http.StatusCreated, nil)
			e.clock.Add(time.Duration(i+1) * time.Second)
		}
		w := e.do("POST", "/api/v1/push", sub, buildPush(t, "system.yaml", src, std))
		wantError(t, w, http.StatusTooManyRequests, "limit is 2")
		if ra := w.Header().Get("Retry-After"); ra == "" {
			t.Error("429 without Retry-After")
		}
		// The limit is per token.
		want(t, e.do("POST", "/api/v1/push", other, buildPush(t, "system.yaml", src, std)), http.StatusCreated, nil)
		// A minute later the token may push again.
		e.clock.Add(time.Minute)
		want(t, e.do("POST", "/api/v1/push", sub, buildPush(t, "system.yaml", replace(t, src, "criticality: high", "criticality: critical"), std)), http.StatusCreated, nil)
	})
}

func TestBodyLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, func(c *Config) { c.MaxBody = 64 << 10 })
		req := buildPush(t, "system.yaml", exampleModel(t, "sentiment-api"), policy(t, "standard"))
		if b, _ := json.Marshal(req); len(b) <= 64<<10 {
			t.Fatalf("the push is only %d bytes; the test needs one above the limit", len(b))
		}
		wantError(t, e.do("POST", "/api/v1/push", e.admin, req), http.StatusRequestEntityTooLarge, "limit")
		// Other bodies have their own, smaller bound.
		big := api.Decision{Decision: "rejected", Comment: strings.Repeat("x", 70<<10)}
		wantError(t, e.do("POST", "/api/v1/systems/sentiment-api/decisions", e.admin, big), http.StatusRequestEntityTooLarge)
	})
}

func TestHostileInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		std := policy(t, "standard")
		src := exampleModel(t, "sentiment-api")
		xss := replace(t, src, "name: Sentiment Analysis API", `name: "<script>alert(1)</script>"`)
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", xss, std)), http.StatusCreated, nil)
		for _, path := range []string{"/api/v1/systems/sentiment-api", "/api/v1/systems", "/api/v1/systems/sentiment-api/versions/1?include=model"} {
			w := e.do("GET", path, e.admin, nil)
			if strings.Contains(w.Body.String(), "<script>") || !strings.Contains(w.Body.String(), `\u003cscript\u003e`) {
				t.Errorf("%s does not escape the name: %s", path, w.Body.String()[:min(300, w.Body.Len())])
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", path, ct)
			}
		}

		good := buildPush(t, "system.yaml", src, std)
		mutate := func(f func(m map[string]any)) []byte {
			b, _ := json.Marshal(good)
			var m map[string]any
			json.Unmarshal(b, &m)
			f(m)
			b, _ = json.Marshal(m)
			return b
		}
		analysisWith := func(f func(a map[string]any)) []byte {
			return mutate(func(m map[string]any) {
				a := m["analysis"].(map[string]any)
				f(a)
			})
		}
		firstThreat := func(f func(th map[string]any)) []byte {
			return analysisWith(func(a map[string]any) { f(a["threats"].([]any)[0].(map[string]any)) })
		}
		cases := []struct {
			name string
			body any
			says string
		}{
			{"not JSON", "{model:", "invalid JSON"},
			{"empty body", "", "empty"},
			{"an array", "[]", "invalid JSON"},
			{"trailing data", mutateString(mutate(func(map[string]any) {}), "{}"), "after the object"},
			{"unknown field", mutate(func(m map[string]any) { m["admin"] = true }), "unknown field"},
			{"model of the wrong type", mutate(func(m map[string]any) { m["model"] = 42 }), "model"},
			{"no model", mutate(func(m map[string]any) { delete(m, "model") }), "model is empty"},
			{"invalid YAML", mutate(func(m map[string]any) { m["model"] = "mlthreat: 1\nsystem: [\n" }), "system.yaml:"},
			{"invalid model", mutate(func(m map[string]any) {
				m["model"] = strings.Replace(string(src), "kind: inference-api", "kind: quantum-oracle", 1)
			}), "system.yaml:"},
			{"no analysis", mutate(func(m map[string]any) { delete(m, "analysis") }), "analysis is missing"},
			{"analysis not an object", mutate(func(m map[string]any) { m["analysis"] = "threats" }), "analysis must be a JSON object"},
			{"analysis of another system", analysisWith(func(a map[string]any) { a["system"].(map[string]any)["id"] = "fraud-detection" }), "another model"},
			{"threats of the wrong type", analysisWith(func(a map[string]any) { a["threats"] = map[string]any{} }), "threats"},
			{"unknown severity", firstThreat(func(th map[string]any) { th["residual"].(map[string]any)["severity"] = "apocalyptic" }), "apocalyptic"},
			{"unknown status", firstThreat(func(th map[string]any) { th["status"] = "ignored" }), "status"},
			{"score of the wrong type", firstThreat(func(th map[string]any) { th["residual"].(map[string]any)["score"] = "25" }), "score"},
			{"bad technique", firstThreat(func(th map[string]any) { th["atlas"].(map[string]any)["technique"] = "<img src=x>" }), "technique"},
			{"bad threat id", firstThreat(func(th map[string]any) { th["id"] = "T 1; DROP TABLE" }), "threat id"},
			{"duplicate threat", analysisWith(func(a map[string]any) { ts := a["threats"].([]any); a["threats"] = append(ts, ts[0]) }), "twice"},
			{"control characters", firstThreat(func(th map[string]any) { th["title"] = "a\x1b[31mred" }), "title"},
			{"gate of another system", mutate(func(m map[string]any) { m["gate"].(map[string]any)["system"] = "other" }), "gate.system"},
			{"unknown verdict", mutate(func(m map[string]any) { m["gate"].(map[string]any)["verdict"] = "waived" }), "waived"},
			{"gap coverage out of range", mutate(func(m map[string]any) {
				m["gap"].(map[string]any)["functions"].([]any)[0].(map[string]any)["coverage"] = 7
			}), "coverage"},
			{"unknown RMF function", mutate(func(m map[string]any) {
				m["gap"].(map[string]any)["functions"].([]any)[0].(map[string]any)["id"] = "PANIC"
			}), "PANIC"},
			{"negative base version", mutate(func(m map[string]any) { m["base_version"] = -1 }), "base_version"},
			{"bidi override in the name", mutate(func(m map[string]any) {
				m["model"] = strings.Replace(string(src), "name: Sentiment Analysis API", "name: \"evil\u202egnp.exe\"", 1)
			}), "system.name"},
			{"file name with a newline", mutate(func(m map[string]any) { m["file"] = "a\nb.yaml" }), "file"},
			{"invalid evidence", mutate(func(m map[string]any) { m["evidence"] = "mlthreat_evidence: 1\nrecords: [{id: nope}]\n" }), "evidence"},
			{"review of another system", mutate(func(m map[string]any) {
				m["review"] = map[string]any{"mlthreat_review": 1, "system": "other", "date": "2026-01-01"}
			}), "review.system"},
			{"review with unknown fields", mutate(func(m map[string]any) {
				m["review"] = map[string]any{"mlthreat_review": 1, "system": "sentiment-api", "date": "2026-01-01", "evil": 1}
			}), "review"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				w := e.do("POST", "/api/v1/push", e.admin, c.body)
				wantError(t, w, http.StatusBadRequest, c.says)
			})
		}
		t.Run("diagnostics", func(t *testing.T) {
			body := mutate(func(m map[string]any) {
				m["model"] = strings.Replace(string(src), "kind: inference-api", "kind: quantum-oracle", 1)
			})
			er := wantError(t, e.do("POST", "/api/v1/push", e.admin, body), http.StatusBadRequest, "invalid")
			if len(er.Diagnostics) == 0 || !strings.HasPrefix(er.Diagnostics[0], "system.yaml:") || strings.Count(er.Diagnostics[0], ":") < 3 {
				t.Errorf("diagnostics %q are not file:line:col", er.Diagnostics)
			}
		})
		t.Run("not JSON content type", func(t *testing.T) {
			r := request("POST", "/api/v1/push", e.admin, good)
			r.Header.Set("Content-Type", "text/plain")
			wantError(t, e.serve(r), http.StatusUnsupportedMediaType)
		})
		var v []api.Version
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/versions", e.admin, nil), http.StatusOK, &v)
		if len(v) != 1 {
			t.Errorf("rejected pushes left %d versions", len(v))
		}
	})
}

func mutateString(b []byte, suffix string) string { return string(b) + suffix }

func TestPanicIsA500(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), metrics: newMetrics()}
	h := s.observe(s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom at /secret/path") })))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), "goroutine") {
		t.Errorf("panic answered %d %q", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Error("the panic is not logged")
	}
}
