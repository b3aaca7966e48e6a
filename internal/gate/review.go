package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/model"
)

// Record is a signed review of a threat model, kept beside the model file.
type Record struct {
	Format    int              `json:"mlthreat_review"`
	System    string           `json:"system"`
	File      string           `json:"file"`
	Date      string           `json:"date"`
	By        string           `json:"by"`
	Note      string           `json:"note,omitempty"`
	Model     string           `json:"model_sha256"`
	Artifacts []ArtifactDigest `json:"artifacts"`
	Threats   []ThreatRef      `json:"open_threats"`
	ThreatSet string           `json:"threat_set"`
	Tool      string           `json:"tool"`
}

// ArtifactDigest is a file and its sha256.
type ArtifactDigest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ThreatRef names a threat and its residual severity.
type ThreatRef struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Target   string `json:"target"`
}

// RecordPath is where the signed review of a model file lives:
// system.yaml -> system.review.json.
func RecordPath(modelFile string) string {
	ext := filepath.Ext(modelFile)
	return strings.TrimSuffix(modelFile, ext) + ".review.json"
}

// ReadRecord reads a signed review; it returns nil, nil when there is none.
func ReadRecord(path string) (*Record, error) {
	b, err := readLimited(path, 16<<20)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: not a review record: %v", path, err)
	}
	if r.Format != 1 {
		return nil, fmt.Errorf("%s: review record format %d; expected 1", path, r.Format)
	}
	return &r, nil
}

// WriteRecord writes a record atomically.
func WriteRecord(path string, r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// FileDigest is the lower-case hex sha256 of a regular file.
func FileDigest(path string) (string, error) {
	// Stat first: opening a FIFO or a device would block or never end.
	if fi, err := os.Stat(path); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ArtifactState is a pinned artifact as found on disk.
type ArtifactState struct {
	Artifact *model.Artifact
	Path     string // resolved against the model file's directory
	Actual   string // sha256 on disk, "" when unreadable
	Err      error  // why it could not be read
}

// Matches reports whether the file is there with the pinned digest.
func (a ArtifactState) Matches() bool { return a.Err == nil && a.Actual == a.Artifact.SHA256 }

// CheckArtifacts hashes every artifact the model pins.
func CheckArtifacts(modelFile string, s *model.System) []ArtifactState {
	dir := filepath.Dir(modelFile)
	out := make([]ArtifactState, 0, len(s.Info.Artifacts))
	for _, a := range s.Info.Artifacts {
		p := a.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st := ArtifactState{Artifact: a, Path: p}
		st.Actual, st.Err = FileDigest(p)
		if os.IsNotExist(st.Err) {
			st.Err = fmt.Errorf("artifact %s is missing (no file at %s)", a.Path, p)
		} else if st.Err != nil {
			st.Err = fmt.Errorf("artifact %s cannot be read: %v", a.Path, cleanErr(st.Err))
		}
		out = append(out, st)
	}
	return out
}

func cleanErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// OpenThreats lists the threats still open or in progress, by residual
// severity then id.
func OpenThreats(r *analysis.Report) []ThreatRef {
	var out []ThreatRef
	for _, t := range r.Threats {
		if !isOpen(t) {
			continue
		}
		out = append(out, ThreatRef{ID: t.ID, Severity: t.Residual.Severity, Title: t.Rule.Title, Target: t.Target.ID()})
	}
	slices.SortFunc(out, func(a, b ThreatRef) int {
		if d := analysis.SeverityRank(b.Severity) - analysis.SeverityRank(a.Severity); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func isOpen(t *analysis.Threat) bool { return t.Status == "open" || t.Status == "in-progress" }

// ThreatSet digests the open threats and their residual severities: an
// approval names it and lapses when it changes.
func ThreatSet(open []ThreatRef) string {
	lines := make([]string, len(open))
	for i, t := range open {
		lines[i] = t.ID + " " + t.Severity
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// Sign builds the review record of a valid model whose pinned artifacts all
// match. It refuses to sign over a missing or changed artifact.
func Sign(modelFile string, s *model.System, r *analysis.Report, by, note, tool string, today time.Time) (*Record, error) {
	digest, err := FileDigest(modelFile)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		Format: 1, System: s.Info.ID, File: filepath.Base(modelFile), Date: today.Format("2006-01-02"),
		By: by, Note: note, Model: digest, Artifacts: []ArtifactDigest{}, Tool: tool,
	}
	var problems []string
	for _, a := range CheckArtifacts(modelFile, s) {
		switch {
		case a.Err != nil:
			problems = append(problems, a.Err.Error())
		case !a.Matches():
			problems = append(problems, fmt.Sprintf("artifact %s has sha256 %s, but the model pins %s; update system.artifacts if the change is intended", a.Artifact.Path, a.Actual, a.Artifact.SHA256))
		default:
			rec.Artifacts = append(rec.Artifacts, ArtifactDigest{Path: a.Artifact.Path, SHA256: a.Actual})
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cannot sign the review:\n  %s", strings.Join(problems, "\n  "))
	}
	rec.Threats = OpenThreats(r)
	if rec.Threats == nil {
		rec.Threats = []ThreatRef{}
	}
	rec.ThreatSet = ThreatSet(rec.Threats)
	return rec, nil
}
