package testplan_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/evidence/mapping"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/testplan"
	"github.com/mlthreat/mlthreat/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func plan(t *testing.T, path string, recs []evidence.Record) (*testplan.Plan, *catalog.Catalog) {
	t.Helper()
	cat := catalog.Default()
	set, err := rules.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	s, ds := validate.File(path, cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{Today: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Evidence: recs})
	if err != nil {
		t.Fatal(err)
	}
	return testplan.Build(r, mapping.Default(), "../system.yaml"), cat
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The plan and the tool files of every example match their golden files,
// the script is valid shell and the configs are valid YAML.
func TestExamples(t *testing.T) {
	dirs, _ := filepath.Glob("../../examples/*/system.yaml")
	if len(dirs) < 5 {
		t.Fatalf("examples missing: %v", dirs)
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			p, cat := plan(t, path, nil)
			outputs := map[string]func(io.Writer) error{
				"testplan.txt": func(w io.Writer) error { return p.WriteText(w, cat) },
			}
			if len(p.Garak) > 0 {
				outputs["garak.sh"] = p.WriteGarak
			}
			if len(p.Targets) > 0 {
				outputs["promptfooconfig.yaml"] = p.WritePromptfoo
			}
			if p.HasART() {
				outputs["art-attacks.yaml"] = p.WriteART
			}
			for file, write := range outputs {
				var b bytes.Buffer
				if err := write(&b); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", name, file), b.Bytes())
				switch filepath.Ext(file) {
				case ".yaml":
					var v map[string]any
					if err := yaml.Unmarshal(b.Bytes(), &v); err != nil {
						t.Errorf("%s: %v", file, err)
					}
				case ".sh":
					checkShell(t, b.Bytes())
				}
			}
		})
	}
}

func checkShell(t *testing.T, script []byte) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Log("no sh to check the script with")
		return
	}
	p := filepath.Join(t.TempDir(), "garak.sh")
	os.WriteFile(p, script, 0o644)
	if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
		t.Errorf("garak.sh is not valid shell: %v\n%s", err, out)
	}
}

// The LLM example proposes garak and promptfoo, the classic one ART, and
// both leave to review what no tool tests.
func TestToolsByKind(t *testing.T) {
	p, _ := plan(t, "../../examples/llm-rag-assistant/system.yaml", nil)
	if len(p.Garak) == 0 || len(p.Targets) == 0 || p.HasART() {
		t.Errorf("llm example: garak %d promptfoo %d art %v", len(p.Garak), len(p.Targets), p.HasART())
	}
	p, _ = plan(t, "../../examples/sentiment-api/system.yaml", nil)
	if len(p.Garak) != 0 || len(p.Targets) != 0 || !p.HasART() {
		t.Errorf("classic example: garak %d promptfoo %d art %v", len(p.Garak), len(p.Targets), p.HasART())
	}
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i].Threat.Residual.Score > p.Items[i-1].Threat.Residual.Score {
			t.Fatal("not ranked by residual risk")
		}
	}
}

// Evidence shows in the plan; a confirmed threat is to be re-tested.
func TestPlanWithEvidence(t *testing.T) {
	ev := evidence.Record{Tool: "garak", Run: "r", Attack: "promptinject.HijackHateHumans", Target: "bot", Date: "2026-11-02", Attempts: 1200, Successes: 408, Techniques: []string{"AML.T0051.000"}}
	ev.ID = evidence.NewID(ev.Tool, ev.Run, ev.Attack, ev.Detector, ev.Strategy, ev.Subject, ev.Target)
	p, cat := plan(t, "../evidence/importer/testdata/chatbot.yaml", []evidence.Record{ev})
	var b bytes.Buffer
	p.WriteText(&b, cat)
	if !strings.Contains(b.String(), "evidence: confirmed ("+ev.ID) || !strings.Contains(b.String(), "re-test after fixing") {
		t.Errorf("plan:\n%s", b.String())
	}
	var pf bytes.Buffer
	p.WritePromptfoo(&pf)
	if !strings.Contains(pf.String(), "id: openai:chat:gpt-4o-mini\n    label: bot") {
		t.Errorf("the target is derived from the model's provider and version:\n%s", pf.String())
	}
	var sh bytes.Buffer
	p.WriteGarak(&sh)
	if !strings.Contains(sh.String(), `"${GARAK_TYPE_BOT:-openai}"`) {
		t.Errorf("garak generator:\n%s", sh.String())
	}
}
