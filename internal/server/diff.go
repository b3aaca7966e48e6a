package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/diff"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/diffreport"
	"github.com/mlthreat/mlthreat/internal/server/web"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// handleDiff is GET /api/v1/systems/{id}/diff?from=N&to=M&format=json|markdown.
// The server analyses both stored models again with its own catalogue and
// rules, so the diff compares like with like whatever tool versions
// pushed them.
func (s *Server) handleDiff(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	q, err := query(r, "from", "to", "format")
	if err != nil {
		return err
	}
	format, err := oneOfParam(q, "format", "json", "markdown")
	if err != nil {
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
	to, err := intParam(q, "to", sys.Latest, 1, sys.Latest)
	if err != nil {
		return err
	}
	if q.Get("from") == "" && to == 1 {
		return badRequest("version 1 of %q has no earlier version to compare it with; pass from= and to=", id)
	}
	from, err := intParam(q, "from", to-1, 1, sys.Latest)
	if err != nil {
		return err
	}
	before, err := s.analyseVersion(r, id, from)
	if err != nil {
		return err
	}
	after, err := s.analyseVersion(r, id, to)
	if err != nil {
		return err
	}
	res := diff.Compare(before, after)
	var buf bytes.Buffer
	if format == "markdown" {
		err = diffreport.Markdown(&buf, res)
	} else {
		err = diffreport.JSON(&buf, res, s.toolVersion)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	if format == "markdown" {
		h.Set("Content-Type", "text/markdown; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// analyseVersion loads a stored version's model (and evidence) and
// analyses it as of now.
func (s *Server) analyseVersion(r *http.Request, id string, n int) (*analysis.Report, error) {
	v, err := s.loadVersion(r, id, n)
	if err != nil {
		return nil, err
	}
	b, err := s.store.Blob(r.Context(), v.Model)
	if err != nil {
		return nil, err
	}
	sys, ds := model.Load(v.File, b, model.DefaultLimits)
	if sys != nil {
		ds = append(ds, validate.Frameworks(sys, s.cfg.Catalog)...)
	}
	if sys == nil || ds.Errors() > 0 {
		return nil, newError(http.StatusUnprocessableEntity, nil,
			"version %d of %q no longer validates against this server's catalogue (%d errors); it cannot be analysed again", n, id, ds.Errors())
	}
	var recs []evidence.Record
	if v.Evidence != "" {
		eb, err := s.store.Blob(r.Context(), v.Evidence)
		if err != nil {
			return nil, err
		}
		if recs, err = evidence.Parse("evidence", eb); err != nil {
			return nil, newError(http.StatusUnprocessableEntity, nil, "the evidence of version %d of %q no longer parses: %v", n, id, err)
		}
		recs = analysis.UsableEvidence(sys, s.cfg.Catalog, recs)
	}
	rep, err := analysis.Analyze(sys, s.cfg.Catalog, s.cfg.Rules, analysis.Options{Today: s.now().UTC(), Evidence: recs})
	if err != nil {
		return nil, fmt.Errorf("analysing version %d of %s: %w", n, id, err)
	}
	return rep, nil
}
