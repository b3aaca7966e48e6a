// Package web renders the portfolio server's pages: server-side HTML
// (html/template), SVG charts drawn on the server, no external assets and no
// inline script, under a strict Content-Security-Policy.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/store"
)

// Principal is the signed-in user of a request.
type Principal struct {
	TokenID string
	Name    string
	Role    string // store.Role*
	Owner   string // submitter scope
	System  string // submitter scope
	CSRF    string // the session's CSRF token; every form posts it as "csrf"
}

// Deps is what the pages need from the server.
type Deps struct {
	Store     store.Store
	Catalog   *catalog.Catalog
	Rules     *rules.Set
	Crosswalk *gap.Crosswalk
	Windows   store.Windows
	Now       func() time.Time

	// Principal returns the signed-in user of r, nil when none.
	Principal func(r *http.Request) *Principal
	// Login checks a token secret, starts a session and sets its cookie.
	Login func(w http.ResponseWriter, r *http.Request, secret string) error
	// Logout ends the session of r and clears its cookie.
	Logout func(w http.ResponseWriter, r *http.Request)
	// Decide records a review-board decision with the same checks as the
	// API (role, not the pusher of the escalated version, valid fields).
	Decide func(ctx context.Context, p *Principal, d *store.Decision) error

	// Log receives the errors a page hides from its reader; nil means
	// slog.Default().
	Log *slog.Logger
}
