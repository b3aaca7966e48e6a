package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

func TestInitExitCodes(t *testing.T) {
	t.Parallel()
	root := sharedtest.RepoRoot(t)
	card := filepath.Join(root, "internal", "ingest", "testdata", "modelcard-modern.md")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.json", "{\"bomFormat\": \"CycloneDX\",\n  \"components\": [1,}")
	empty := write("empty.md", "---\nlicense: mit\n---\n")
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"init", "--from", card}, 0, "<stdout>: model with"},
		{[]string{"init", card}, 0, ""},
		{[]string{"init"}, 2, "init needs --from"},
		{[]string{"init", "--from", filepath.Join(dir, "missing.json")}, 2, "no such file or directory"},
		{[]string{"init", "--from", bad}, 2, "bad.json:2:20: JSON syntax error"},
		{[]string{"init", "--from", empty}, 1, "nothing usable could be inferred"},
		{[]string{"init", "--from", emptyDir}, 2, "a folder without an MLmodel"},
		{[]string{"init", "--from", card, "--id", "Not A Slug"}, 2, "is not a slug"},
		{[]string{"init", "--from", card, "--type", "xml"}, 2, "--type"},
		{[]string{"init", "--from", card, "--type", "mlflow"}, 2, "no flavors: map"},
		{[]string{"init", "--from", card, "--merge", filepath.Join(dir, "missing.yaml")}, 2, "--merge"},
		{[]string{"init", "--from", card, "--merge", bad}, 2, "--merge"},
	}
	for _, c := range cases {
		code, out, errOut := run(c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, errOut)
		}
		if !strings.Contains(errOut, c.err) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.err, errOut)
		}
		if c.code != 0 && out != "" {
			t.Errorf("%v: wrote a model on failure:\n%s", c.args, out)
		}
		if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
			t.Errorf("%v: stack trace:\n%s", c.args, errOut)
		}
	}
}
