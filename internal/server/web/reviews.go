package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/store"
)

// queuePage is how many escalations the queue page lists at a time.
const queuePage = 100

type reviewsData struct {
	Queue []store.QueueItem
	Page  pager
}

func (h *handler) reviews(w http.ResponseWriter, r *http.Request, p *Principal) {
	q, err := h.d.Store.ReviewQueue(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	lo, hi, pg := page(r.URL.Query(), "/reviews", len(q), queuePage)
	h.render(w, r, http.StatusOK, "reviews", view{Title: "Review board", Section: "reviews", User: p, Data: reviewsData{Queue: q[lo:hi], Page: pg}})
}

// decideForm is the decision form, filled again after an error.
type decideForm struct {
	Decision   string
	Conditions string
	Until      string
	Comment    string
	Version    int
	Error      string
}

// reviewData is the review packet of a system's latest version.
type reviewData struct {
	S         *store.System
	V         *store.Version
	A         *analysed
	Packet    *gate.Packet
	Waiting   bool // escalated and no decision covers it
	Approval  *store.Decision
	DiffNote  string
	Diff      *diff.Result
	Decisions []store.Decision
	CanDecide bool
	WhyNot    string
	Form      decideForm
	Catalog   *catalog.Catalog
}

func (h *handler) review(w http.ResponseWriter, r *http.Request, p *Principal) {
	h.reviewPage(w, r, p, http.StatusOK, decideForm{})
}

// reviewPage renders the packet and the decision form; form carries what
// the reviewer posted when a decision failed.
func (h *handler) reviewPage(w http.ResponseWriter, r *http.Request, p *Principal, status int, form decideForm) {
	ctx := r.Context()
	s, a, err := h.analyseLatest(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := a.Version
	decisions, err := h.d.Store.Decisions(ctx, s.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := reviewData{S: s, V: v, A: a, Decisions: decisions, Form: form, Catalog: h.d.Catalog}
	d.Form.Version = v.Version
	d.Waiting = s.Summary.Verdict == gate.Escalate
	for i := range decisions {
		if decisions[i].ThreatSet == s.Summary.ThreatSet && decisions[i].ThreatSet != "" && d.Waiting {
			d.Waiting = false // a decision covers this threat set already
		}
	}
	if a.Report != nil {
		res := a.Gate
		if res == nil {
			// Not gated, or the gate result was unreadable: the packet
			// still shows risks, precedent and gaps, from the summary.
			res = &gate.Result{System: s.ID, Name: s.Name, Policy: v.Summary.Policy, Verdict: v.Summary.Verdict,
				ThreatSet: v.Summary.ThreatSet, Threats: len(gate.OpenThreats(a.Report))}
		}
		if res.File == "" {
			res.File = v.File
		}
		d.Packet = gate.BuildPacket(res, a.Report, a.Gap)
	}
	// The diff since the last approval shows what changed since the board
	// last said yes.
	for i := range decisions {
		if decisions[i].Decision == "approved" {
			d.Approval = &decisions[i]
			break
		}
	}
	switch {
	case d.Approval == nil:
		d.DiffNote = "No version of this system has been approved by the board, so there is no diff to show."
	case d.Approval.Version == v.Version:
		d.DiffNote = "The approved version is the latest; nothing changed since."
	default:
		res, problem, err := h.compare(ctx, s.ID, d.Approval.Version, v.Version)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		d.Diff, d.DiffNote = res, problem
	}
	d.CanDecide, d.WhyNot = mayDecide(p, v, d.Waiting)
	h.render(w, r, status, "review", view{Title: "Review: " + s.Name, Section: "reviews", User: p, Data: d})
}

// mayDecide says whether to offer the decision form. The server's Decide
// checks again; this only spares a reviewer a form that cannot succeed.
func mayDecide(p *Principal, v *store.Version, waiting bool) (bool, string) {
	switch {
	case p.Role != store.RoleReviewer && p.Role != store.RoleAdmin:
		return false, "Only reviewers and admins decide."
	case v.TokenID == p.TokenID || strings.EqualFold(v.By, p.Name):
		return false, "You pushed this version, so another reviewer must decide on it."
	case !waiting:
		return false, "This system is not waiting for a decision."
	}
	return true, ""
}

// Decision values the form offers.
var decisionChoices = []string{"approved", "rejected", "changes-requested"}

func (h *handler) decide(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !checkCSRF(w, r, p) {
		h.problem(w, r, p, problem{Status: http.StatusForbidden, Message: "The form's security token did not match your session. Reload the page and try again."})
		return
	}
	f := r.PostForm
	form := decideForm{Decision: f.Get("decision"), Conditions: f.Get("conditions"), Until: strings.TrimSpace(f.Get("until")), Comment: f.Get("comment")}
	version, _ := strconv.Atoi(f.Get("version"))
	d := &store.Decision{System: r.PathValue("id"), Version: version, Decision: form.Decision, Comment: form.Comment}
	if form.Decision == "approved" {
		d.Until = form.Until
		for line := range strings.Lines(form.Conditions) {
			if c := strings.TrimSpace(line); c != "" {
				d.Conditions = append(d.Conditions, c)
			}
		}
	}
	var err error
	switch {
	case version < 1:
		form.Error = "The form does not say which version it decides on. Reload the page and try again."
	case !slices.Contains(decisionChoices, form.Decision):
		form.Error = "Choose approve, reject or request changes."
	default:
		err = h.d.Decide(r.Context(), p, d)
	}
	if form.Error == "" && err == nil {
		http.Redirect(w, r, pathOf("systems", d.System)+"#decisions", http.StatusSeeOther)
		return
	}
	status := http.StatusBadRequest
	if err != nil {
		status, form.Error = h.decideProblem(r, err)
	}
	if status == http.StatusNotFound {
		h.fail(w, r, p, store.ErrNotFound)
		return
	}
	h.reviewPage(w, r, p, status, form)
}
