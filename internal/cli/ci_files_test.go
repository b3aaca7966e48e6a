package cli_test

// The CI files (action.yml, the GitLab template, .pre-commit-hooks.yaml) and
// the examples in docs/ci.md are code that users copy into their pipelines
// and that no Go build checks. These tests parse them, check the keys each
// CI system requires, and check that every mlthreat command they run exists
// and takes the flags they pass.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

// ciAction is the part of action.yml's metadata syntax the action uses.
// Decoding with KnownFields rejects a misspelt key, which GitHub would
// otherwise ignore or reject only when a workflow runs.
type ciAction struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Author      string `yaml:"author"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name             string            `yaml:"name"`
			ID               string            `yaml:"id"`
			If               string            `yaml:"if"`
			Uses             string            `yaml:"uses"`
			With             map[string]string `yaml:"with"`
			Run              string            `yaml:"run"`
			Shell            string            `yaml:"shell"`
			Env              map[string]string `yaml:"env"`
			WorkingDirectory string            `yaml:"working-directory"`
			ContinueOnError  bool              `yaml:"continue-on-error"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// ciHook is one entry of .pre-commit-hooks.yaml, with every key pre-commit
// knows for a hook definition.
type ciHook struct {
	ID                      string   `yaml:"id"`
	Name                    string   `yaml:"name"`
	Entry                   string   `yaml:"entry"`
	Language                string   `yaml:"language"`
	Files                   string   `yaml:"files"`
	Exclude                 string   `yaml:"exclude"`
	Types                   []string `yaml:"types"`
	TypesOr                 []string `yaml:"types_or"`
	ExcludeTypes            []string `yaml:"exclude_types"`
	AlwaysRun               bool     `yaml:"always_run"`
	FailFast                bool     `yaml:"fail_fast"`
	Verbose                 bool     `yaml:"verbose"`
	PassFilenames           *bool    `yaml:"pass_filenames"`
	RequireSerial           bool     `yaml:"require_serial"`
	Description             string   `yaml:"description"`
	LanguageVersion         string   `yaml:"language_version"`
	MinimumPreCommitVersion string   `yaml:"minimum_pre_commit_version"`
	Args                    []string `yaml:"args"`
	Stages                  []string `yaml:"stages"`
	AdditionalDependencies  []string `yaml:"additional_dependencies"`
}

type ciGitlabJob struct {
	Extends      string           `yaml:"extends"`
	Stage        string           `yaml:"stage"`
	Image        string           `yaml:"image"`
	Rules        []map[string]any `yaml:"rules"`
	BeforeScript []string         `yaml:"before_script"`
	Script       []string         `yaml:"script"`
	Artifacts    struct {
		When    string   `yaml:"when"`
		Paths   []string `yaml:"paths"`
		Reports struct {
			JUnit string `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

func readCIFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedtest.RepoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeStrict(t *testing.T, name string, b []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadCIAction(t *testing.T) (*ciAction, []byte) {
	t.Helper()
	b := readCIFile(t, "action.yml")
	var a ciAction
	decodeStrict(t, "action.yml", b, &a)
	return &a, b
}

func loadCIHooks(t *testing.T) []ciHook {
	t.Helper()
	var hooks []ciHook
	decodeStrict(t, ".pre-commit-hooks.yaml", readCIFile(t, ".pre-commit-hooks.yaml"), &hooks)
	return hooks
}

// loadCIGitlab returns the template's top-level variables and its jobs, each
// with the keys it leaves empty filled from the job it extends.
func loadCIGitlab(t *testing.T) (map[string]any, map[string]ciGitlabJob) {
	t.Helper()
	const name = "ci/gitlab/mlthreat.gitlab-ci.yml"
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(readCIFile(t, name), &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var vars map[string]any
	jobs := map[string]ciGitlabJob{}
	for key, node := range doc {
		switch key {
		case "variables":
			if err := node.Decode(&vars); err != nil {
				t.Fatalf("%s: variables: %v", name, err)
			}
		case "include", "stages", "default", "workflow":
		default:
			var j ciGitlabJob
			if err := node.Decode(&j); err != nil {
				t.Fatalf("%s: job %s: %v", name, key, err)
			}
			jobs[key] = j
		}
	}
	for key, j := range jobs {
		if j.Extends == "" {
			continue
		}
		base, ok := jobs[j.Extends]
		if !ok {
			t.Fatalf("%s: job %s extends %q, which the template does not define", name, key, j.Extends)
		}
		if j.Image == "" {
			j.Image = base.Image
		}
		if j.Stage == "" {
			j.Stage = base.Stage
		}
		if j.Rules == nil {
			j.Rules = base.Rules
		}
		if j.BeforeScript == nil {
			j.BeforeScript = base.BeforeScript
		}
		if j.Script == nil {
			j.Script = base.Script
		}
		if j.Artifacts.When == "" && j.Artifacts.Paths == nil && j.Artifacts.Reports.JUnit == "" {
			j.Artifacts = base.Artifacts
		}
		jobs[key] = j
	}
	return vars, jobs
}

func TestCIActionMetadata(t *testing.T) {
	t.Parallel()
	a, raw := loadCIAction(t)
	if a.Name == "" || a.Description == "" {
		t.Errorf("action.yml: name and description are required (name %q, description %q)", a.Name, a.Description)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("action.yml: runs.using is %q, want composite", a.Runs.Using)
	}
	if len(a.Runs.Steps) == 0 {
		t.Fatal("action.yml: no steps")
	}
	for _, want := range []string{"files", "policy", "version", "sarif", "upload-sarif", "comment-diff", "fail-on-new", "fail"} {
		if _, ok := a.Inputs[want]; !ok {
			t.Errorf("action.yml: input %q is missing", want)
		}
	}
	if !a.Inputs["files"].Required {
		t.Error("action.yml: input files must be required")
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("action.yml: input %q has no description", name)
		}
	}
	for _, want := range []string{"verdict", "sarif-file"} {
		if _, ok := a.Outputs[want]; !ok {
			t.Errorf("action.yml: output %q is missing", want)
		}
	}

	ids := map[string]bool{}
	for i, s := range a.Runs.Steps {
		where := "action.yml: step " + strings.TrimSpace(s.Name)
		if s.Name == "" {
			where = "action.yml: step " + strconv.Itoa(i+1)
			t.Errorf("%s has no name", where)
		}
		if s.ID != "" {
			ids[s.ID] = true
		}
		switch {
		case s.Uses != "" && s.Run != "":
			t.Errorf("%s has both uses and run", where)
		case s.Uses != "":
			if !strings.Contains(s.Uses, "@") {
				t.Errorf("%s: uses %q has no version (@ref)", where, s.Uses)
			}
		case s.Run != "":
			if s.Shell == "" {
				t.Errorf("%s: a composite run step needs shell", where)
			}
			// Script-injection hardening: inputs, branch names and other
			// event data reach scripts through env:, never through ${{ }}.
			if strings.Contains(s.Run, "${{") {
				t.Errorf("%s: run interpolates ${{ }}; pass the value through env: instead", where)
			}
		default:
			t.Errorf("%s has neither uses nor run", where)
		}
	}

	// Every inputs.X and steps.ID the expressions name must exist: GitHub
	// evaluates a misspelt one to an empty string without complaint.
	for _, m := range regexp.MustCompile(`\binputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("action.yml: expression names inputs.%s, which is not an input", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\bsteps\.([A-Za-z0-9_-]+)\.`).FindAllStringSubmatch(string(raw), -1) {
		if !ids[m[1]] {
			t.Errorf("action.yml: expression names steps.%s, which is no step's id", m[1])
		}
	}
}

func TestCIPreCommitHooks(t *testing.T) {
	t.Parallel()
	hooks := loadCIHooks(t)
	if len(hooks) == 0 {
		t.Fatal(".pre-commit-hooks.yaml: no hooks")
	}
	// Stage names as pre-commit 3.2 renamed them; the old names are deprecated.
	stages := []string{"pre-commit", "pre-merge-commit", "pre-push", "prepare-commit-msg", "commit-msg", "post-checkout", "post-commit", "post-merge", "post-rewrite", "pre-rebase", "manual"}
	byID := map[string]ciHook{}
	for _, h := range hooks {
		if h.ID == "" || h.Name == "" || h.Entry == "" || h.Language == "" {
			t.Errorf(".pre-commit-hooks.yaml: hook %q needs id, name, entry and language", h.ID)
		}
		if _, dup := byID[h.ID]; dup {
			t.Errorf(".pre-commit-hooks.yaml: hook id %q twice", h.ID)
		}
		byID[h.ID] = h
		if h.Language != "golang" {
			t.Errorf("hook %s: language %q, want golang (built from this repository)", h.ID, h.Language)
		}
		if !strings.HasPrefix(h.Entry, "mlthreat ") {
			t.Errorf("hook %s: entry %q does not run mlthreat", h.ID, h.Entry)
		}
		for _, s := range h.Stages {
			if !slices.Contains(stages, s) {
				t.Errorf("hook %s: unknown stage %q", h.ID, s)
			}
		}
		if len(h.Stages) > 0 && h.MinimumPreCommitVersion == "" {
			t.Errorf("hook %s: stages named as in pre-commit 3.2 need minimum_pre_commit_version: 3.2.0", h.ID)
		}
		// pre-commit matches files with Python's re.search; this pattern
		// uses nothing that RE2 reads differently.
		re, err := regexp.Compile(h.Files)
		if err != nil {
			t.Errorf("hook %s: files: %v", h.ID, err)
			continue
		}
		for _, name := range []string{"system.yaml", "models/churn/system.yaml", "fraud.mlthreat.yaml", "a/b/fraud.mlthreat.yml"} {
			if !re.MatchString(name) {
				t.Errorf("hook %s: files %q does not match the model file %s", h.ID, h.Files, name)
			}
		}
		for _, name := range []string{"system.review.json", ".mlthreat/policy.yaml", "mysystem.yaml", "system.yaml.orig", "docker-compose.yaml"} {
			if re.MatchString(name) {
				t.Errorf("hook %s: files %q matches %s, which is not a model", h.ID, h.Files, name)
			}
		}
	}
	for _, id := range []string{"mlthreat-validate", "mlthreat-gate"} {
		if _, ok := byID[id]; !ok {
			t.Errorf(".pre-commit-hooks.yaml: hook %s is missing", id)
		}
	}
	gate := byID["mlthreat-gate"]
	if gate.PassFilenames == nil || !*gate.PassFilenames {
		t.Error("hook mlthreat-gate: pass_filenames must be true")
	}
	if !slices.Equal(gate.Stages, []string{"pre-push"}) {
		t.Errorf("hook mlthreat-gate: stages %v, want [pre-push]", gate.Stages)
	}
}

func TestCIGitlabTemplate(t *testing.T) {
	t.Parallel()
	vars, jobs := loadCIGitlab(t)
	for _, v := range []string{"MLTHREAT_FILES", "MLTHREAT_POLICY", "MLTHREAT_VERSION"} {
		if _, ok := vars[v]; !ok {
			t.Errorf("GitLab template: variable %s is missing", v)
		}
	}
	if _, ok := jobs[".mlthreat-gate"]; !ok {
		t.Error("GitLab template: hidden job .mlthreat-gate is missing")
	}
	job, ok := jobs["mlthreat-gate"]
	if !ok {
		t.Fatal("GitLab template: job mlthreat-gate is missing")
	}
	if job.Stage != "test" {
		t.Errorf("job mlthreat-gate: stage %q, want test", job.Stage)
	}
	if !strings.HasPrefix(job.Image, "golang:1.26") {
		t.Errorf("job mlthreat-gate: image %q, want golang:1.26", job.Image)
	}
	if len(job.Script) == 0 {
		t.Error("job mlthreat-gate: no script")
	}
	if len(job.Rules) == 0 {
		t.Error("job mlthreat-gate: no rules")
	}
	if job.Artifacts.Reports.JUnit == "" {
		t.Error("job mlthreat-gate: no artifacts.reports.junit")
	}
	if job.Artifacts.When != "always" {
		t.Errorf("job mlthreat-gate: artifacts.when %q, want always (the reports matter most when the gate fails)", job.Artifacts.When)
	}
	script := strings.Join(append(slices.Clone(job.BeforeScript), job.Script...), "\n")
	if !strings.Contains(script, job.Artifacts.Reports.JUnit) {
		t.Errorf("job mlthreat-gate: the script never writes the JUnit report %s", job.Artifacts.Reports.JUnit)
	}
	for _, p := range []string{"mlthreat-gate.sarif", "mlthreat-diff.md", ".mlthreat/packets/"} {
		if !slices.Contains(job.Artifacts.Paths, p) {
			t.Errorf("job mlthreat-gate: artifacts.paths lacks %s", p)
		}
	}
}

// The tables in docs/ci.md list every input of the action and every variable
// of the GitLab template.
func TestCIFilesDocumented(t *testing.T) {
	t.Parallel()
	doc := string(readCIFile(t, "docs/ci.md"))
	a, _ := loadCIAction(t)
	for name := range a.Inputs {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("docs/ci.md: the action's input %s is not in the inputs table", name)
		}
	}
	vars, _ := loadCIGitlab(t)
	for name := range vars {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("docs/ci.md: the GitLab variable %s is not in the variables table", name)
		}
	}
	if !strings.Contains(doc, "## Exit codes") || !strings.Contains(doc, "| 0 | 1 | 2 |") {
		t.Error("docs/ci.md: no exit-code table")
	}
}

// ciInvocation is one mlthreat command line found in a CI file.
type ciInvocation struct {
	source  string   // the file and the part of it
	command []string // subcommand path: [gate], [review sign]
	flags   []string // every -x and --xx passed, without values
	format  string   // the literal value of --format/-f, if any
	text    string
}

var (
	// mlthreat at the start of a command and followed by a word: not part of
	// a path (cmd/mlthreat@latest), a file name (mlthreat-gate.sarif), a
	// quoted message ("mlthreat gate --format ...") or printed output
	// (### mlthreat gate: pass).
	ciCommandStart = regexp.MustCompile(`(?:^|[\s;&|(])mlthreat[ \t]+[a-z][a-z0-9-]*(?:[ \t]|$)`)
	// Where the command ends: a pipe, a list, a redirection, the end of a
	// command substitution.
	ciCommandEnd   = regexp.MustCompile("[|;&<>)`]|\\$\\(")
	ciSubstitution = regexp.MustCompile(`\$\([^()]*\)`)
	ciFlag         = regexp.MustCompile(`(?:^|[\s+{"'])(--?[A-Za-z][A-Za-z0-9-]*)`)
	ciWord         = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// ciInvocations finds every mlthreat command in a script.
func ciInvocations(source, script string) []ciInvocation {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []ciInvocation
	for line := range strings.SplitSeq(script, "\n") {
		for _, loc := range ciCommandStart.FindAllStringIndex(line, -1) {
			rest := line[loc[0]:]
			rest = rest[strings.Index(rest, "mlthreat")+len("mlthreat"):]
			// An argument may be a command substitution, "$(dirname x)/out".
			for ciSubstitution.MatchString(rest) {
				rest = ciSubstitution.ReplaceAllString(rest, "X")
			}
			if end := ciCommandEnd.FindStringIndex(rest); end != nil {
				rest = rest[:end[0]]
			}
			inv := ciInvocation{source: source, text: "mlthreat" + rest}
			fields := strings.Fields(rest)
			for _, f := range fields {
				if len(inv.command) == 2 || !ciWord.MatchString(f) {
					break
				}
				inv.command = append(inv.command, f)
			}
			for _, m := range ciFlag.FindAllStringSubmatch(rest, -1) {
				inv.flags = append(inv.flags, m[1])
			}
			for i, f := range fields {
				if (f == "--format" || f == "-f") && i+1 < len(fields) && ciWord.MatchString(fields[i+1]) {
					inv.format = fields[i+1]
				}
			}
			out = append(out, inv)
		}
	}
	return out
}

// ciFencedCode returns the contents of the Markdown code blocks in doc.
func ciFencedCode(doc string) string {
	var b strings.Builder
	in := false
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if in {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ciAllInvocations collects the mlthreat commands of every CI file.
func ciAllInvocations(t *testing.T) []ciInvocation {
	t.Helper()
	var all []ciInvocation
	a, _ := loadCIAction(t)
	for _, s := range a.Runs.Steps {
		all = append(all, ciInvocations("action.yml: "+s.Name, s.Run)...)
	}
	_, jobs := loadCIGitlab(t)
	for name, j := range jobs {
		script := strings.Join(append(slices.Clone(j.BeforeScript), j.Script...), "\n")
		all = append(all, ciInvocations("GitLab template: "+name, script)...)
	}
	for _, h := range loadCIHooks(t) {
		all = append(all, ciInvocations(".pre-commit-hooks.yaml: "+h.ID, h.Entry+" "+strings.Join(h.Args, " "))...)
	}
	all = append(all, ciInvocations("docs/ci.md", ciFencedCode(string(readCIFile(t, "docs/ci.md"))))...)
	return all
}

func TestCIFilesRunRealCommands(t *testing.T) {
	t.Parallel()
	all := ciAllInvocations(t)

	// The extraction must find the commands the files are built around;
	// otherwise a change to the scripts could silently leave them unchecked.
	found := map[string]bool{}
	for _, inv := range all {
		found[strings.SplitN(inv.source, ":", 2)[0]+" "+strings.Join(inv.command, " ")] = true
	}
	for _, want := range []string{
		"action.yml gate", "action.yml diff",
		"GitLab template gate", "GitLab template diff",
		".pre-commit-hooks.yaml validate", ".pre-commit-hooks.yaml gate",
		"docs/ci.md gate", "docs/ci.md diff",
	} {
		if !found[want] {
			t.Errorf("no `mlthreat %s` found in %s", strings.SplitN(want, " ", 2)[1], strings.SplitN(want, " ", 2)[0])
		}
	}

	byCommand := map[string][]ciInvocation{}
	for _, inv := range all {
		if len(inv.command) == 0 {
			t.Errorf("%s: no subcommand in %q", inv.source, inv.text)
			continue
		}
		key := strings.Join(inv.command, " ")
		byCommand[key] = append(byCommand[key], inv)
	}
	for key, invs := range byCommand {
		t.Run(strings.ReplaceAll(key, " ", "_"), func(t *testing.T) {
			t.Parallel()
			code, help, errOut := run(append(strings.Fields(key), "--help")...)
			if code != 0 {
				if key == "diff" {
					t.Skipf("`mlthreat diff --help` exits %d (the diff command is not built yet): the diff invocations in the CI files are not checked\n%s", code, errOut)
				}
				t.Fatalf("`mlthreat %s --help` exits %d, used in %s: %s", key, code, invs[0].source, errOut)
			}
			for _, inv := range invs {
				for _, flag := range inv.flags {
					if !ciHelpHasFlag(help, flag) {
						t.Errorf("%s: `mlthreat %s` has no flag %s (in %q)", inv.source, key, flag, strings.TrimSpace(inv.text))
					}
				}
				if inv.format != "" && !strings.Contains(ciFlagLine(help, "--format"), inv.format) {
					t.Errorf("%s: `mlthreat %s` has no format %q (in %q)", inv.source, key, inv.format, strings.TrimSpace(inv.text))
				}
			}
		})
	}
}

// ciHelpHasFlag reports whether cobra's help lists the flag (-f as "-f,",
// --format as "--format").
func ciHelpHasFlag(help, flag string) bool {
	if !strings.HasPrefix(flag, "--") {
		return regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(flag) + `, --`).MatchString(help)
	}
	return ciFlagLine(help, flag) != ""
}

// ciFlagLine is the help line that documents a long flag, or "".
func ciFlagLine(help, flag string) string {
	re := regexp.MustCompile(`(?m)^\s+(?:-[A-Za-z], )?` + regexp.QuoteMeta(flag) + `(?:\s.*)?$`)
	return re.FindString(help)
}

// The extraction itself, on lines like those in the files.
func TestCIFilesInvocationExtraction(t *testing.T) {
	t.Parallel()
	script := `GOBIN="$bin" go install "github.com/mlthreat/mlthreat/cmd/mlthreat@$V"
PATH="$bin:$PATH" mlthreat version
mlthreat gate ${P:+--policy "$P"} --format github -- "${files[@]}" || status=$?
verdict=$(sed -nE 's/^mlthreat gate: (pass|fail) \(.*/\1/p' "$log")
echo "mlthreat gate --format $format exited $rc"
mlthreat diff --git "$base" "$f" \
  -f markdown ${F:+--fail-on-new "$F"} > "$part" 2> "$err"
x=$(mlthreat review sign m.yaml --by "A B")
mlthreat gate --output "$(dirname "$f")/junit.xml" \
  --packet-dir "$(pwd)/p" "$f"
printf '### mlthreat gate: %s\n' "$verdict"
cp mlthreat-gate.sarif .mlthreat/packets/`
	got := ciInvocations("test", script)
	want := []struct {
		command string
		flags   []string
		format  string
	}{
		{"version", nil, ""},
		{"gate", []string{"--policy", "--format"}, "github"},
		{"diff", []string{"--git", "-f", "--fail-on-new"}, "markdown"},
		{"review sign", []string{"--by"}, ""},
		{"gate", []string{"--output", "--packet-dir"}, ""},
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("found %v %v in %q", g.command, g.flags, g.text)
		}
		t.Fatalf("found %d invocations, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if strings.Join(g.command, " ") != w.command || !slices.Equal(g.flags, w.flags) || g.format != w.format {
			t.Errorf("invocation %d: got %v %v format %q, want %s %v format %q", i, g.command, g.flags, g.format, w.command, w.flags, w.format)
		}
	}
	help := "Flags:\n  -f, --format string   output: table, json or github\n      --policy string   a policy\n"
	for flag, want := range map[string]bool{"-f": true, "--format": true, "--policy": true, "--polic": false, "--formatt": false, "-p": false} {
		if ciHelpHasFlag(help, flag) != want {
			t.Errorf("ciHelpHasFlag(%s) = %v, want %v", flag, !want, want)
		}
	}
}
