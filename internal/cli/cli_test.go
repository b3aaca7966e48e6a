package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mlthreat/mlthreat/internal/cli"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// stopClusters stops the private PostgreSQL cluster of the serve tests, if
// one was started, once the tests have run.
type stopClusters struct{ m *testing.M }

func (s stopClusters) Run() int {
	code := s.m.Run()
	if err := storetest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func TestMain(m *testing.M) {
	testscript.Main(stopClusters{m}, map[string]func(){
		"mlthreat": func() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// End-to-end runs of the real binary, one txtar file per scenario.
func TestScripts(t *testing.T) {
	root := sharedtest.RepoRoot(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Condition: func(cond string) (bool, error) {
			if cond == "shared" {
				_, err := os.Stat(filepath.Join(root, "..", "shared", "data", "atlas", "ATLAS.yaml"))
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", root)
			env.Setenv("SHARED", filepath.Join(root, "..", "shared"))
			return nil
		},
	})
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	root := sharedtest.RepoRoot(t)
	example := filepath.Join(root, "examples", "sentiment-api", "system.yaml")
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, 0, "mlthreat "},
		{[]string{"version"}, 0, "atlas"},
		{[]string{"--help"}, 0, "validate"},
		{[]string{"validate", "--help"}, 0, "file:line:col"},
		{[]string{"catalog", "show", "--help"}, 0, "relations"},
		{[]string{"validate"}, 2, ""},
		{[]string{"nonsense"}, 2, ""},
		{[]string{"validate", "--bogus", example}, 2, ""},
		{[]string{"validate", "--format", "xml", example}, 2, ""},
		{[]string{"validate", example}, 0, ""},
		{[]string{"validate", filepath.Join(root, "no-such-file.yaml")}, 2, ""},
		{[]string{"catalog", "show", "AML.T9999"}, 1, ""},
		{[]string{"catalog", "techniques", "--tactic", "nope"}, 2, ""},
		{[]string{"completion", "bash"}, 0, "bash completion"},
		{[]string{"completion", "zsh"}, 0, "compdef"},
		{[]string{"--atlas", "/nonexistent/ATLAS.yaml", "catalog", "tactics"}, 2, ""},
	}
	for _, c := range cases {
		code, out, errOut := run(c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, code, c.code, out, errOut)
		}
		if c.out != "" && !strings.Contains(out, c.out) {
			t.Errorf("%v: stdout lacks %q:\n%s", c.args, c.out, out)
		}
		if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
			t.Errorf("%v: stack trace on stderr:\n%s", c.args, errOut)
		}
	}
}

func TestCatalogJSON(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"tactics", "techniques", "mitigations", "case-studies", "rmf", "owasp", "genai-risks", "stride", "linddun", "controls"} {
		code, out, errOut := run("catalog", sub, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", sub, code, errOut)
		}
		var v []map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: not JSON: %v", sub, err)
		}
		if len(v) == 0 {
			t.Errorf("%s: empty", sub)
		}
	}
	want := map[string]int{"tactics": 16, "techniques": 170, "mitigations": 35, "case-studies": 57, "rmf": 72}
	for sub, n := range want {
		_, out, _ := run("catalog", sub, "--json")
		var v []any
		_ = json.Unmarshal([]byte(out), &v)
		if len(v) != n {
			t.Errorf("catalog %s: %d items, want %d", sub, len(v), n)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("mlthreat: 1\nsystem: {id: x, name: X}\ncomponents:\n  - {id: a, kind: databse}\n"), 0o644)
	code, out, _ := run("validate", "--format", "json", bad)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Valid bool
		Files []struct {
			Diagnostics []struct {
				Line, Col   int
				Severity    string
				Code        string
				Suggestions []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	d := r.Files[0].Diagnostics[0]
	if r.Valid || d.Line != 4 || d.Code != "unknown-kind" || d.Severity != "error" {
		t.Errorf("%+v", r)
	}
}

func TestShowNormalisesIDs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GV-1.1": "GOVERN 1.1", "gov 1.1": "GOVERN 1.1", "LLM01": "LLM01:2026", "aml.t0051": "AML.T0051"} {
		code, out, errOut := run("catalog", "show", in)
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("show %s: exit %d, out %q %s", in, code, firstLine(out), errOut)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// --explain must work on every threat id analyze prints.
func TestExplainEveryThreat(t *testing.T) {
	t.Parallel()
	root := sharedtest.RepoRoot(t)
	example := filepath.Join(root, "examples", "llm-rag-assistant", "system.yaml")
	code, out, errOut := run("analyze", example, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Threats []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Threats) == 0 {
		t.Fatal("no threats")
	}
	for _, th := range doc.Threats {
		code, out, errOut := run("analyze", example, "--explain", th.ID)
		if code != 0 || !strings.HasPrefix(out, th.ID) || !strings.Contains(out, "likelihood ") {
			t.Errorf("--explain %s: exit %d, %q %s", th.ID, code, firstLine(out), errOut)
		}
	}
}

// -o naming a device or a pipe writes into it: renaming a file over it
// would replace the device itself (as root, -o /dev/null once replaced
// /dev/null with a regular file).
func TestOutputIntoAPipe(t *testing.T) {
	root := sharedtest.RepoRoot(t)
	fifo := filepath.Join(t.TempDir(), "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	code, _, errOut := run("analyze", filepath.Join(root, "examples", "sentiment-api", "system.yaml"), "-f", "json", "-o", fifo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	select {
	case b := <-got:
		if !bytes.Contains(b, []byte(`"sentiment-api"`)) {
			t.Errorf("the pipe's reader got %d bytes without the report", len(b))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was written into the pipe")
	}
	st, err := os.Lstat(fifo)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe was replaced: %v %v", st.Mode(), err)
	}
	if code, _, _ := run("analyze", filepath.Join(root, "examples", "sentiment-api", "system.yaml"), "-o", t.TempDir()); code != 2 {
		t.Errorf("-o DIR: exit %d, want 2", code)
	}
}
