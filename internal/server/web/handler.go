package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/app.css
var appCSS []byte

// Default KPI windows when Deps.Windows leaves them zero.
const (
	defaultReviewWindow   = 90 * 24 * time.Hour
	defaultEvidenceWindow = 90 * 24 * time.Hour
	defaultExpiringWindow = 30 * 24 * time.Hour
)

// maxFormBytes bounds a posted form; a decision with its conditions and
// comment is a few KiB.
const maxFormBytes = 64 << 10

type handler struct {
	d     Deps
	log   *slog.Logger
	pages map[string]*template.Template
}

// Handler serves the pages. Every page but /login and /static/ needs a
// signed-in principal; POSTs need the session's CSRF token and a same-origin
// request. It panics when a required dependency is missing, which is a
// programming error caught at start-up.
func Handler(d Deps) http.Handler {
	switch {
	case d.Store == nil, d.Catalog == nil, d.Rules == nil:
		panic("web.Handler: Deps.Store, Catalog and Rules are required")
	case d.Principal == nil, d.Login == nil, d.Logout == nil, d.Decide == nil:
		panic("web.Handler: Deps.Principal, Login, Logout and Decide are required")
	}
	if d.Windows.Review <= 0 {
		d.Windows.Review = defaultReviewWindow
	}
	if d.Windows.Evidence <= 0 {
		d.Windows.Evidence = defaultEvidenceWindow
	}
	if d.Windows.Expiring <= 0 {
		d.Windows.Expiring = defaultExpiringWindow
	}
	h := &handler{d: d, log: d.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.pages = parsePages(h.funcs())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/app.css", serveCSS)
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.Handle("POST /logout", h.auth(h.logout))
	mux.Handle("GET /{$}", h.auth(h.dashboard))
	mux.Handle("GET /systems", h.auth(h.systems))
	mux.Handle("GET /systems/{id}", h.auth(h.system))
	mux.Handle("GET /systems/{id}/report", h.auth(h.report))
	mux.Handle("GET /systems/{id}/versions/{n}", h.auth(h.version))
	mux.Handle("GET /systems/{id}/diff", h.auth(h.diff))
	mux.Handle("GET /reviews", h.auth(h.reviews))
	mux.Handle("GET /reviews/{id}", h.auth(h.review))
	mux.Handle("POST /reviews/{id}/decide", h.auth(h.decide))
	mux.Handle("GET /techniques/{id}", h.auth(h.technique))
	// Cookies are SameSite=Strict and forms carry the CSRF token; this adds
	// the browser's own Sec-Fetch-Site/Origin check, which also covers the
	// login form (no session yet, so no token).
	return http.NewCrossOriginProtection().Handler(mux)
}

func (h *handler) now() time.Time {
	if h.d.Now != nil {
		return h.d.Now()
	}
	return time.Now()
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, "app.css", time.Time{}, bytes.NewReader(appCSS))
}

// pageHandler serves a signed-in principal.
type pageHandler func(w http.ResponseWriter, r *http.Request, p *Principal)

// auth sends a request without a principal to the login page and marks
// the answer uncacheable.
func (h *handler) auth(next pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := h.d.Principal(r)
		if p == nil {
			target := "/login"
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				target += "?" + url.Values{"next": {r.URL.RequestURI()}}.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r, p)
	})
}

// checkCSRF reads the posted form (bounded) and compares its csrf field
// with the session's token in constant time.
func checkCSRF(w http.ResponseWriter, r *http.Request, p *Principal) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return false
	}
	got := r.PostForm.Get("csrf")
	return p.CSRF != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) == 1
}

// view is what every page template receives.
type view struct {
	Title   string
	Section string // nav entry to highlight
	User    *Principal
	Now     time.Time
	Data    any
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t := h.pages[page]
	if t == nil {
		h.fail(w, r, v.User, fmt.Errorf("no page template %q", page))
		return
	}
	v.Now = h.now()
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		h.fail(w, r, v.User, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

type problem struct {
	Status  int
	Message string
}

// fail answers with an error page. Not-found is said plainly; anything
// else is logged and shown without detail.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, p *Principal, err error) {
	pr := problem{Status: http.StatusInternalServerError, Message: "Something went wrong on the server. The error is in its log."}
	switch {
	case errors.Is(err, store.ErrNotFound):
		pr = problem{Status: http.StatusNotFound, Message: "There is nothing here. The system, version or page may not exist."}
	case errors.Is(err, context.Canceled):
		return // the client left
	default:
		h.log.ErrorContext(r.Context(), "web page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.problem(w, r, p, pr)
}

// problem renders an error page with a message meant for the reader.
func (h *handler) problem(w http.ResponseWriter, r *http.Request, p *Principal, pr problem) {
	var b bytes.Buffer
	v := view{Title: http.StatusText(pr.Status), User: p, Now: h.now(), Data: pr}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if t := h.pages["error"]; t != nil && t.ExecuteTemplate(&b, "layout", v) == nil {
		w.WriteHeader(pr.Status)
		_, _ = w.Write(b.Bytes())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(pr.Status)
	_, _ = fmt.Fprintln(w, pr.Message)
}

// --- login and logout

type loginData struct {
	Next  string
	Error string
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if h.d.Principal(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginData{Next: next}})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, "login", view{Title: "Sign in", Data: loginData{Next: "/", Error: "The form could not be read. Try again."}})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" {
		h.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Data: loginData{Next: next, Error: "Enter an API token."}})
		return
	}
	if err := h.d.Login(w, r, secret); err != nil {
		// Which check failed (unknown, revoked, malformed) is not said:
		// it would help someone guessing tokens.
		h.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Data: loginData{Next: next, Error: "That token was not accepted."}})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !checkCSRF(w, r, p) {
		h.problem(w, r, p, problem{Status: http.StatusForbidden, Message: "The form's security token did not match your session. Reload the page and try again."})
		return
	}
	h.d.Logout(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login destination on this site: an absolute path,
// not a scheme-relative or backslash URL a browser would take elsewhere.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
