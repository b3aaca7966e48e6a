// Package server is the portfolio server's HTTP layer: the JSON API under
// /api/v1, bearer-token and browser-session authentication with CSRF
// protection, per-token push limits counted in the database, security
// headers, request logs without secrets, Prometheus metrics and the OpenAPI
// document. The HTML pages come from package web, mounted for every path
// outside the API; persistence is package store. Nothing a second instance
// would need to agree on is kept in memory: tokens, sessions, push counts
// and decisions all live in the store.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
)

// Defaults the server applies to a zero Config field.
const (
	DefaultMaxBody   = 8 << 20
	DefaultPushLimit = 120 // per token per minute; the CLI's --push-limit default
	SessionTTL       = 12 * time.Hour
	SessionCookie    = "mlthreat_session"

	// smallBody bounds every request body but a push's: tokens, decisions
	// and forms are a few hundred bytes.
	smallBody = 64 << 10
)

// Config is what the server is built from. Store is required; a nil
// Catalog, Rules or Crosswalk is loaded from the built-in data.
type Config struct {
	Store     store.Store
	Catalog   *catalog.Catalog
	Rules     *rules.Set
	Crosswalk *gap.Crosswalk
	Windows   store.Windows // zero fields take the defaults (90, 90 and 30 days)

	MaxBody       int64 // largest push body in bytes; 0 = DefaultMaxBody
	PushLimit     int   // pushes per token per minute; 0 = unlimited
	MetricsPublic bool  // serve /metrics without a token
	SecureCookies bool  // mark the session cookie Secure even without TLS (behind a TLS proxy)

	Logger  *slog.Logger     // nil = discard
	Now     func() time.Time // nil = time.Now
	BaseURL string           // e.g. https://mlthreat.example.com; "" = links relative to the server
	Version string           // tool version in documents; "" = the build's
}

// Server serves the API and the pages. It is safe for concurrent use.
type Server struct {
	cfg         Config
	store       store.Store
	log         *slog.Logger
	now         func() time.Time
	toolVersion string

	handler http.Handler
	api     *http.ServeMux
	root    *http.ServeMux
	routes  []string // every API pattern registered, for the OpenAPI test
	pages   http.Handler
	csrf    *http.CrossOriginProtection
	metrics *metrics
}

// New checks cfg, fills in its defaults and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.MaxBody < 0 || cfg.PushLimit < 0 {
		return nil, errors.New("server: MaxBody and PushLimit must not be negative")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Catalog == nil {
		cfg.Catalog = catalog.Default()
	}
	if cfg.Rules == nil {
		set, err := rules.Load(cfg.Catalog)
		if err != nil {
			return nil, err
		}
		cfg.Rules = set
	}
	if cfg.Crosswalk == nil {
		cw, err := gap.Load(cfg.Catalog)
		if err != nil {
			return nil, err
		}
		cfg.Crosswalk = cw
	}
	if cfg.Windows.Review <= 0 {
		cfg.Windows.Review = 90 * 24 * time.Hour
	}
	if cfg.Windows.Evidence <= 0 {
		cfg.Windows.Evidence = 90 * 24 * time.Hour
	}
	if cfg.Windows.Expiring <= 0 {
		cfg.Windows.Expiring = 30 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Version == "" {
		cfg.Version = buildVersion()
	}
	if _, err := openAPIJSON(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now, toolVersion: cfg.Version,
		api: http.NewServeMux(), root: http.NewServeMux(),
		csrf: http.NewCrossOriginProtection(), metrics: newMetrics(),
	}
	s.pages = pagesHandler(web.Deps{
		Store: cfg.Store, Catalog: cfg.Catalog, Rules: cfg.Rules, Crosswalk: cfg.Crosswalk,
		Windows: cfg.Windows, Now: cfg.Now,
		Principal: s.Principal, Login: s.Login, Logout: s.Logout, Decide: s.Decide,
		Log: cfg.Logger,
	})
	s.routesAPI()
	s.handler = s.observe(s.secure(http.HandlerFunc(s.dispatch)))
	return s, nil
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

// Handler is the whole server: API, metrics, health and pages.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer wraps the handler in an http.Server with timeouts that keep
// slow or idle clients from holding connections: a push of MaxBody must
// arrive within the read timeout.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// routesAPI registers every route but the pages. Each API route names the
// weakest role that may call it; "" is public.
func (s *Server) routesAPI() {
	s.route("POST /api/v1/push", store.RoleSubmitter, s.handlePush)
	s.route("GET /api/v1/systems", store.RoleViewer, s.handleSystems)
	s.route("GET /api/v1/systems/{id}", store.RoleViewer, s.handleSystem)
	s.route("GET /api/v1/systems/{id}/versions", store.RoleViewer, s.handleVersions)
	s.route("GET /api/v1/systems/{id}/versions/{n}", store.RoleViewer, s.handleVersion)
	s.route("GET /api/v1/systems/{id}/diff", store.RoleViewer, s.handleDiff)
	s.route("GET /api/v1/systems/{id}/decisions", store.RoleViewer, s.handleDecisions)
	s.route("POST /api/v1/systems/{id}/decisions", store.RoleReviewer, s.handleDecide)
	s.route("GET /api/v1/threats", store.RoleViewer, s.handleThreats)
	s.route("GET /api/v1/kpis", store.RoleViewer, s.handleKPIs)
	s.route("GET /api/v1/reviews", store.RoleViewer, s.handleReviews)
	s.route("GET /api/v1/audit", store.RoleReviewer, s.handleAudit)
	s.route("POST /api/v1/tokens", store.RoleAdmin, s.handleCreateToken)
	s.route("GET /api/v1/tokens", store.RoleAdmin, s.handleTokens)
	s.route("DELETE /api/v1/tokens/{id}", store.RoleAdmin, s.handleRevokeToken)
	s.route("GET /api/v1/openapi.json", "", s.handleOpenAPI)

	metricsRole := store.RoleViewer
	if s.cfg.MetricsPublic {
		metricsRole = ""
	}
	s.route("GET /metrics", metricsRole, s.handleMetrics)
	s.route("GET /healthz", "", s.handleHealthz)
	s.route("GET /readyz", "", s.handleReadyz)
	s.root.Handle("/", http.HandlerFunc(s.servePages))
}

// apiFunc is an API handler. It gets the authenticated caller (nil on a
// public route) and returns an error to answer with instead of writing one.
type apiFunc func(w http.ResponseWriter, r *http.Request, p *web.Principal) error

// route registers an API handler behind bearer authentication and the
// role check, on the API mux for /api/ paths and on the root mux otherwise.
func (s *Server) route(pattern, role string, fn apiFunc) {
	s.routes = append(s.routes, pattern)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.route = pattern
		var p *web.Principal
		if role != "" {
			var err error
			if p, err = s.bearer(r); err != nil {
				s.fail(w, r, err)
				return
			}
			info.principal = p
			if !atLeast(p.Role, role) {
				s.fail(w, r, forbidden("this needs the %s role or above; the token %q is a %s", role, p.Name, p.Role))
				return
			}
		}
		if err := fn(w, r, p); err != nil {
			s.fail(w, r, err)
		}
	})
	_, path, _ := strings.Cut(pattern, " ")
	if strings.HasPrefix(path, "/api/") {
		s.api.Handle(pattern, h)
	} else {
		s.root.Handle(pattern, h)
	}
}

// dispatch sends /api/ to the API mux, whose misses are JSON errors, and
// everything else to the root mux (metrics, health, pages).
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
		s.root.ServeHTTP(w, r)
		return
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		s.apiMiss(w, r)
		return
	}
	s.api.ServeHTTP(w, r)
}

// apiMiss answers an API path no route matches the way the mux would (404,
// 405 with Allow, or a redirect to the clean path), with a JSON body.
func (s *Server) apiMiss(w http.ResponseWriter, r *http.Request) {
	h, _ := s.api.Handler(r)
	rec := &headerRecorder{header: http.Header{}, code: http.StatusOK}
	h.ServeHTTP(rec, r)
	infoOf(r).route = "unmatched"
	switch {
	case rec.code == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeJSON(w, rec.code, map[string]string{"error": r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + rec.header.Get("Allow")})
	case rec.code >= 300 && rec.code < 400 && rec.header.Get("Location") != "":
		w.Header().Set("Location", rec.header.Get("Location"))
		writeJSON(w, rec.code, map[string]string{"error": "moved to " + rec.header.Get("Location")})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no API route " + r.Method + " " + r.URL.Path + "; see /api/v1/openapi.json"})
	}
}

// headerRecorder keeps only the status and headers of a response.
type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
	return nil
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed", slogErr(err))
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "unavailable", Error: "the database does not answer"})
		return nil
	}
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
	return nil
}
