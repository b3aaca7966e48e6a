package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
)

// Limits on a decision's text.
const (
	maxConditions   = 20
	maxConditionLen = 500
	maxCommentLen   = 4000
)

var decisionValues = []string{"approved", "rejected", "changes-requested"}

// Decide records a review-board decision on a system's current escalation,
// with the checks the API and the pages share. The caller fills System,
// Decision, Until, Conditions, Comment and optionally ThreatSet and
// Version; Decide fills in the rest (Version, ThreatSet, By, TokenID, At)
// and stores it. Its errors carry the HTTP status the API answers with;
// errors.Is matches store.ErrNotFound (404) and store.ErrConflict (409).
//
// Only reviewers and admins decide, never on a version they pushed
// themselves (the same token, or a token of the same name), only while the
// system is escalated, and only on the threat set the board sees now.
func (s *Server) Decide(ctx context.Context, p *web.Principal, d *store.Decision) error {
	if p == nil {
		return unauthenticated("sign in to decide")
	}
	if p.Role != store.RoleReviewer && p.Role != store.RoleAdmin {
		return forbidden("only reviewers and admins decide; %q is a %s", p.Name, p.Role)
	}
	if d == nil {
		return badRequest("no decision")
	}
	if !reSystemID.MatchString(d.System) {
		return notFound("no system %q", clip(d.System))
	}
	if err := checkDecision(d, s.now()); err != nil {
		return err
	}
	sys, err := s.store.System(ctx, d.System)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no system %q", d.System)
	}
	if err != nil {
		return err
	}
	if sys.Summary.Verdict != gate.Escalate {
		verdict := sys.Summary.Verdict
		if verdict == "" {
			verdict = "not gated"
		}
		return conflict("system %q is not escalated (its latest version %d is %s); there is nothing to decide", sys.ID, sys.Latest, verdict)
	}
	if d.Version != 0 && d.Version != sys.Latest {
		return conflict("the board decides on the latest version, %d, not %d", sys.Latest, d.Version)
	}
	v, err := s.store.Version(ctx, sys.ID, sys.Latest)
	if err != nil {
		return err
	}
	if v.TokenID == p.TokenID || strings.EqualFold(v.By, p.Name) {
		return forbidden("cannot decide on an escalation you pushed (version %d was pushed by %q)", v.Version, v.By)
	}
	if d.ThreatSet == "" {
		d.ThreatSet = v.Summary.ThreatSet
	}
	if d.ThreatSet != v.Summary.ThreatSet {
		return conflict("threat set %s is not the one of the latest version (%s); the board must decide on what it sees, so reload and decide again", clip(d.ThreatSet), v.Summary.ThreatSet)
	}
	d.Version, d.By, d.TokenID, d.At = v.Version, p.Name, p.TokenID, s.now().UTC()
	if err := s.store.Decide(ctx, d); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return conflict("the system changed while deciding; reload and decide again")
		}
		return err
	}
	return nil
}

// checkDecision validates the fields a reviewer writes, and trims them.
func checkDecision(d *store.Decision, now time.Time) error {
	if !slices.Contains(decisionValues, d.Decision) {
		return badRequest("decision %q: expected one of %s", clip(d.Decision), strings.Join(decisionValues, ", "))
	}
	d.Until = strings.TrimSpace(d.Until)
	today := now.UTC().Format("2006-01-02")
	switch {
	case d.Decision == "approved" && d.Until == "":
		return badRequest("an approval needs until: the date (YYYY-MM-DD) it lapses, at most a year ahead")
	case d.Decision != "approved" && d.Until != "":
		return badRequest("until applies to approvals only")
	case d.Until != "":
		if _, err := time.Parse("2006-01-02", d.Until); err != nil || len(d.Until) != 10 {
			return badRequest("until %q is not a YYYY-MM-DD date", clip(d.Until))
		}
		if d.Until <= today {
			return badRequest("until %s is not in the future", d.Until)
		}
		if d.Until > now.UTC().AddDate(1, 0, 0).Format("2006-01-02") {
			return badRequest("until %s is more than a year ahead; approvals must be revisited within a year", d.Until)
		}
	}
	var conds []string
	for _, c := range d.Conditions {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if utf8.RuneCountInString(c) > maxConditionLen || !utf8.ValidString(c) || hasControl(c) {
			return badRequest("each condition must be one line of at most %d characters", maxConditionLen)
		}
		conds = append(conds, c)
	}
	if len(conds) > maxConditions {
		return badRequest("%d conditions; at most %d", len(conds), maxConditions)
	}
	d.Conditions = conds
	d.Comment = strings.TrimSpace(d.Comment)
	if utf8.RuneCountInString(d.Comment) > maxCommentLen || !utf8.ValidString(d.Comment) || hasControl(lineBreaks.Replace(d.Comment)) {
		return badRequest("the comment must be text of at most %d characters", maxCommentLen)
	}
	if d.ThreatSet != "" && !reHex.MatchString(d.ThreatSet) {
		return badRequest("threat_set %q is not a hex digest", clip(d.ThreatSet))
	}
	return nil
}

// handleDecide is POST /api/v1/systems/{id}/decisions.
func (s *Server) handleDecide(w http.ResponseWriter, r *http.Request, p *web.Principal) error {
	id, err := systemID(r)
	if err != nil {
		return err
	}
	var in api.Decision
	if err := decodeJSON(w, r, smallBody, &in); err != nil {
		return err
	}
	if in.System != "" && in.System != id {
		return badRequest("system %q in the body does not match %q in the path", clip(in.System), id)
	}
	if in.ID != 0 || in.By != "" || in.Date != "" || in.At != "" {
		return badRequest("id, by, date and at are set by the server; leave them out")
	}
	d := &store.Decision{
		System: id, Version: in.Version, ThreatSet: in.ThreatSet, Decision: in.Decision,
		Until: in.Until, Conditions: in.Conditions, Comment: in.Comment,
	}
	if err := s.Decide(r.Context(), p, d); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/systems/"+id+"/decisions")
	writeJSON(w, http.StatusCreated, apiDecision(d))
	return nil
}

// handleDecisions is GET /api/v1/systems/{id}/decisions, newest first:
// what `mlthreat gate --server` turns into the model's approvals.
func (s *Server) handleDecisions(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	id, err := s.knownSystem(r)
	if err != nil {
		return err
	}
	ds, err := s.store.Decisions(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]api.Decision, 0, len(ds))
	for i := range ds {
		out = append(out, apiDecision(&ds[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
