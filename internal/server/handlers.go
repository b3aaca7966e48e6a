package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
)

// query reads the query string, refusing parameters the route does not
// know, so that a typo (?owners=) is an error rather than a silent
// "everything".
func query(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("the query string cannot be parsed: %v", err)
	}
	for k, v := range q {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return nil, badRequest("unknown query parameter %q; this route takes none", clip(k))
			}
			return nil, badRequest("unknown query parameter %q; expected %s", clip(k), strings.Join(known, ", "))
		}
		if len(v) > 1 {
			return nil, badRequest("query parameter %q is given %d times", k, len(v))
		}
		if len(v[0]) > maxShortText || hasControl(v[0]) {
			return nil, badRequest("query parameter %q must be printable text of at most %d bytes", k, maxShortText)
		}
	}
	return q, nil
}

func intParam(q url.Values, name string, def, min, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, badRequest("%s must be a whole number from %d to %d", name, min, max)
	}
	return n, nil
}

func oneOfParam(q url.Values, name string, allowed ...string) (string, error) {
	v := q.Get(name)
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", badRequest("%s %q: expected one of %s", name, clip(v), strings.Join(allowed, ", "))
}

// systemID reads the {id} path value.
func systemID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !reSystemID.MatchString(id) {
		return "", notFound("no system %q", clip(id))
	}
	return id, nil
}

// handleSystems is GET /api/v1/systems.
func (s *Server) handleSystems(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	q, err := query(r, "q", "owner", "criticality", "platform", "severity", "verdict", "stale", "sort", "limit", "offset")
	if err != nil {
		return err
	}
	f := store.Filter{Query: q.Get("q"), Owner: q.Get("owner")}
	if f.Criticality, err = oneOfParam(q, "criticality", model.Criticalities...); err != nil {
		return err
	}
	if f.Platform, err = oneOfParam(q, "platform", model.Platforms...); err != nil {
		return err
	}
	if f.Severity, err = oneOfParam(q, "severity", severities...); err != nil {
		return err
	}
	if f.Verdict, err = oneOfParam(q, "verdict", verdicts...); err != nil {
		return err
	}
	if f.Sort, err = oneOfParam(q, "sort", "risk", "name", "updated"); err != nil {
		return err
	}
	if v := q.Get("stale"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("stale must be true or false")
		}
		f.Stale = &b
	}
	if f.Limit, err = intParam(q, "limit", 50, 1, 500); err != nil {
		return err
	}
	if f.Offset, err = intParam(q, "offset", 0, 0, 10_000_000); err != nil {
		return err
	}
	list, total, err := s.store.ListSystems(r.Context(), f)
	if err != nil {
		return err
	}
	out := api.SystemList{Total: total, Limit: f.Limit, Offset: f.Offset, Systems: make([]api.System, 0, len(list))}
	for i := range list {
		out.Systems = append(out.Systems, apiSystem(&list[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleSystem is GET /api/v1/systems/{id}.
func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	if _, err := query(r); err != nil {
		return err
	}
	id, err := systemID(r)
	if err != nil {
		return err
	}
	sys, err := s.system(r, id)
	if err != nil {
		return err
	}
	ts, err := s.store.Threats(r.Context(), id)
	if err != nil {
		return err
	}
	out := api.SystemDetail{System: apiSystem(sys), Threats: make([]api.ThreatState, 0, len(ts))}
	for _, t := range ts {
		out.Threats = append(out.Threats, api.ThreatState{
			Threat: apiThreat(t.Threat), FirstSeen: formatTime(t.FirstSeen),
			FirstVersion: t.FirstVersion, LastVersion: t.LastVersion, ResolvedAt: formatTime(t.ResolvedAt),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) system(r *http.Request, id string) (*store.System, error) {
	sys, err := s.store.System(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no system %q", id)
	}
	return sys, err
}

// knownSystem checks the query and returns the path's system id; 404 when
// the server holds no such system.
func (s *Server) knownSystem(r *http.Request) (string, error) {
	if _, err := query(r); err != nil {
		return "", err
	}
	id, err := systemID(r)
	if err != nil {
		return "", err
	}
	if _, err := s.system(r, id); err != nil {
		return "", err
	}
	return id, nil
}

// handleVersions is GET /api/v1/systems/{id}/versions, newest first.
func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	id, err := s.knownSystem(r)
	if err != nil {
		return err
	}
	vs, err := s.store.Versions(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]api.Version, 0, len(vs))
	for i := range vs {
		out = append(out, apiVersion(&vs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var includable = []string{"model", "analysis", "gap", "gate", "evidence", "review"}

// handleVersion is GET /api/v1/systems/{id}/versions/{n}?include=...
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	q, err := query(r, "include")
	if err != nil {
		return err
	}
	id, err := systemID(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return badRequest("version %q is not a version number", clip(r.PathValue("n")))
	}
	var include []string
	if v := q.Get("include"); v != "" {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if !slices.Contains(includable, part) {
				return badRequest("include: %q is not one of %s", clip(part), strings.Join(includable, ", "))
			}
			include = append(include, part)
		}
	}
	v, err := s.loadVersion(r, id, n)
	if err != nil {
		return err
	}
	out := apiVersion(v)
	for _, part := range include {
		digest := out.Digests[part]
		if digest == "" {
			continue
		}
		b, err := s.store.Blob(r.Context(), digest)
		if err != nil {
			return err
		}
		switch part {
		case "model":
			out.Model = string(b)
		case "evidence":
			out.Evidence = string(b)
		default:
			if !json.Valid(b) {
				return errors.New("stored " + part + " of " + id + " is not valid JSON")
			}
			raw := json.RawMessage(b)
			switch part {
			case "analysis":
				out.Analysis = raw
			case "gap":
				out.Gap = raw
			case "gate":
				out.Gate = raw
			case "review":
				out.Review = raw
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) loadVersion(r *http.Request, id string, n int) (*store.Version, error) {
	v, err := s.store.Version(r.Context(), id, n)
	if errors.Is(err, store.ErrNotFound) {
		if _, serr := s.system(r, id); serr != nil {
			return nil, serr
		}
		return nil, notFound("system %q has no version %d", id, n)
	}
	return v, err
}

// handleThreats is GET /api/v1/threats?technique=&sub=: the portfolio's
// exposure to one ATLAS technique.
func (s *Server) handleThreats(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	q, err := query(r, "technique", "sub")
	if err != nil {
		return err
	}
	tech := q.Get("technique")
	if !reTechnique.MatchString(tech) {
		return badRequest("technique must be an ATLAS technique id such as AML.T0051 or AML.T0051.001")
	}
	sub := false
	if v := q.Get("sub"); v != "" {
		if sub, err = strconv.ParseBool(v); err != nil {
			return badRequest("sub must be true or false")
		}
	}
	ex, err := s.store.Exposed(r.Context(), tech, sub)
	if err != nil {
		return err
	}
	out := api.ExposureList{Technique: tech, Sub: sub, Exposures: make([]api.Exposure, 0, len(ex))}
	if t := s.cfg.Catalog.Technique(tech); t != nil {
		out.Name = t.Name
	}
	systems := map[string]bool{}
	for _, e := range ex {
		systems[e.System] = true
		out.Exposures = append(out.Exposures, api.Exposure{
			System: e.System, Name: e.Name, Owner: e.Owner, Version: e.Version, Threat: e.Threat, Title: e.Title,
			Element: e.Element, Technique: e.Technique, Residual: e.Residual, Status: e.Status,
		})
	}
	out.Systems = len(systems)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleKPIs is GET /api/v1/kpis.
func (s *Server) handleKPIs(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	if _, err := query(r); err != nil {
		return err
	}
	k, err := s.store.KPIs(r.Context(), s.now(), s.cfg.Windows)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiKPIs(k))
	return nil
}

// handleReviews is GET /api/v1/reviews: the escalations waiting for the
// board, oldest first.
func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	if _, err := query(r); err != nil {
		return err
	}
	items, err := s.store.ReviewQueue(r.Context())
	if err != nil {
		return err
	}
	now := s.now()
	out := make([]api.QueueItem, 0, len(items))
	for i := range items {
		it := &items[i]
		out = append(out, api.QueueItem{
			System: apiSystem(&it.System), Version: it.Version, Since: formatTime(it.Since),
			AgeHours: hours(now.Sub(it.Since)), PushedBy: it.PushedBy, ThreatSet: it.ThreatSet,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func hours(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return float64(d.Round(time.Minute)) / float64(time.Hour)
}

// handleAudit is GET /api/v1/audit, newest first; page with before=<id>.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	q, err := query(r, "system", "action", "since", "before", "limit")
	if err != nil {
		return err
	}
	f := store.AuditFilter{System: q.Get("system"), Action: q.Get("action")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02", v); err != nil {
				return badRequest("since must be an RFC 3339 time or a YYYY-MM-DD date")
			}
		}
		f.Since = t
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return badRequest("before must be an audit entry id (a positive whole number)")
		}
		f.Before = n
	}
	if f.Limit, err = intParam(q, "limit", 100, 1, 1000); err != nil {
		return err
	}
	es, err := s.store.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]api.AuditEntry, 0, len(es))
	for _, e := range es {
		a := api.AuditEntry{ID: e.ID, At: formatTime(e.At), Actor: e.Actor, TokenID: e.TokenID, Action: e.Action, System: e.System}
		if e.Detail != "" {
			if json.Valid([]byte(e.Detail)) {
				a.Detail = json.RawMessage(e.Detail)
			} else {
				a.Detail, _ = json.Marshal(e.Detail)
			}
		}
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	b, err := openAPIJSON()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
	return nil
}

// Conversions from the store's types to the API's.

func apiSummary(s store.Summary) api.Summary {
	return api.Summary{
		Threats: s.Threats, OpenCritical: s.OpenCritical, OpenHigh: s.OpenHigh, OpenMedium: s.OpenMedium, OpenLow: s.OpenLow,
		RiskScore: s.RiskScore, MaxSeverity: s.MaxSeverity, Verdict: s.Verdict, Policy: s.Policy, ThreatSet: s.ThreatSet,
		Stale: s.Stale, ReviewedAt: s.ReviewedAt, EvidenceAt: s.EvidenceAt, RMF: s.RMF,
	}
}

func apiSystem(s *store.System) api.System {
	return api.System{
		ID: s.ID, Name: s.Name, Owner: s.Owner, Criticality: s.Criticality,
		Platforms: nonNil(s.Platforms), Tags: nonNil(s.Tags), Latest: s.Latest,
		CreatedAt: formatTime(s.CreatedAt), UpdatedAt: formatTime(s.UpdatedAt),
		EscalatedSince: formatTime(s.EscalatedSince), Summary: apiSummary(s.Summary),
	}
}

func apiThreat(t store.Threat) api.Threat {
	return api.Threat{
		ID: t.ID, Rule: t.Rule, Title: t.Title, Element: t.Element, Technique: t.Technique,
		Related: nonNil(t.Related), Tactics: nonNil(t.Tactics), Severity: t.Severity, Residual: t.Residual,
		ResidualScore: t.ResidualScore, Status: t.Status, Until: t.Until,
	}
}

func apiVersion(v *store.Version) api.Version {
	d := map[string]string{}
	for name, digest := range map[string]string{"model": v.Model, "analysis": v.Analysis, "gap": v.Gap, "gate": v.Gate, "evidence": v.Evidence, "review": v.Review} {
		if digest != "" {
			d[name] = digest
		}
	}
	return api.Version{
		System: v.System, Version: v.Version, At: formatTime(v.At), By: v.By, File: v.File,
		ToolVersion: v.ToolVersion, ModelSHA256: v.ModelDigest, Digests: d, Summary: apiSummary(v.Summary),
	}
}

func apiKPIs(k *store.KPIs) api.KPIs {
	out := api.KPIs{
		At: formatTime(k.At), Systems: k.Systems, UpToDate: k.UpToDate, UpToDateRatio: k.UpToDatePct / 100,
		OpenCritical: k.OpenCritical, OpenHigh: k.OpenHigh, PerOwner: make([]api.OwnerRisk, 0, len(k.PerOwner)),
		Mitigated: k.Mitigated, MeanTimeToMitigate: k.MeanTimeToMitigate, P90TimeToMitigate: k.P90TimeToMitigate,
		RMF: k.RMF, AcceptedExpiring: k.AcceptedExpiring, FreshEvidence: k.FreshEvidence,
		FreshEvidenceRatio: k.FreshEvidencePct / 100, EscalationsWaiting: k.EscalationsWaiting,
		OldestEscalationAge: k.OldestEscalationAge, MeanEscalationAge: k.MeanEscalationAge,
	}
	if out.RMF == nil {
		out.RMF = map[string]float64{}
	}
	for _, o := range k.PerOwner {
		out.PerOwner = append(out.PerOwner, api.OwnerRisk{Owner: o.Owner, Systems: o.Systems, Critical: o.Critical, High: o.High})
	}
	return out
}

func apiDecision(d *store.Decision) api.Decision {
	return api.Decision{
		ID: d.ID, System: d.System, Version: d.Version, ThreatSet: d.ThreatSet, Decision: d.Decision, By: d.By,
		Date: d.At.UTC().Format("2006-01-02"), At: formatTime(d.At), Until: d.Until,
		Conditions: d.Conditions, Comment: d.Comment,
	}
}

func apiToken(t *store.Token) api.Token {
	return api.Token{
		ID: t.ID, Name: t.Name, Role: t.Role, Owner: t.Owner, System: t.System,
		CreatedAt: formatTime(t.CreatedAt), CreatedBy: t.CreatedBy, RevokedAt: formatTime(t.RevokedAt),
	}
}
