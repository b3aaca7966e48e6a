package server

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
)

// reTokenName is what a token may be called. The name is the identity in
// versions, decisions and the audit log, so it is kept plain.
var reTokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

var roles = []string{store.RoleViewer, store.RoleSubmitter, store.RoleReviewer, store.RoleAdmin}

// handleCreateToken is POST /api/v1/tokens. The secret is in the answer
// and nowhere else.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, p *web.Principal) error {
	var in api.TokenRequest
	if err := decodeJSON(w, r, smallBody, &in); err != nil {
		return err
	}
	if err := checkTokenRequest(&in); err != nil {
		return err
	}
	secret, t, err := NewToken(in.Name, in.Role, in.Owner, in.System, p.Name, s.now())
	if err != nil {
		return err
	}
	if err := s.store.CreateToken(r.Context(), t); err != nil {
		if errors.Is(err, store.ErrExists) {
			return newError(http.StatusConflict, err, "a token named %q already exists", in.Name)
		}
		return err
	}
	s.auditToken(r, p, "token.create", t)
	w.Header().Set("Location", "/api/v1/tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, api.TokenCreated{Token: apiToken(t), Secret: secret})
	return nil
}

func checkTokenRequest(in *api.TokenRequest) error {
	in.Name, in.Owner, in.System = strings.TrimSpace(in.Name), strings.TrimSpace(in.Owner), strings.TrimSpace(in.System)
	switch {
	case !reTokenName.MatchString(in.Name):
		return badRequest("name %q: use 1 to 64 letters, digits, '.', '_', '@', '+' or '-'", clip(in.Name))
	case roleRank(in.Role) == 0:
		return badRequest("role %q: expected one of %s", clip(in.Role), strings.Join(roles, ", "))
	case in.Role != store.RoleSubmitter && (in.Owner != "" || in.System != ""):
		return badRequest("owner and system scope submitter tokens only; a %s reads every system", in.Role)
	case in.Role == store.RoleSubmitter && in.Owner == "" && in.System == "":
		return badRequest("a submitter token needs a scope: owner (the systems of one owner) or system (one system id)")
	case in.System != "" && !reSystemID.MatchString(in.System):
		return badRequest("system %q is not a system id", clip(in.System))
	}
	return shortText("owner", in.Owner)
}

// handleTokens is GET /api/v1/tokens: every token, never a hash.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	if _, err := query(r); err != nil {
		return err
	}
	ts, err := s.store.Tokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.Token, 0, len(ts))
	for i := range ts {
		out = append(out, apiToken(&ts[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleRevokeToken is DELETE /api/v1/tokens/{id}. The last admin token
// cannot be revoked: with no admin left, and tokens existing, nobody could
// create one again.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request, p *web.Principal) error {
	id := r.PathValue("id")
	ts, err := s.store.Tokens(r.Context())
	if err != nil {
		return err
	}
	var target *store.Token
	admins := 0
	for i := range ts {
		if ts[i].ID == id {
			target = &ts[i]
		}
		if ts[i].Role == store.RoleAdmin && ts[i].RevokedAt.IsZero() {
			admins++
		}
	}
	switch {
	case target == nil:
		return notFound("no token %q", clip(id))
	case !target.RevokedAt.IsZero():
		return conflict("token %q was already revoked", target.Name)
	case target.Role == store.RoleAdmin && admins <= 1:
		return conflict("token %q is the last admin token; create another admin first", target.Name)
	}
	if err := s.store.RevokeToken(r.Context(), id, s.now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no token %q", clip(id))
		}
		return err
	}
	target.RevokedAt = s.now().UTC()
	s.auditToken(r, p, "token.revoke", target)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// auditToken records a token change; the store audits pushes and
// decisions itself, not token changes.
func (s *Server) auditToken(r *http.Request, p *web.Principal, action string, t *store.Token) {
	s.audit(r.Context(), p.Name, p.TokenID, action, t.System, map[string]any{"token": t.ID, "name": t.Name, "role": t.Role, "owner": t.Owner})
}
