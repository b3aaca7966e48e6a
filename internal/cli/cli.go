// Package cli holds mlthreat's commands: flags, output and exit codes. It
// carries no domain logic; commands call the domain packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/catalog/atlasyaml"
)

// Exit codes of the public contract.
const (
	ExitOK       = 0
	ExitFindings = 1 // model invalid, gate failed
	ExitUsage    = 2 // usage error, unreadable input, internal error
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func exitWith(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// silentExit ends a command with a code and no further message.
func silentExit(code int) error { return &exitError{code: code} }

type app struct {
	stdout, stderr io.Writer
	atlasFile      string
	cat            *catalog.Catalog
	getenv         func(string) string
}

// Run executes mlthreat with args (without the program name) and returns the
// process exit code. It never panics: an internal failure becomes exit 2.
func Run(args []string, stdout, stderr io.Writer) (code int) {
	return run(args, stdout, stderr, os.Getenv)
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "mlthreat: internal error: %v\nPlease report this with the input that caused it.\n", r)
			code = ExitUsage
		}
	}()
	// Decode the embedded catalogue while the command line is parsed; almost
	// every command needs it.
	go catalog.Default()
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "mlthreat: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything else cobra returns is a usage problem: bad flag, bad args.
	fmt.Fprintf(stderr, "mlthreat: %v\n", err)
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", commandPath(root, args))
	return ExitUsage
}

func commandPath(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.Name()
}

// cobra's template functions are global: register ours once. The catalogue
// versions are looked up only when --version is printed.
func init() {
	cobra.AddTemplateFunc("catalogVersions", func() string {
		v := catalog.Default().Versions
		return "ATLAS " + v["atlas"] + ", NIST AI RMF " + v["nist-ai-rmf"]
	})
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mlthreat",
		Short: "Threat modeling as code for AI systems",
		Long: `mlthreat reads a YAML description of an ML or LLM system and works with the
MITRE ATLAS, NIST AI RMF, OWASP ML/LLM/Agentic Top 10, STRIDE and LINDDUN
knowledge it carries built in.

Exit codes: 0 success, 1 model invalid or gate failed, 2 usage error,
unreadable input or internal error.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("mlthreat {{.Version}} ({{catalogVersions}})\n")
	root.PersistentFlags().StringVar(&a.atlasFile, "atlas", "", "load this official ATLAS.yaml instead of the embedded ATLAS (env MLTHREAT_ATLAS)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	root.AddCommand(a.validateCommand(), a.analyzeCommand(), a.genCommand(), a.evalCommand(), a.gapCommand(), a.diffCommand(), a.diagramCommand(), a.pathsCommand(), a.catalogCommand(), a.kindsCommand(), a.gateCommand(), a.reviewCommand(), a.quantifyCommand(), a.reportCommand(), a.initCommand(), a.importCommand(), a.serveCommand(), a.pushCommand(), a.tokenCommand(), a.evidenceCommand(), a.testplanCommand(), a.versionCommand())
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// catalog returns the catalogue, loading --atlas or MLTHREAT_ATLAS once.
func (a *app) catalog() (*catalog.Catalog, error) {
	if a.cat != nil {
		return a.cat, nil
	}
	cat := catalog.Default()
	path := a.atlasFile
	if path == "" {
		path = a.getenv("MLTHREAT_ATLAS")
	}
	if path != "" {
		at, err := atlasyaml.ReadFile(path)
		if err != nil {
			return nil, exitWith(ExitUsage, "cannot load ATLAS file: %v", err)
		}
		cat = cat.WithATLAS(at)
	}
	a.cat = cat
	return cat, nil
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the mlthreat version and the catalogue versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := a.catalog()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "mlthreat %s\n", version())
			keys := []string{"atlas", "nist-ai-rmf", "nist-ai-600-1", "owasp-ml", "owasp-llm", "owasp-asi", "stride", "linddun"}
			for _, k := range keys {
				fmt.Fprintf(a.stdout, "  %-14s %s\n", k, cat.Versions[k])
			}
			if cat.ATLAS.Source != "" && cat.ATLAS.Source != "embedded" {
				fmt.Fprintf(a.stdout, "  atlas loaded from %s\n", cat.ATLAS.Source)
			}
			return nil
		},
	}
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("invalid value %q; expected one of %s", v, strings.Join(allowed, ", "))
}
