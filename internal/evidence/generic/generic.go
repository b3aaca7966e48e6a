// Package generic reads mlthreat's own evidence JSON
// (schema/evidence.schema.json), the format that results of the Adversarial
// Robustness Toolbox, Counterfit, PyRIT or a manual test are written in to be
// imported. The results array is read one element at a time.
package generic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/jsonwalk"
)

// Limits on a file.
const (
	MaxValue    = 1 << 20 // one result
	MaxResults  = 100_000
	MaxProblems = 1000
)

// Result is one measured attack as the file gives it, with the file's
// defaults applied. The importer turns it into an evidence.Record.
type Result struct {
	Tool        string
	ToolVersion string
	Run         string
	Subject     string
	Attack      string
	Techniques  []string
	Target      string
	Attempts    int
	Successes   int
	Date        string
	Note        string
	Index       int // position in results
}

// File is what a file holds.
type File struct {
	Results  []Result
	Problems []evidence.Problem
}

type header struct {
	Tool        string `json:"tool"`
	ToolVersion string `json:"tool_version"`
	Run         string `json:"run"`
	Subject     string `json:"subject"`
	Target      string `json:"target"`
	Date        string `json:"date"`
}

type item struct {
	Tool        *string  `json:"tool"`
	ToolVersion *string  `json:"tool_version"`
	Run         *string  `json:"run"`
	Subject     *string  `json:"subject"`
	Attack      string   `json:"attack"`
	Technique   string   `json:"technique"`
	Techniques  []string `json:"techniques"`
	Target      *string  `json:"target"`
	Attempts    *int64   `json:"attempts"`
	Successes   *int64   `json:"successes"`
	SuccessRate *float64 `json:"success_rate"`
	Date        *string  `json:"date"`
	Note        string   `json:"note"`
}

var itemKeys = map[string]bool{"tool": true, "tool_version": true, "run": true, "subject": true, "attack": true, "technique": true, "techniques": true, "target": true, "attempts": true, "successes": true, "success_rate": true, "date": true, "note": true}

var headerKeys = map[string]bool{"mlthreat_evidence": true, "tool": true, "tool_version": true, "run": true, "subject": true, "target": true, "date": true, "results": true}

// Read reads an evidence JSON file. Keys may come in any order: results are
// decoded one at a time and take the file's defaults once the whole file is
// read.
func Read(r io.Reader, name string) (*File, error) {
	f := &File{}
	w := jsonwalk.New(r, MaxValue)
	if err := w.Expect('{', "the file"); err != nil {
		return f, fmt.Errorf("%s is not mlthreat evidence JSON: %s", name, jsonwalk.Clean(err))
	}
	var h header
	var items []pending
	version, sawResults := false, false
	for {
		k, ok, err := w.Key()
		if err != nil {
			return f, at(name, w, err)
		}
		if !ok {
			break
		}
		if !headerKeys[k] && !strings.HasPrefix(k, "x-") {
			return f, fmt.Errorf("%s: unknown key %q; expected mlthreat_evidence, tool, tool_version, run, subject, target, date, results", name, k)
		}
		switch k {
		case "mlthreat_evidence":
			var v int
			if err := w.Decode(&v); err != nil || v != evidence.FormatVersion {
				return f, fmt.Errorf("%s: mlthreat_evidence: this build reads version %d", name, evidence.FormatVersion)
			}
			version = true
		case "tool", "tool_version", "run", "subject", "target", "date":
			var s string
			if err := w.Decode(&s); err != nil {
				return f, fmt.Errorf("%s: %s: %s", name, k, jsonwalk.Clean(err))
			}
			*headerField(&h, k) = s
		case "results":
			sawResults = true
			if err := w.Expect('[', "results"); err != nil {
				return f, fmt.Errorf("%s: %s", name, jsonwalk.Clean(err))
			}
			var err error
			if items, err = f.results(name, w); err != nil {
				if len(items) > 0 || len(f.Problems) > 0 {
					f.Problems = append(f.Problems, evidence.Problem{File: name, Msg: err.Error() + "; the results before it are kept"})
					f.resolve(name, items, &h)
					return f, nil
				}
				return f, err
			}
		default:
			if err := w.Skip(); err != nil {
				return f, at(name, w, err)
			}
		}
	}
	if !version {
		return f, fmt.Errorf("%s: missing \"mlthreat_evidence\": %d", name, evidence.FormatVersion)
	}
	if !sawResults {
		return f, fmt.Errorf("%s: missing \"results\"", name)
	}
	f.resolve(name, items, &h)
	return f, nil
}

// pending is a result read but not yet given the file's defaults.
type pending struct {
	it    item
	index int
}

func (f *File) resolve(name string, items []pending, h *header) {
	for _, p := range items {
		res, msg := resolve(&p.it, h)
		if msg != "" {
			f.problem(name, p.index, msg)
			continue
		}
		res.Index = p.index
		f.Results = append(f.Results, res)
	}
	sort.SliceStable(f.Problems, func(i, j int) bool { return problemIndex(f.Problems[i]) < problemIndex(f.Problems[j]) })
}

// problemIndex orders problems by the result they are about.
func problemIndex(p evidence.Problem) int {
	var n int
	if _, err := fmt.Sscanf(p.Msg, "results[%d]", &n); err != nil {
		return math.MaxInt
	}
	return n
}

func headerField(h *header, k string) *string {
	switch k {
	case "tool":
		return &h.Tool
	case "tool_version":
		return &h.ToolVersion
	case "run":
		return &h.Run
	case "subject":
		return &h.Subject
	case "target":
		return &h.Target
	}
	return &h.Date
}

func (f *File) results(name string, w *jsonwalk.Walker) ([]pending, error) {
	var items []pending
	for i := 0; w.More(); i++ {
		var raw json.RawMessage
		if err := w.Decode(&raw); err != nil {
			return items, fmt.Errorf("results[%d]: at byte %d: %s", i, w.Offset(), jsonwalk.Clean(err))
		}
		if len(items) >= MaxResults {
			f.problem(name, i, fmt.Sprintf("more than %d results; skipped", MaxResults))
			continue
		}
		it, msg := decodeItem(raw)
		if msg != "" {
			f.problem(name, i, msg)
			continue
		}
		items = append(items, pending{it, i})
	}
	if _, err := w.Token(); err != nil {
		return items, fmt.Errorf("results: %s", jsonwalk.Clean(err))
	}
	return items, nil
}

func decodeItem(raw json.RawMessage) (item, string) {
	var it item
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return it, jsonwalk.Clean(err)
	}
	for k := range keys {
		if !itemKeys[k] && !strings.HasPrefix(k, "x-") {
			return it, fmt.Sprintf("unknown key %q", k)
		}
	}
	if err := json.Unmarshal(raw, &it); err != nil {
		return it, jsonwalk.Clean(err)
	}
	return it, ""
}

func resolve(it *item, h *header) (Result, string) {
	res := Result{
		Tool: pick(it.Tool, h.Tool), ToolVersion: pick(it.ToolVersion, h.ToolVersion), Run: pick(it.Run, h.Run),
		Subject: pick(it.Subject, h.Subject), Attack: it.Attack, Target: pick(it.Target, h.Target),
		Date: pick(it.Date, h.Date), Note: it.Note, Techniques: it.Techniques,
	}
	if it.Tool != nil && *it.Tool != h.Tool {
		// Another tool than the file's: the file's version is not its.
		res.ToolVersion = pick(it.ToolVersion, "")
	}
	if it.Technique != "" {
		res.Techniques = append([]string{it.Technique}, res.Techniques...)
	}
	switch {
	case res.Tool == "":
		return res, "no tool (give it in the result or at the top of the file)"
	case res.Attack == "":
		return res, "no attack: name the attack, probe or test that was run"
	case len(res.Techniques) == 0:
		return res, "no technique: give the ATLAS technique(s) the attack exercises"
	case res.Date == "":
		return res, "no date (YYYY-MM-DD)"
	case it.Attempts == nil:
		return res, "no attempts: give the sample size"
	case *it.Attempts < 1 || *it.Attempts > evidence.MaxAttempts:
		return res, fmt.Sprintf("attempts %d: must be at least 1", *it.Attempts)
	}
	res.Attempts = int(*it.Attempts)
	switch {
	case it.Successes != nil:
		if *it.Successes < 0 || *it.Successes > *it.Attempts {
			return res, fmt.Sprintf("successes %d: must be between 0 and attempts (%d)", *it.Successes, *it.Attempts)
		}
		res.Successes = int(*it.Successes)
		if it.SuccessRate != nil && math.Abs(*it.SuccessRate-float64(res.Successes)/float64(res.Attempts)) > 0.005 {
			return res, fmt.Sprintf("success_rate %g disagrees with successes/attempts (%d/%d)", *it.SuccessRate, res.Successes, res.Attempts)
		}
	case it.SuccessRate != nil:
		if *it.SuccessRate < 0 || *it.SuccessRate > 1 || math.IsNaN(*it.SuccessRate) {
			return res, fmt.Sprintf("success_rate %g: must be between 0 and 1", *it.SuccessRate)
		}
		res.Successes = int(math.Round(*it.SuccessRate * float64(res.Attempts)))
	default:
		return res, "give successes or success_rate"
	}
	return res, ""
}

func pick(v *string, dflt string) string {
	if v != nil {
		return *v
	}
	return dflt
}

func (f *File) problem(name string, i int, msg string) {
	if len(f.Problems) < MaxProblems {
		f.Problems = append(f.Problems, evidence.Problem{File: name, Msg: fmt.Sprintf("results[%d]: %s", i, msg)})
	}
}

func at(name string, w *jsonwalk.Walker, err error) error {
	if errors.Is(err, jsonwalk.ErrTooLarge) {
		return fmt.Errorf("%s: at byte %d: a value larger than %d KiB", name, w.Offset(), MaxValue>>10)
	}
	return fmt.Errorf("%s: at byte %d: %s", name, w.Offset(), jsonwalk.Clean(err))
}
