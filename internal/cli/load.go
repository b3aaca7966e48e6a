package cli

import (
	"fmt"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// checkDiagnostics prints ds and turns them into the exit the contract asks
// for: 2 when the file could not be read, 1 when the model is invalid.
func (a *app) checkDiagnostics(file string, sys *model.System, ds diag.List, advice string) error {
	for _, d := range ds {
		fmt.Fprintln(a.stderr, d.String())
	}
	if validate.Unreadable(ds) {
		return silentExit(ExitUsage)
	}
	if sys == nil || ds.Errors() > 0 {
		return exitWith(ExitFindings, "%s is invalid (%s)%s", file, plural(ds.Errors(), "error"), advice)
	}
	return nil
}

// loadValid reads and validates a model file, printing its diagnostics.
func (a *app) loadValid(file string, cat *catalog.Catalog, advice string) (*model.System, error) {
	sys, ds := validate.File(file, cat, model.DefaultLimits)
	if err := a.checkDiagnostics(file, sys, ds, advice); err != nil {
		return nil, err
	}
	return sys, nil
}

// analyzeFile runs the default analysis on a valid model file.
func (a *app) analyzeFile(file string) (*analysis.Report, error) {
	cat, set, err := a.catalogAndRules()
	if err != nil {
		return nil, err
	}
	sys, err := a.loadValid(file, cat, "")
	if err != nil {
		return nil, err
	}
	today, err := a.today()
	if err != nil {
		return nil, err
	}
	recs, err := a.loadEvidence(file, "", sys, cat, today, evidence.DefaultMaxAge)
	if err != nil {
		return nil, err
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today, Evidence: recs})
	if err != nil {
		return nil, exitWith(ExitUsage, "%v", err)
	}
	return rep, nil
}

// catalogAndRules loads the catalogue and the rule packs, the built-in ones
// plus those in dirs.
func (a *app) catalogAndRules(dirs ...string) (*catalog.Catalog, *rules.Set, error) {
	cat, err := a.catalog()
	if err != nil {
		return nil, nil, err
	}
	set, err := loadRules(cat, dirs...)
	if err != nil {
		return nil, nil, err
	}
	return cat, set, nil
}

// loadRules loads the built-in rule packs plus any in dirs.
func loadRules(cat *catalog.Catalog, dirs ...string) (*rules.Set, error) {
	set, err := rules.Load(cat, dirs...)
	if err != nil {
		return nil, exitWith(ExitUsage, "rule packs:\n%v", err)
	}
	return set, nil
}
