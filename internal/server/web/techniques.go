package web

import (
	"net/http"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/store"
)

// exposurePage is how many exposures the technique page lists at a time.
const exposurePage = 200

type techniqueData struct {
	T       *catalog.Technique
	Parent  *catalog.Technique
	Tactics []catalog.Tactic
	Subs    []catalog.Technique
	Exposed []store.Exposure
	Systems int // distinct systems exposed
	Page    pager
}

// technique shows an ATLAS technique and every system exposed to it or to
// one of its sub-techniques.
func (h *handler) technique(w http.ResponseWriter, r *http.Request, p *Principal) {
	t := h.d.Catalog.Technique(r.PathValue("id"))
	if t == nil {
		h.problem(w, r, p, problem{Status: http.StatusNotFound, Message: "The ATLAS catalogue the server uses has no technique with this id."})
		return
	}
	exposed, err := h.d.Store.Exposed(r.Context(), t.ID, true)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := techniqueData{T: t}
	if t.Parent != "" {
		d.Parent = h.d.Catalog.Technique(t.Parent)
	}
	for _, id := range t.Tactics {
		if ta := h.d.Catalog.Tactic(id); ta != nil {
			d.Tactics = append(d.Tactics, *ta)
		} else {
			d.Tactics = append(d.Tactics, catalog.Tactic{ID: id})
		}
	}
	for _, id := range h.d.Catalog.Subtechniques(t.ID) {
		if s := h.d.Catalog.Technique(id); s != nil {
			d.Subs = append(d.Subs, *s)
		}
	}
	seen := map[string]bool{}
	for _, e := range exposed {
		if !seen[e.System] {
			seen[e.System] = true
			d.Systems++
		}
	}
	lo, hi, pg := page(r.URL.Query(), pathOf("techniques", t.ID), len(exposed), exposurePage)
	d.Exposed, d.Page = exposed[lo:hi], pg
	h.render(w, r, http.StatusOK, "technique", view{Title: t.ID + " " + t.Name, User: p, Data: d})
}
