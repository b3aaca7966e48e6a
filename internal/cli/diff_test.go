package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const diffBase = `mlthreat: 1
system: {id: s, name: S}
zones:
  - {id: prod, trust: internal}
components:
  - {id: model, kind: model, zone: prod}
  - {id: registry, kind: model-registry, zone: prod}
`

func runDiff(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"diff"}, args...), &out, &errb, func(string) string { return "" })
	if strings.Contains(errb.String(), "goroutine ") {
		t.Errorf("%v: stack trace:\n%s", args, errb.String())
	}
	return code, out.String(), errb.String()
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The exit codes the contract promises (testscript only tells 0 from not 0).
func TestDiffExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", diffBase)
	added := write(t, dir, "added.yaml", diffBase+"  - {id: dep, kind: dependency, zone: prod}\n")
	bad := write(t, dir, "bad.yaml", diffBase+"  - {id: x, kind: nonsense}\n")
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{base, base}, 0, ""},
		{[]string{base, added}, 0, ""},
		{[]string{base, added, "--fail-on-new", "high"}, 1, "T-70271572"},
		{[]string{base, added, "--fail-on-new", "critical"}, 0, ""},
		{[]string{added, base, "--fail-on-new", "low"}, 0, ""},
		{[]string{base, bad}, 1, "is invalid"},
		{[]string{bad, base}, 1, "is invalid"},
		{[]string{base, filepath.Join(dir, "missing.yaml")}, 2, "no such file"},
		{[]string{base, dir}, 2, "is a directory"},
		{[]string{base}, 2, "give OLD and NEW"},
		{[]string{base, added, "-f", "xml"}, 2, "--format"},
		{[]string{base, added, "--fail-on-new", "severe"}, 2, "--fail-on-new"},
		{[]string{"--git", "", base}, 2, "needs a revision"},
		{[]string{"--git", "HEAD", base, added}, 2, "one FILE"},
		{[]string{"--git", "--output=x", base}, 2, "is not a revision"},
		{[]string{"--git", "HEAD", filepath.Join(dir, "missing.yaml")}, 2, "no such file"},
		{[]string{base, added, "--rules", filepath.Join(dir, "no-such-dir")}, 2, "rule packs"},
	}
	for _, c := range cases {
		code, out, errOut := runDiff(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.err) {
			t.Errorf("%v: exit %d, want %d; stderr %q (want %q)\nstdout: %s", c.args, code, c.code, errOut, c.err, out)
		}
	}
}

func TestDiffOutputFile(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", diffBase)
	added := write(t, dir, "added.yaml", diffBase+"  - {id: dep, kind: dependency, zone: prod}\n")
	out := filepath.Join(dir, "comment.md")
	code, stdout, errOut := runDiff(t, base, added, "-f", "markdown", "-o", out, "--fail-on-new", "high")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("<!-- mlthreat-diff -->\n## Threat model changes: S\n")) {
		t.Errorf("the comment is written even when the gate fails: %q %v", b, err)
	}
}

func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	for name, text := range files {
		write(t, dir, name, text)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	return dir
}

func TestDiffGit(t *testing.T) {
	dir := gitRepo(t, map[string]string{"system.yaml": diffBase})
	file := filepath.Join(dir, "system.yaml")
	if code, out, errOut := runDiff(t, "--git", "HEAD", file); code != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut := runDiff(t, "--git", "v9.9", file)
	if code != 2 || !strings.Contains(errOut, "mlthreat: --git v9.9: fatal: invalid object name 'v9.9'.") {
		t.Errorf("bad revision: exit %d, stderr %q", code, errOut)
	}
	// A file the revision does not have.
	write(t, dir, "new.yaml", diffBase)
	code, _, errOut = runDiff(t, "--git", "HEAD", filepath.Join(dir, "new.yaml"))
	if code != 2 || !strings.Contains(errOut, "new.yaml") || !strings.Contains(errOut, "HEAD") {
		t.Errorf("file not in revision: exit %d, stderr %q", code, errOut)
	}
}

func TestDiffWithoutGit(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "system.yaml", diffBase)
	t.Setenv("PATH", dir)
	code, _, errOut := runDiff(t, "--git", "HEAD", file)
	if code != 2 || !strings.Contains(errOut, "--git needs git") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// A blob over the size limit is refused without reading all of it.
func TestGitBlobLimit(t *testing.T) {
	dir := gitRepo(t, map[string]string{"system.yaml": diffBase})
	file := filepath.Join(dir, "system.yaml")
	b, err := gitBlob("HEAD", file, int64(len(diffBase)))
	if err != nil || string(b) != diffBase {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	_, err = gitBlob("HEAD", file, 10)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitFindings || !strings.Contains(err.Error(), "over the 10-byte limit") {
		t.Errorf("over the limit: %v", err)
	}
}
