// Package garak reads NVIDIA garak's report (<prefix>.report.jsonl) and hit
// log (<prefix>.hitlog.jsonl) as a stream, one line at a time, so reports of
// any size are read in bounded memory. A bad line is reported with its
// number and the good lines are kept.
//
// Report lines carry an entry_type. The ones read here:
//   - "start_run setup": the run's configuration (_config.version, the
//     generator as plugins.target_type/target_name or, before 0.11,
//     plugins.model_type/model_name);
//   - "init": garak_version, start_time and the run id;
//   - "eval": one probe and detector: passed and total up to 0.13 (total
//     counts the outputs judged); from 0.14 passed, fails, nones and
//     total_evaluated. The attack success rate is fails / total_evaluated,
//     or (total - passed) / total in the older form;
//   - "digest": the run's meta (version, start time, run id) at the end.
//
// "attempt", "completion", "probe_summary" and any other type are checked
// to be JSON and otherwise skipped.
package garak

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/jsonwalk"
)

// Limits on a report. A line longer than MaxLine is skipped and reported;
// MaxEvals distinct probe and detector pairs are far more than garak has.
const (
	MaxLine     = 16 << 20
	MaxEvals    = 100_000
	MaxProblems = 1000
)

// Newest is the newest garak release whose report format this package was
// written against; KnownOldest the oldest.
const (
	Newest      = "0.16"
	KnownOldest = "0.9"
)

// Eval is the result of one probe as one detector judged it.
type Eval struct {
	Probe     string // module.Class
	Detector  string
	Attempts  int // outputs judged
	Successes int // outputs the detector flagged: the attack worked
	Hits      int // hit log entries for the pair
	Line      int // line of the (first) eval entry
}

// Report is what a report file says.
type Report struct {
	Version  string // garak version
	Run      string // run id
	Start    string // start time as written (ISO 8601)
	Subject  string // the generator tested, "type name"
	Evals    []Eval
	Lines    int
	Problems []evidence.Problem // bad lines, each with its number
	Warnings []string
}

type entry struct {
	EntryType      string      `json:"entry_type"`
	GarakVersion   string      `json:"garak_version"`
	StartTime      string      `json:"start_time"`
	Run            string      `json:"run"`
	Probe          string      `json:"probe"`
	Detector       string      `json:"detector"`
	Passed         *int64      `json:"passed"`
	Fails          *int64      `json:"fails"`
	Nones          *int64      `json:"nones"`
	Total          *int64      `json:"total"`
	TotalEvaluated *int64      `json:"total_evaluated"`
	ConfigVersion  string      `json:"_config.version"`
	RunID          string      `json:"transient.run_id"`
	TargetType     *string     `json:"plugins.target_type"`
	TargetName     *string     `json:"plugins.target_name"`
	ModelType      *string     `json:"plugins.model_type"`
	ModelName      *string     `json:"plugins.model_name"`
	Meta           *digestMeta `json:"meta"`
}

type digestMeta struct {
	GarakVersion string `json:"garak_version"`
	StartTime    string `json:"start_time"`
	RunUUID      string `json:"run_uuid"`
}

type key struct{ probe, detector string }

// Read reads a report. The error is for input that cannot be read at all,
// or that holds no garak entry; everything else is a Problem or Warning.
func Read(r io.Reader, name string) (*Report, error) {
	rep := &Report{}
	index := map[key]int{}
	entries := 0
	var firstBad string
	err := Lines(r, MaxLine, func(n int, line []byte, tooLong bool) {
		rep.Lines = n
		if tooLong {
			rep.problem(name, n, fmt.Sprintf("line longer than %d MiB; skipped", MaxLine>>20))
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return
		}
		if isAttempt(line) {
			// The bulk of a report; only checked, never decoded.
			if !json.Valid(line) {
				rep.problem(name, n, "attempt entry is not valid JSON (truncated?); skipped")
				return
			}
			entries++
			return
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			msg := jsonwalk.Clean(err)
			if firstBad == "" {
				firstBad = msg
			}
			rep.problem(name, n, msg+"; skipped")
			return
		}
		if e.EntryType == "" {
			rep.problem(name, n, "no entry_type; not a garak report line; skipped")
			return
		}
		entries++
		rep.take(name, n, &e, index)
	})
	if err != nil {
		return rep, fmt.Errorf("%s: %v", name, err)
	}
	if entries == 0 {
		why := "no line with an entry_type"
		if firstBad != "" {
			why = "its first bad line says: " + firstBad
		}
		return rep, fmt.Errorf("%s is not a garak report: %s", name, why)
	}
	rep.checkVersion()
	return rep, nil
}

func (rep *Report) problem(name string, n int, msg string) {
	if len(rep.Problems) < MaxProblems {
		rep.Problems = append(rep.Problems, evidence.Problem{File: name, Line: n, Msg: msg})
	} else if len(rep.Problems) == MaxProblems {
		rep.Problems = append(rep.Problems, evidence.Problem{File: name, Line: n, Msg: "too many problems; no more are reported"})
	}
}

var attemptPrefix = []byte(`"entry_type"`)

// isAttempt spots the attempt entries, which garak writes with entry_type
// first, without decoding them.
func isAttempt(line []byte) bool {
	head := line[:min(len(line), 64)]
	i := bytes.Index(head, attemptPrefix)
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(head[i+len(attemptPrefix):], " \t:")
	return bytes.HasPrefix(rest, []byte(`"attempt"`))
}

func (rep *Report) take(name string, n int, e *entry, index map[key]int) {
	switch e.EntryType {
	case "start_run setup":
		if rep.Version == "" {
			rep.Version = e.ConfigVersion
		}
		if rep.Run == "" {
			rep.Run = e.RunID
		}
		typ, nm := deref(e.TargetType), deref(e.TargetName)
		if typ == "" {
			typ, nm = deref(e.ModelType), deref(e.ModelName)
		}
		rep.Subject = strings.TrimSpace(typ + " " + nm)
	case "init":
		if e.GarakVersion != "" {
			rep.Version = e.GarakVersion
		}
		if e.Run != "" {
			rep.Run = e.Run
		}
		if e.StartTime != "" {
			rep.Start = e.StartTime
		}
	case "digest":
		if m := e.Meta; m != nil {
			if rep.Version == "" {
				rep.Version = m.GarakVersion
			}
			if rep.Run == "" {
				rep.Run = m.RunUUID
			}
			if rep.Start == "" {
				rep.Start = m.StartTime
			}
		}
	case "completion":
		if rep.Run == "" {
			rep.Run = e.Run
		}
	case "eval":
		rep.eval(name, n, e, index)
	}
}

func (rep *Report) eval(name string, n int, e *entry, index map[key]int) {
	probe := strings.TrimPrefix(e.Probe, "probes.")
	det := strings.TrimPrefix(e.Detector, "detectors.")
	pp, pd := evidence.Printable(probe), evidence.Printable(det)
	if probe == "" || det == "" {
		rep.problem(name, n, "eval entry without probe or detector; skipped")
		return
	}
	if len(probe) > evidence.MaxText || len(det) > evidence.MaxText {
		rep.problem(name, n, "eval entry with an overlong probe or detector name; skipped")
		return
	}
	var attempts, successes int64
	switch {
	case e.Passed == nil:
		rep.problem(name, n, fmt.Sprintf("eval of %s by %s has no passed count; skipped", pp, pd))
		return
	case e.TotalEvaluated != nil && e.Fails != nil: // 0.14 and later
		attempts, successes = *e.TotalEvaluated, *e.Fails
		if *e.Passed+*e.Fails != attempts {
			rep.problem(name, n, fmt.Sprintf("eval of %s by %s: passed %d + fails %d is not total_evaluated %d; skipped", pp, pd, *e.Passed, *e.Fails, attempts))
			return
		}
	case e.TotalEvaluated != nil:
		attempts, successes = *e.TotalEvaluated, *e.TotalEvaluated-*e.Passed
	case e.Total != nil: // up to 0.13
		attempts, successes = *e.Total, *e.Total-*e.Passed
	default:
		rep.problem(name, n, fmt.Sprintf("eval of %s by %s has neither total_evaluated nor total; skipped", pp, pd))
		return
	}
	if attempts < 0 || successes < 0 || *e.Passed < 0 || attempts > evidence.MaxAttempts || (e.Nones != nil && *e.Nones < 0) {
		rep.problem(name, n, fmt.Sprintf("eval of %s by %s: counts out of range (passed %d of %d); skipped", pp, pd, *e.Passed, attempts))
		return
	}
	if attempts == 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s:%d: %s judged by %s evaluated no outputs; nothing to record", name, n, pp, pd))
		return
	}
	k := key{probe, det}
	if i, ok := index[k]; ok {
		ev := &rep.Evals[i]
		if int64(ev.Attempts)+attempts > evidence.MaxAttempts {
			rep.problem(name, n, "eval counts overflow; skipped")
			return
		}
		ev.Attempts += int(attempts)
		ev.Successes += int(successes)
		return
	}
	if len(rep.Evals) >= MaxEvals {
		rep.problem(name, n, fmt.Sprintf("more than %d probe and detector pairs; skipped", MaxEvals))
		return
	}
	index[k] = len(rep.Evals)
	rep.Evals = append(rep.Evals, Eval{Probe: probe, Detector: det, Attempts: int(attempts), Successes: int(successes), Line: n})
}

func (rep *Report) checkVersion() {
	v := evidence.Printable(rep.Version)
	if v == "" {
		rep.Warnings = append(rep.Warnings, "no garak version in the report (no setup, init or digest entry); read by the fields each eval entry has")
		return
	}
	major, minor, ok := majorMinor(rep.Version)
	newMajor, newMinor, _ := majorMinor(Newest)
	oldMajor, oldMinor, _ := majorMinor(KnownOldest)
	switch {
	case !ok:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("garak version %s is not a version this build can read; read by the fields each eval entry has", v))
	case major > newMajor || (major == newMajor && minor > newMinor):
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("garak %s is newer than %s, the newest this build knows; read by the fields each eval entry has, check the result", v, Newest))
	case major < oldMajor || (major == oldMajor && minor < oldMinor):
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("garak %s is older than %s, the oldest this build knows; read by the fields each eval entry has, check the result", v, KnownOldest))
	}
}

func majorMinor(v string) (int, int, bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(parts[1])
	return a, b, err1 == nil && err2 == nil && a >= 0 && b >= 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Hitlog counts the hits of a hit log by probe and detector. Lines of
// another run than run (when both are known) are counted in foreign.
func Hitlog(r io.Reader, name, run string) (hits map[[2]string]int, foreign int, problems []evidence.Problem, err error) {
	hits = map[[2]string]int{}
	err = Lines(r, MaxLine, func(n int, line []byte, tooLong bool) {
		if tooLong {
			problems = appendCapped(problems, evidence.Problem{File: name, Line: n, Msg: "line too long; skipped"})
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return
		}
		var h struct {
			Probe    string `json:"probe"`
			Detector string `json:"detector"`
			RunID    string `json:"run_id"`
		}
		if e := json.Unmarshal(line, &h); e != nil {
			problems = appendCapped(problems, evidence.Problem{File: name, Line: n, Msg: jsonwalk.Clean(e) + "; skipped"})
			return
		}
		if h.Probe == "" || h.Detector == "" {
			problems = appendCapped(problems, evidence.Problem{File: name, Line: n, Msg: "hit without probe or detector; skipped"})
			return
		}
		if run != "" && h.RunID != "" && h.RunID != run {
			foreign++
			return
		}
		k := [2]string{strings.TrimPrefix(h.Probe, "probes."), strings.TrimPrefix(h.Detector, "detectors.")}
		if _, ok := hits[k]; !ok && len(hits) >= MaxEvals {
			return
		}
		hits[k]++
	})
	return hits, foreign, problems, err
}

func appendCapped(ps []evidence.Problem, p evidence.Problem) []evidence.Problem {
	if len(ps) < MaxProblems {
		ps = append(ps, p)
	}
	return ps
}

// Lines calls fn for every line of r, numbered from 1, without its line
// ending. A line longer than max is not kept: fn gets tooLong and no text.
func Lines(r io.Reader, max int, fn func(n int, line []byte, tooLong bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	n, over := 0, false
	for {
		chunk, err := br.ReadSlice('\n')
		if !over {
			if len(buf)+len(bytes.TrimRight(chunk, "\r\n")) > max {
				over, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(chunk) > 0 || len(buf) > 0 || over {
			n++
			fn(n, bytes.TrimRight(buf, "\r\n"), over)
		}
		buf, over = buf[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
