// Package promptfoo reads the JSON that `promptfoo eval --output FILE.json`
// and `promptfoo redteam run` write, one result row at a time through
// encoding/json's token stream, so a file of any size is read in bounded
// memory.
//
// The file is an object {evalId, results: {version, timestamp, results: [...],
// stats}, config, metadata: {promptfooVersion, ...}}. A red-team row names
// its plugin in testCase.metadata.pluginId (and its strategy in strategyId);
// rows without a pluginId are plain evaluations and are not evidence. A row
// whose `success` is false is an attack that worked; a row that failed with
// an error (failureReason 2) judged nothing and is not counted.
package promptfoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/jsonwalk"
)

// Limits: one row, or any other single value, may not exceed MaxValue bytes.
const (
	MaxValue    = 64 << 20
	MaxGroups   = 100_000
	MaxProblems = 1000
)

// Group is the tally of one plugin, delivered by one strategy, against one
// provider.
type Group struct {
	Plugin    string
	Strategy  string
	Provider  string
	Attempts  int // rows judged
	Successes int // rows where the attack worked
	Errors    int // rows that failed with an error and judged nothing
	First     int // index of the group's first row in results.results
}

// Report is what the file says.
type Report struct {
	EvalID    string
	Version   string // promptfoo version, from metadata.promptfooVersion
	Timestamp string // results.timestamp, or metadata.evaluationCreatedAt
	Format    int    // results.version
	Groups    []Group
	Rows      int // rows read
	Plain     int // rows without a plugin id
	Problems  []evidence.Problem
	Warnings  []string
}

type row struct {
	Success       *bool                 `json:"success"`
	FailureReason *int                  `json:"failureReason"`
	GradingResult *struct{ Pass *bool } `json:"gradingResult"`
	Provider      json.RawMessage       `json:"provider"`
	TestCase      struct {
		Metadata meta            `json:"metadata"`
		Provider json.RawMessage `json:"provider"`
	} `json:"testCase"`
	Metadata meta `json:"metadata"`
}

type meta struct {
	PluginID   string `json:"pluginId"`
	StrategyID string `json:"strategyId"`
}

type groupKey struct{ plugin, strategy, provider string }

// errStop ends the reading after a row that could not be read; the rows
// before it are kept and the problem is reported.
var errStop = errors.New("stop")

// Read reads a promptfoo output file. The error is for input that cannot be
// read or is not shaped like promptfoo output; a bad row is a Problem.
func Read(r io.Reader, name string) (*Report, error) {
	rep := &Report{}
	w := jsonwalk.New(r, MaxValue)
	index := map[groupKey]int{}
	if err := w.Expect('{', "the file"); err != nil {
		return rep, shape(name, err)
	}
	sawResults := false
	err := rep.top(name, w, index, &sawResults)
	switch {
	case err == errStop:
	case err != nil && sawResults && rep.Rows > 0:
		// The rows are in; only what follows them is damaged.
		rep.Problems = append(rep.Problems, evidence.Problem{File: name, Msg: err.Error() + "; the rows before it are kept"})
	case err != nil:
		return rep, err
	case !sawResults:
		return rep, fmt.Errorf("%s is not promptfoo output: it has no \"results\"", name)
	}
	if rep.Format != 0 && rep.Format != 2 && rep.Format != 3 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("results.version %d is not one this build knows (2 or 3); read like 3, check the result", rep.Format))
	}
	return rep, nil
}

// top reads the keys of the top-level object.
func (rep *Report) top(name string, w *jsonwalk.Walker, index map[groupKey]int, sawResults *bool) error {
	for {
		k, ok, err := w.Key()
		if err != nil {
			return fail(name, w, err)
		}
		if !ok {
			return nil
		}
		switch k {
		case "evalId":
			if err := w.Decode(&rep.EvalID); err != nil {
				return fail(name, w, fmt.Errorf("evalId: %s", jsonwalk.Clean(err)))
			}
		case "metadata":
			var m struct {
				PromptfooVersion    string `json:"promptfooVersion"`
				EvaluationCreatedAt string `json:"evaluationCreatedAt"`
			}
			if err := w.Decode(&m); err != nil {
				return fail(name, w, fmt.Errorf("metadata: %s", jsonwalk.Clean(err)))
			}
			rep.Version = m.PromptfooVersion
			if rep.Timestamp == "" {
				rep.Timestamp = m.EvaluationCreatedAt
			}
		case "results":
			*sawResults = true
			if err := rep.results(name, w, index); err != nil {
				return err
			}
		default:
			if err := w.Skip(); err != nil {
				return fail(name, w, err)
			}
		}
	}
}

// results reads the `results` value: the summary object, or (in the
// oldest files) the array of rows itself.
func (rep *Report) results(name string, w *jsonwalk.Walker, index map[groupKey]int) error {
	t, err := w.Token()
	if err != nil {
		return fail(name, w, err)
	}
	if t == json.Delim('[') {
		return rep.rows(name, w, index)
	}
	if t != json.Delim('{') {
		return fmt.Errorf("%s is not promptfoo output: \"results\" is %s, expected an object", name, jsonwalk.Describe(t))
	}
	for {
		k, ok, err := w.Key()
		if err != nil {
			return fail(name, w, err)
		}
		if !ok {
			return nil
		}
		switch k {
		case "version":
			if err := w.Decode(&rep.Format); err != nil {
				return fail(name, w, fmt.Errorf("results.version: %s", jsonwalk.Clean(err)))
			}
		case "timestamp":
			var ts string
			if err := w.Decode(&ts); err != nil {
				return fail(name, w, fmt.Errorf("results.timestamp: %s", jsonwalk.Clean(err)))
			}
			rep.Timestamp = ts
		case "results":
			if err := w.Expect('[', "results.results"); err != nil {
				return shape(name, err)
			}
			if err := rep.rows(name, w, index); err != nil {
				return err
			}
		default:
			if err := w.Skip(); err != nil {
				return fail(name, w, err)
			}
		}
	}
}

func (rep *Report) rows(name string, w *jsonwalk.Walker, index map[groupKey]int) error {
	for i := 0; w.More(); i++ {
		var rw row
		if err := w.Decode(&rw); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				// The row was read whole; only a field had the wrong type.
				rep.problem(name, i, jsonwalk.Clean(err)+"; skipped")
				rep.Rows++
				continue
			}
			rep.problem(name, i, fmt.Sprintf("at byte %d: %s; the %d rows before it are kept", w.Offset(), jsonwalk.Clean(err), i))
			return errStop
		}
		rep.Rows++
		rep.add(name, i, &rw, index)
	}
	if _, err := w.Token(); err != nil { // ']'
		rep.problem(name, rep.Rows, "the file ends after the last row (truncated?); the rows are kept")
		return errStop
	}
	return nil
}

func (rep *Report) add(name string, i int, rw *row, index map[groupKey]int) {
	m := rw.TestCase.Metadata
	if m.PluginID == "" {
		m = rw.Metadata
	}
	if m.PluginID == "" {
		rep.Plain++
		return
	}
	if len(m.PluginID) > evidence.MaxText || len(m.StrategyID) > evidence.MaxText {
		rep.problem(name, i, "overlong plugin or strategy id; skipped")
		return
	}
	provider := providerID(rw.Provider)
	if provider == "" {
		provider = providerID(rw.TestCase.Provider)
	}
	k := groupKey{m.PluginID, m.StrategyID, provider}
	gi, ok := index[k]
	if !ok {
		if len(rep.Groups) >= MaxGroups {
			rep.problem(name, i, fmt.Sprintf("more than %d plugin, strategy and provider combinations; skipped", MaxGroups))
			return
		}
		gi = len(rep.Groups)
		index[k] = gi
		rep.Groups = append(rep.Groups, Group{Plugin: m.PluginID, Strategy: m.StrategyID, Provider: provider, First: i})
	}
	g := &rep.Groups[gi]
	if rw.FailureReason != nil && *rw.FailureReason == 2 {
		g.Errors++
		return
	}
	pass := rw.Success
	if pass == nil && rw.GradingResult != nil {
		pass = rw.GradingResult.Pass
	}
	if pass == nil {
		rep.problem(name, i, "row has neither success nor gradingResult.pass; skipped")
		return
	}
	if g.Attempts >= evidence.MaxAttempts {
		return
	}
	g.Attempts++
	if !*pass {
		g.Successes++
	}
}

// providerID reads a provider given as a string or as {id, label}.
func providerID(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clip(s)
	}
	var p struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	if json.Unmarshal(raw, &p) == nil {
		if p.Label != "" {
			return clip(p.Label)
		}
		return clip(p.ID)
	}
	return ""
}

func clip(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return strings.TrimSpace(s)
}

func (rep *Report) problem(name string, i int, msg string) {
	if len(rep.Problems) < MaxProblems {
		rep.Problems = append(rep.Problems, evidence.Problem{File: name, Msg: fmt.Sprintf("results.results[%d]: %s", i, msg)})
	}
}

func shape(name string, err error) error {
	return fmt.Errorf("%s is not promptfoo output: %s", name, jsonwalk.Clean(err))
}

func fail(name string, w *jsonwalk.Walker, err error) error {
	return fmt.Errorf("%s: at byte %d: %s", name, w.Offset(), jsonwalk.Clean(err))
}
