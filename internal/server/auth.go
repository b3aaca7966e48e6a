package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
)

// TokenPrefix starts every API token, so that secret scanners can find
// leaked ones.
const TokenPrefix = "mlt_"

// tokenLen is the length of "mlt_" + 32 bytes in unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// GenerateToken returns a new API token secret: "mlt_" and 32 random bytes
// in base64url.
func GenerateToken() (string, error) {
	b, err := randomString(32)
	if err != nil {
		return "", err
	}
	return TokenPrefix + b, nil
}

// HashToken is what the store keeps of a token or session secret: the hex
// sha256. The secrets carry 256 bits of randomness, so a fast hash is
// enough; a slow one would only slow every request.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// WellFormedToken reports whether s has the shape of a token, so that
// garbage is refused without a database lookup.
func WellFormedToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// NewToken makes a token record and its secret. The caller stores the
// record (store.CreateToken) and shows the secret once.
func NewToken(name, role, owner, system, createdBy string, now time.Time) (secret string, t *store.Token, err error) {
	if secret, err = GenerateToken(); err != nil {
		return "", nil, err
	}
	id, err := randomHex(8)
	if err != nil {
		return "", nil, err
	}
	return secret, &store.Token{
		ID: "tok_" + id, Name: name, Role: role, Owner: owner, System: system,
		Hash: HashToken(secret), CreatedAt: now.UTC(), CreatedBy: createdBy,
	}, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Bootstrap creates the first admin token when the store has none, and
// returns its secret; created is false (and the secret empty) when a token
// already exists. Several instances may start at once: the store decides
// which one creates it.
func (s *Server) Bootstrap(ctx context.Context) (secret string, created bool, err error) {
	secret, t, err := NewToken("admin", store.RoleAdmin, "", "", "bootstrap", s.now())
	if err != nil {
		return "", false, err
	}
	created, err = s.store.BootstrapAdmin(ctx, t)
	if err != nil || !created {
		return "", false, err
	}
	s.audit(ctx, "system", t.ID, "bootstrap", "", map[string]any{"token": t.ID, "name": t.Name, "role": t.Role})
	return secret, true, nil
}

// roleRank orders the roles for reading: each sees what the weaker ones see.
func roleRank(role string) int {
	switch role {
	case store.RoleViewer:
		return 1
	case store.RoleSubmitter:
		return 2
	case store.RoleReviewer:
		return 3
	case store.RoleAdmin:
		return 4
	}
	return 0
}

func atLeast(role, min string) bool { return roleRank(role) >= roleRank(min) && roleRank(role) > 0 }

func principalOf(t *store.Token) *web.Principal {
	return &web.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Owner: t.Owner, System: t.System}
}

// bearer authenticates an API request by its Authorization header. API
// requests are never authenticated by the session cookie, so a page cannot
// be tricked into calling the API with the user's session.
func (s *Server) bearer(r *http.Request) (*web.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthenticated("missing token: send Authorization: Bearer <token>")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthenticated("the Authorization header must be: Bearer <token>")
	}
	secret = strings.TrimSpace(secret)
	if !WellFormedToken(secret) {
		return nil, unauthenticated("invalid or revoked token")
	}
	// The store does not find revoked tokens; the check below is for a
	// store that would.
	t, err := s.store.TokenByHash(r.Context(), HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthenticated("invalid or revoked token")
	}
	if err != nil {
		return nil, err
	}
	if !t.RevokedAt.IsZero() {
		return nil, unauthenticated("invalid or revoked token")
	}
	return principalOf(t), nil
}

// tokenByID finds a token by id. The store interface has no such lookup;
// a store that adds one is used, otherwise the (short) token list is read.
func (s *Server) tokenByID(ctx context.Context, id string) (*store.Token, error) {
	if ts, ok := s.store.(interface {
		TokenByID(ctx context.Context, id string) (*store.Token, error)
	}); ok {
		return ts.TokenByID(ctx, id)
	}
	all, err := s.store.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, store.ErrNotFound
}

// Principal returns the signed-in user of a page request, nil when there
// is none (no cookie, an expired session, a revoked token). The lookup is
// done once per request.
func (s *Server) Principal(r *http.Request) *web.Principal {
	info := infoOf(r)
	if info.resolved {
		return info.principal
	}
	p, err := s.session(r)
	if err != nil && !errors.Is(err, errNoSession) && !errors.Is(err, store.ErrNotFound) {
		s.log.LogAttrs(r.Context(), slog.LevelError, "session lookup failed", slogErr(err))
	}
	info.principal, info.resolved = p, true
	return p
}

func (s *Server) session(r *http.Request) (*web.Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, errNoSession
	}
	sess, err := s.store.Session(r.Context(), HashToken(c.Value), s.now())
	if err != nil {
		return nil, err
	}
	t, err := s.tokenByID(r.Context(), sess.TokenID)
	if err != nil {
		return nil, err
	}
	if !t.RevokedAt.IsZero() {
		return nil, errNoSession
	}
	p := principalOf(t)
	p.CSRF = sess.CSRF
	return p, nil
}

// errNoSession is a request without a usable session cookie.
var errNoSession = errors.New("no session")

// ErrLogin is what Login returns for a secret that opens nothing; the page
// shows it without saying whether the token exists.
var ErrLogin = errors.New("invalid or revoked token")

// Login checks a token secret, starts a 12-hour session and sets its
// cookie. A session cookie the browser already had is ended first, so a
// planted cookie cannot survive a sign-in.
func (s *Server) Login(w http.ResponseWriter, r *http.Request, secret string) error {
	secret = strings.TrimSpace(secret)
	if !WellFormedToken(secret) {
		return ErrLogin
	}
	t, err := s.store.TokenByHash(r.Context(), HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return ErrLogin
	}
	if err != nil {
		return err
	}
	if !t.RevokedAt.IsZero() {
		return ErrLogin
	}
	if old, err := r.Cookie(SessionCookie); err == nil && old.Value != "" && len(old.Value) <= 100 {
		if err := s.store.DeleteSession(r.Context(), HashToken(old.Value)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	cookie, err := randomString(32)
	if err != nil {
		return err
	}
	csrf, err := randomString(32)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	sess := &store.Session{Hash: HashToken(cookie), TokenID: t.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.store.CreateSession(r.Context(), sess); err != nil {
		return err
	}
	s.audit(r.Context(), t.Name, t.ID, "login", "", map[string]any{"role": t.Role})
	http.SetCookie(w, s.cookie(r, cookie, int(SessionTTL/time.Second)))
	p := principalOf(t)
	p.CSRF = csrf
	info := infoOf(r)
	info.principal, info.resolved = p, true
	return nil
}

// Logout ends the request's session and clears the cookie.
func (s *Server) Logout(w http.ResponseWriter, r *http.Request) {
	p := s.Principal(r)
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" && len(c.Value) <= 100 {
		if err := s.store.DeleteSession(r.Context(), HashToken(c.Value)); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.LogAttrs(r.Context(), slog.LevelError, "ending a session failed", slogErr(err))
		}
	}
	if p != nil {
		s.audit(r.Context(), p.Name, p.TokenID, "logout", "", nil)
	}
	http.SetCookie(w, s.cookie(r, "", -1))
	info := infoOf(r)
	info.principal, info.resolved = nil, true
}

func (s *Server) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.cfg.SecureCookies || r.TLS != nil,
	}
}

// servePages guards the pages and hands them to package web. A request
// that changes state must come from this site (Sec-Fetch-Site / Origin)
// and, when it carries a session, post the session's CSRF token as the
// form field "csrf". Sign-in has no session yet; the origin check covers
// it.
func (s *Server) servePages(w http.ResponseWriter, r *http.Request) {
	if !safeMethod(r.Method) {
		if err := s.csrf.Check(r); err != nil {
			plainError(w, http.StatusForbidden, "forbidden: cross-origin request")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, smallBody)
		if r.URL.Path != "/login" {
			if p := s.Principal(r); p != nil {
				if err := r.ParseForm(); err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						plainError(w, http.StatusRequestEntityTooLarge, "request body too large")
						return
					}
					plainError(w, http.StatusBadRequest, "bad request: the form cannot be read")
					return
				}
				if !validCSRF(p.CSRF, r.PostForm.Get("csrf")) {
					plainError(w, http.StatusForbidden, "forbidden: missing or invalid CSRF token; reload the page and try again")
					return
				}
			}
		}
	}
	s.pages.ServeHTTP(w, r)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func validCSRF(want, got string) bool {
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// inScope reports whether a submitter token may push a system with this id
// and owner. A scope names an owner, a system, or both (then both must
// match); a submitter token without either may push nothing.
func inScope(p *web.Principal, id, owner string) bool {
	if p.Owner == "" && p.System == "" {
		return false
	}
	return (p.Owner == "" || p.Owner == owner) && (p.System == "" || p.System == id)
}

// audit appends an audit entry; a failure is logged, not returned, because
// the action it records has already happened.
func (s *Server) audit(ctx context.Context, actor, tokenID, action, system string, detail map[string]any) {
	d := "{}"
	if detail != nil {
		b, err := json.Marshal(detail)
		if err == nil {
			d = string(b)
		}
	}
	e := &store.AuditEntry{At: s.now().UTC(), Actor: actor, TokenID: tokenID, Action: action, System: system, Detail: d}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit append failed", slog.String("action", action), slogErr(err))
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
