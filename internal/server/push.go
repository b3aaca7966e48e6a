package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// Limits on the parts of a push beyond the body limit. They are far above
// what mlthreat writes, and keep one push from filling the database with
// rows.
const (
	maxThreats    = 20_000
	maxShortText  = 256  // ids, file names, versions, policy names
	maxTitle      = 1024 // threat titles
	maxListItems  = 64   // related techniques, tactics per threat
	maxDiagnostic = 50   // model diagnostics echoed back

	// maxPushAttempts bounds the retries of a push whose implicit base
	// version another push overtook; each retry is one read and one write.
	maxPushAttempts = 20
)

var (
	reSystemID  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	reThreatID  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	reTechnique = regexp.MustCompile(`^AML\.T[0-9]{4}(\.[0-9]{3})?$`)
	reTactic    = regexp.MustCompile(`^AML\.TA[0-9]{4}$`)
	reRuleID    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	reHex       = regexp.MustCompile(`^[0-9a-f]{1,128}$`)
	reElementID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

var (
	severities = []string{"low", "medium", "high", "critical"}
	statuses   = []string{"open", "in-progress", "mitigated", "accepted", "false-positive"}
	verdicts   = []string{gate.Pass, gate.Fail, gate.Escalate}
	functions  = []string{"GOVERN", "MAP", "MEASURE", "MANAGE"}
)

// handlePush is POST /api/v1/push.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request, p *web.Principal) error {
	if p.Role != store.RoleSubmitter && p.Role != store.RoleAdmin {
		return forbidden("only submitter and admin tokens push; %q is a %s", p.Name, p.Role)
	}
	if err := s.pushAllowed(r.Context(), w, p); err != nil {
		return err
	}
	var req api.PushRequest
	var parts pushParts
	if err := decodePush(w, r, s.cfg.MaxBody, &req, &parts); err != nil {
		return err
	}
	push, err := s.preparePush(&req, &parts)
	if err != nil {
		return err
	}
	if p.Role == store.RoleSubmitter && !inScope(p, push.System, push.Owner) {
		return forbidden("token %q may push %s; system %q with owner %q is outside it", p.Name, scopeText(p), push.System, push.Owner)
	}
	push.TokenID, push.By = p.TokenID, p.Name
	res, err := s.storePush(r.Context(), p, push, req.BaseVersion)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if res.Unchanged {
		code = http.StatusOK
	}
	writeJSON(w, code, api.PushResponse{
		System: res.System, Version: res.Version, Unchanged: res.Unchanged,
		Verdict: push.Summary.Verdict, Escalated: push.Summary.Verdict == gate.Escalate,
		URL: s.cfg.BaseURL + "/systems/" + url.PathEscape(res.System),
	})
	return nil
}

// pushAllowed applies the per-token push limit. The count comes from the
// database, so every instance behind a load balancer sees the same one.
func (s *Server) pushAllowed(ctx context.Context, w http.ResponseWriter, p *web.Principal) error {
	if s.cfg.PushLimit <= 0 {
		return nil
	}
	n, err := s.store.PushesSince(ctx, p.TokenID, s.now().Add(-time.Minute))
	if err != nil {
		return err
	}
	if n >= s.cfg.PushLimit {
		w.Header().Set("Retry-After", "60")
		return newError(http.StatusTooManyRequests, nil, "token %q pushed %d versions in the last minute; the limit is %d per minute", p.Name, n, s.cfg.PushLimit)
	}
	return nil
}

// storePush records the push. For a submitter scoped by owner, the stored
// system's owner must be in scope too, or a push could move a system out
// of its owner's hands. That check and the write are made atomic by
// pushing against the version the check saw: if another push lands in
// between, the store says so and the check runs again.
func (s *Server) storePush(ctx context.Context, p *web.Principal, push *store.Push, base int) (*store.PushResult, error) {
	for attempt := 0; ; attempt++ {
		push.BaseVersion = base
		if p.Role == store.RoleSubmitter {
			cur, err := s.store.System(ctx, push.System)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				if !inScope(p, cur.ID, cur.Owner) {
					return nil, forbidden("token %q may push %s; system %q belongs to owner %q, outside it", p.Name, scopeText(p), cur.ID, cur.Owner)
				}
				if base == 0 && p.Owner != "" {
					push.BaseVersion = cur.Latest
				}
			}
		}
		push.At = s.now().UTC()
		res, err := s.store.Push(ctx, push)
		if errors.Is(err, store.ErrConflict) {
			if base == 0 && attempt < maxPushAttempts {
				continue // our own base went stale: check the new row again
			}
			return nil, conflict("the system changed since version %d; pull the latest and push again", push.BaseVersion)
		}
		return res, err
	}
}

func scopeText(p *web.Principal) string {
	switch {
	case p.Owner != "" && p.System != "":
		return fmt.Sprintf("system %q of owner %q only", p.System, p.Owner)
	case p.Owner != "":
		return fmt.Sprintf("systems of owner %q only", p.Owner)
	case p.System != "":
		return fmt.Sprintf("system %q only", p.System)
	}
	return "nothing (the token has no scope)"
}

// preparePush checks a push request and derives what the store keeps.
// Everything in it is treated as hostile: its shape, sizes, ids and
// enumerations are checked, and the model is parsed and validated here
// rather than trusted. parts holds what decodePush already read of the
// analysis, gap and gate.
func (s *Server) preparePush(req *api.PushRequest, parts *pushParts) (*store.Push, error) {
	file := req.File
	if file == "" {
		file = "system.yaml"
	}
	if err := shortText("file", file); err != nil {
		return nil, err
	}
	if err := shortText("tool_version", req.ToolVersion); err != nil {
		return nil, err
	}
	if req.BaseVersion < 0 {
		return nil, badRequest("base_version must be 0 (none) or a version number")
	}
	if strings.TrimSpace(req.Model) == "" {
		return nil, badRequest("model is empty: send the model file's YAML text")
	}
	modelText := []byte(req.Model) // parsed and stored; neither changes it
	sys, err := s.parseModel(file, modelText)
	if err != nil {
		return nil, err
	}
	id := sys.Info.ID
	push := &store.Push{
		System: id, Name: sys.Info.Name, Owner: sys.Info.Owner, Criticality: sys.Info.Criticality,
		Platforms: nonNil(sys.Info.Platforms), Tags: nonNil(sys.Info.Tags),
		File: file, ToolVersion: req.ToolVersion, Model: modelText,
	}
	if len(push.Tags) > maxListItems {
		return nil, badRequest("the model has %d tags; at most %d", len(push.Tags), maxListItems)
	}
	for _, f := range []struct{ name, value string }{{"system.name", push.Name}, {"system.owner", push.Owner}} {
		if err := shortText(f.name, f.value); err != nil {
			return nil, err
		}
	}
	for _, tag := range push.Tags {
		if err := shortText("system.tags", tag); err != nil {
			return nil, err
		}
	}

	if isAbsent(req.Analysis) {
		return nil, badRequest("analysis is missing: send `mlthreat analyze --format json` of the model")
	}
	if push.Threats, push.Summary, err = summarizeAnalysis(req.Analysis, parts.analysis, id); err != nil {
		return nil, err
	}
	push.Analysis = req.Analysis

	if !isAbsent(req.Gap) {
		rmf, err := parseGap(req.Gap, parts.gap, id)
		if err != nil {
			return nil, err
		}
		push.Summary.RMF = rmf
		push.Gap = req.Gap
	}
	if !isAbsent(req.Gate) {
		if err := applyGate(req.Gate, parts.gate, id, &push.Summary); err != nil {
			return nil, err
		}
		push.Gate = req.Gate
	}
	if push.Summary.ThreatSet == "" {
		push.Summary.ThreatSet = threatSet(push.Threats)
	}
	// A date ahead of the server's (by more than a time zone) would keep
	// a system "reviewed" or "tested" for ever.
	latest := s.now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	if d := sys.Info.Review.Date; d != "" && evidence.ValidDate(d) {
		if d > latest {
			return nil, badRequest("system.review.date %s is in the future", d)
		}
		push.Summary.ReviewedAt = d
	}
	if !isAbsent(req.Review) {
		date, err := parseReview(req.Review, id)
		if err != nil {
			return nil, err
		}
		if date > latest {
			return nil, badRequest("review.date %s is in the future", date)
		}
		push.Summary.ReviewedAt = date
		push.Review = req.Review
	}
	if strings.TrimSpace(req.Evidence) != "" {
		recs, err := evidence.Parse("evidence", []byte(req.Evidence))
		if err != nil {
			return nil, withDiagnostics(badRequest("evidence is invalid"), err)
		}
		for _, r := range recs {
			if r.Date > latest {
				return nil, badRequest("evidence record %s is dated %s, in the future", r.ID, r.Date)
			}
			if r.Date > push.Summary.EvidenceAt {
				push.Summary.EvidenceAt = r.Date
			}
		}
		push.Evidence = []byte(req.Evidence)
	}
	return push, nil
}

// parseModel loads and fully validates model text; a model with errors is
// a 400 listing each as file:line:col.
func (s *Server) parseModel(file string, b []byte) (*model.System, error) {
	sys, ds := model.Load(file, b, model.DefaultLimits)
	if sys != nil {
		ds = append(ds, validate.Frameworks(sys, s.cfg.Catalog)...)
		ds.Sort()
	}
	if sys == nil || ds.Errors() > 0 {
		var lines []string
		for _, d := range ds {
			if d.Severity == "error" && len(lines) < maxDiagnostic {
				lines = append(lines, d.String())
			}
		}
		msg := fmt.Sprintf("the model is invalid (%d errors)", ds.Errors())
		if len(lines) > 0 {
			msg += ":\n" + strings.Join(lines, "\n")
		}
		return nil, &statusError{status: http.StatusBadRequest, msg: msg, diags: lines}
	}
	if !reSystemID.MatchString(sys.Info.ID) {
		return nil, badRequest("system.id %q is not a valid system id", sys.Info.ID)
	}
	return sys, nil
}

func withDiagnostics(err error, problems error) error {
	se := err.(*statusError)
	var lines []string
	if ps, ok := problems.(evidence.Problems); ok {
		for _, p := range ps {
			if len(lines) < maxDiagnostic {
				lines = append(lines, p.String())
			}
		}
	} else {
		lines = []string{problems.Error()}
	}
	se.diags = lines
	se.msg += ":\n" + strings.Join(lines, "\n")
	return se
}

// analysisDoc is the part of the analysis JSON (contract §3) the server
// reads.
type analysisDoc struct {
	System struct {
		ID string `json:"id"`
	} `json:"system"`
	Threats []analysisThreat `json:"threats"`
}

type analysisThreat struct {
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Title  string `json:"title"`
	Target struct {
		Component string `json:"component"`
		Flow      string `json:"flow"`
		Zone      string `json:"zone"`
	} `json:"target"`
	ATLAS struct {
		Technique string   `json:"technique"`
		Tactics   []string `json:"tactics"`
		Related   []string `json:"related"`
	} `json:"atlas"`
	Risk struct {
		Severity string `json:"severity"`
	} `json:"risk"`
	Residual struct {
		Score    int    `json:"score"`
		Severity string `json:"severity"`
	} `json:"residual"`
	Status   string            `json:"status"`
	Decision *analysisDecision `json:"decision"`
}

type analysisDecision struct {
	Until string `json:"until"`
}

// summarizeAnalysis checks the analysis and derives the threats and the
// summary; doc is the analysis when decodePush read it, else nil.
func summarizeAnalysis(raw json.RawMessage, doc *analysisDoc, id string) ([]store.Threat, store.Summary, error) {
	var sum store.Summary
	if doc == nil {
		doc = &analysisDoc{}
		if err := decodeAnalysis(raw, doc); err != nil {
			return nil, sum, err
		}
	}
	if doc.System.ID != id {
		return nil, sum, badRequest("analysis.system.id is %q but the model's system.id is %q: the analysis is of another model", doc.System.ID, id)
	}
	if doc.Threats == nil {
		return nil, sum, badRequest("analysis.threats is missing")
	}
	if len(doc.Threats) > maxThreats {
		return nil, sum, badRequest("analysis has %d threats; at most %d", len(doc.Threats), maxThreats)
	}
	out := make([]store.Threat, 0, len(doc.Threats))
	seen := make(map[string]bool, len(doc.Threats))
	for i, t := range doc.Threats {
		at := fmt.Sprintf("analysis.threats[%d]", i)
		element := t.Target.Component
		if element == "" {
			element = t.Target.Flow
		}
		if element == "" {
			element = t.Target.Zone
		}
		var until string
		if t.Decision != nil {
			until = t.Decision.Until
		}
		switch {
		case !reThreatID.MatchString(t.ID):
			return nil, sum, badRequest("%s.id %q is not a threat id", at, clip(t.ID))
		case seen[t.ID]:
			return nil, sum, badRequest("%s.id %q appears twice", at, t.ID)
		case t.Rule != "" && !reRuleID.MatchString(t.Rule):
			return nil, sum, badRequest("%s.rule %q is not a rule id", at, clip(t.Rule))
		case len(t.Title) > maxTitle || !utf8.ValidString(t.Title) || hasControl(lineBreaks.Replace(t.Title)):
			return nil, sum, badRequest("%s.title must be printable text of at most %d bytes", at, maxTitle)
		case element == "" || !reElementID.MatchString(element):
			return nil, sum, badRequest("%s.target must name a component, flow or zone id", at)
		case !reTechnique.MatchString(t.ATLAS.Technique):
			return nil, sum, badRequest("%s.atlas.technique %q is not an ATLAS technique id", at, clip(t.ATLAS.Technique))
		case !slices.Contains(severities, t.Risk.Severity):
			return nil, sum, badRequest("%s.risk.severity %q: expected one of %s", at, clip(t.Risk.Severity), strings.Join(severities, ", "))
		case !slices.Contains(severities, t.Residual.Severity):
			return nil, sum, badRequest("%s.residual.severity %q: expected one of %s", at, clip(t.Residual.Severity), strings.Join(severities, ", "))
		case t.Residual.Score < 0 || t.Residual.Score > 100:
			return nil, sum, badRequest("%s.residual.score %d is out of range", at, t.Residual.Score)
		case !slices.Contains(statuses, t.Status):
			return nil, sum, badRequest("%s.status %q: expected one of %s", at, clip(t.Status), strings.Join(statuses, ", "))
		case until != "" && !evidence.ValidDate(until):
			return nil, sum, badRequest("%s.decision.until %q is not a YYYY-MM-DD date", at, clip(until))
		case len(t.ATLAS.Related) > maxListItems || len(t.ATLAS.Tactics) > maxListItems:
			return nil, sum, badRequest("%s.atlas lists too many techniques or tactics", at)
		}
		for _, x := range t.ATLAS.Related {
			if !reTechnique.MatchString(x) {
				return nil, sum, badRequest("%s.atlas.related: %q is not an ATLAS technique id", at, clip(x))
			}
		}
		for _, x := range t.ATLAS.Tactics {
			if !reTactic.MatchString(x) {
				return nil, sum, badRequest("%s.atlas.tactics: %q is not an ATLAS tactic id", at, clip(x))
			}
		}
		seen[t.ID] = true
		out = append(out, store.Threat{
			ID: t.ID, Rule: t.Rule, Title: t.Title, Element: element, Technique: t.ATLAS.Technique,
			Related: nonNil(t.ATLAS.Related), Tactics: nonNil(t.ATLAS.Tactics),
			Severity: t.Risk.Severity, Residual: t.Residual.Severity, ResidualScore: t.Residual.Score,
			Status: t.Status, Until: until,
		})
	}
	sum.Threats = len(out)
	for _, t := range out {
		if t.Status != "open" && t.Status != "in-progress" {
			continue
		}
		switch t.Residual {
		case "critical":
			sum.OpenCritical++
		case "high":
			sum.OpenHigh++
		case "medium":
			sum.OpenMedium++
		case "low":
			sum.OpenLow++
		}
		sum.RiskScore += t.ResidualScore
		if severityRank(t.Residual) > severityRank(sum.MaxSeverity) {
			sum.MaxSeverity = t.Residual
		}
	}
	return out, sum, nil
}

func severityRank(s string) int { return slices.Index(severities, s) + 1 }

// threatSet is gate.ThreatSet of the open threats, for a push without a
// gate result, so that the review queue can still match decisions.
func threatSet(ts []store.Threat) string {
	var open []gate.ThreatRef
	for _, t := range ts {
		if t.Status == "open" || t.Status == "in-progress" {
			open = append(open, gate.ThreatRef{ID: t.ID, Severity: t.Residual})
		}
	}
	return gate.ThreatSet(open)
}

func parseGap(raw json.RawMessage, doc *gapDoc, id string) (map[string]float64, error) {
	if doc == nil {
		doc = &gapDoc{}
		if err := decodeGap(raw, doc); err != nil {
			return nil, err
		}
	}
	if doc.System.ID != "" && doc.System.ID != id {
		return nil, badRequest("gap.system.id is %q but the model's system.id is %q", doc.System.ID, id)
	}
	rmf := make(map[string]float64, len(functions))
	for i, f := range doc.Functions {
		switch {
		case !slices.Contains(functions, f.ID):
			return nil, badRequest("gap.functions[%d].id %q: expected one of %s", i, clip(f.ID), strings.Join(functions, ", "))
		case math.IsNaN(f.Coverage) || f.Coverage < 0 || f.Coverage > 1:
			return nil, badRequest("gap.functions[%d].coverage must be between 0 and 1", i)
		}
		if _, dup := rmf[f.ID]; dup {
			return nil, badRequest("gap.functions lists %s twice", f.ID)
		}
		rmf[f.ID] = f.Coverage
	}
	return rmf, nil
}

// applyGate reads one gate result (gate --format json's results[i]).
func applyGate(raw json.RawMessage, doc *gateDoc, id string, sum *store.Summary) error {
	if doc == nil {
		doc = &gateDoc{}
		if err := decodeGate(raw, doc); err != nil {
			return err
		}
	}
	switch {
	case doc.System != id:
		return badRequest("gate.system is %q but the model's system.id is %q", doc.System, id)
	case !slices.Contains(verdicts, doc.Verdict):
		return badRequest("gate.verdict %q: expected one of %s", clip(doc.Verdict), strings.Join(verdicts, ", "))
	case doc.ThreatSet != "" && !reHex.MatchString(doc.ThreatSet):
		return badRequest("gate.threat_set %q is not a hex digest", clip(doc.ThreatSet))
	}
	if err := shortText("gate.policy", doc.Policy); err != nil {
		return err
	}
	sum.Verdict, sum.Policy, sum.ThreatSet = doc.Verdict, doc.Policy, doc.ThreatSet
	for _, f := range doc.Findings {
		if f.Check == "stale" || f.Check == "review" {
			sum.Stale = true
		}
	}
	return nil
}

// parseReview reads the signed review record and returns its date.
func parseReview(raw json.RawMessage, id string) (string, error) {
	var rec gate.Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return "", prefixed("review", jsonError(err))
	}
	switch {
	case rec.Format != 1:
		return "", badRequest("review: record format %d; expected 1", rec.Format)
	case rec.System != id:
		return "", badRequest("review.system is %q but the model's system.id is %q", clip(rec.System), id)
	case !evidence.ValidDate(rec.Date):
		return "", badRequest("review.date %q is not a YYYY-MM-DD date", clip(rec.Date))
	}
	return rec.Date, nil
}

// decodePart decodes one embedded JSON document of the push, which must be
// an object.
func decodePart(name string, raw json.RawMessage, v any) error {
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return badRequest("%s must be a JSON object", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return prefixed(name, jsonError(err))
	}
	return nil
}

// decodeLeading decodes the named members of a JSON object and stops
// reading once it has them all: the gap document's functions come before
// its categories, subcategories and roadmap, which the server does not need.
// raw was validated as JSON with the request body.
func decodeLeading(name string, raw json.RawMessage, members map[string]any) error {
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return badRequest("%s must be a JSON object", name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return prefixed(name, jsonError(err))
	}
	left := len(members)
	for left > 0 && dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return prefixed(name, jsonError(err))
		}
		key, _ := tok.(string)
		v, ok := members[key]
		if !ok {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return prefixed(name, jsonError(err))
			}
			continue
		}
		if err := dec.Decode(v); err != nil {
			return prefixed(name+"."+key, jsonError(err))
		}
		delete(members, key)
		left--
	}
	return nil
}

func prefixed(name string, err error) error {
	if se, ok := err.(*statusError); ok {
		se.msg = name + ": " + se.msg
	}
	return err
}

func isAbsent(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) == 0 || string(b) == "null"
}

func shortText(name, s string) error {
	if len(s) > maxShortText || !utf8.ValidString(s) || hasControl(s) {
		return badRequest("%s must be printable text of at most %d bytes", name, maxShortText)
	}
	return nil
}

// hasControl reports control characters, line separators and the bidi
// controls that can make text display other than it reads.
// lineBreaks blanks the white space multi-line text may hold.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ")

func hasControl(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == '\u2028', r == '\u2029',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return true
		}
	}
	return false
}

// clip shortens hostile text quoted back in an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
