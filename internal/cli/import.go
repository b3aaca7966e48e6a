package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/diag"
	"github.com/mlthreat/mlthreat/internal/interop"
	"github.com/mlthreat/mlthreat/internal/interop/otm"
	"github.com/mlthreat/mlthreat/internal/interop/threagile"
	"github.com/mlthreat/mlthreat/internal/interop/threatdragon"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/startup"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// importers by format name.
var importers = map[string]func(string, []byte, interop.Limits) (*interop.Model, diag.List){
	"threagile":     threagile.Import,
	"otm":           otm.Import,
	"threat-dragon": threatdragon.Import,
}

func (a *app) importCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import threagile|otm|threat-dragon FILE",
		Short: "Convert a Threagile, Open Threat Model or Threat Dragon file into a system model",
		Long: `Convert another tool's threat model into an mlthreat system model. Elements
map to components, flows, zones and data (docs/interop.md has the tables);
what has no mlthreat equivalent is kept in x- fields and listed as a
warning, as is every mapping that was a guess. The written model is
validated before the command ends.

Exit codes: 0 imported (warnings allowed), 1 the file was read but cannot
give a valid model (for example over a size limit), 2 unreadable or
malformed input, or usage error.`,
		Example: `  mlthreat import threagile threagile.yaml -o system.yaml
  mlthreat import otm model.otm.json -o system.yaml
  mlthreat import threat-dragon demo.json > system.yaml`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []string{"threagile", "otm", "threat-dragon"}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importFile(args[0], args[1], out)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the model to this file instead of stdout")
	return cmd
}

func (a *app) importFile(format, file, out string) error {
	name := out
	if name == "" || name == "-" {
		name = "<stdout>"
	}
	if fi, err := os.Stat(file); err == nil {
		defer startup.Building(fi.Size())()
	}
	im, err := importModel(format, file, name)
	for _, d := range im.ds {
		fmt.Fprintln(a.stderr, d.String())
	}
	if err != nil {
		return err
	}
	cat, err := a.catalog()
	if err != nil {
		return err
	}
	sys := im.sys
	vds, err := a.checkImported(file, sys, im.vds, cat)
	if err != nil {
		return err
	}
	if err := a.emit(out, im.y); err != nil {
		return err
	}
	for _, d := range vds {
		fmt.Fprintln(a.stderr, d.String())
	}
	fmt.Fprintf(a.stderr, "imported %s from %s: %s, %s, %s, %s, %s; %s\n", sys.Info.ID, file,
		plural(len(sys.Components), "component"), plural(len(sys.Flows), "flow"), plural(len(sys.Zones), "zone"),
		plural(len(sys.Data), "data item"), plural(len(sys.Threats), "recorded threat"), plural(im.ds.Warnings(), "warning"))
	return nil
}

// imported is another tool's model converted into a system model.
type imported struct {
	y   []byte        // the model, as mlthreat import writes it
	sys *model.System // y loaded and checked; nil if it does not parse
	vds diag.List     // the checks' diagnostics on y
	ds  diag.List     // the importer's own diagnostics, on the foreign file
}

// importModel reads file in format, converts it and loads the result with
// the model loader, under the name name; it prints nothing and never
// returns nil. The catalogue checks are the caller's (checkImported).
func importModel(format, file, name string) (*imported, error) {
	im := &imported{}
	imp := importers[format]
	if imp == nil {
		return im, exitWith(ExitUsage, "unknown format %q; expected threagile, otm or threat-dragon", format)
	}
	lim := interop.DefaultLimits
	if fi, err := os.Stat(file); err != nil {
		return im, exitWith(ExitUsage, "cannot read %s: %v", file, cleanErr(err))
	} else if fi.IsDir() {
		return im, exitWith(ExitUsage, "cannot read %s: is a directory", file)
	} else if fi.Size() > lim.MaxBytes {
		return im, exitWith(ExitUsage, "%s is %d bytes, over the %d-byte limit for an imported file", file, fi.Size(), lim.MaxBytes)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return im, exitWith(ExitUsage, "cannot read %s: %v", file, cleanErr(err))
	}
	m, ds := imp(file, src, lim)
	im.ds = ds
	if m == nil {
		if interop.Malformed(ds) {
			return im, silentExit(ExitUsage)
		}
		return im, exitWith(ExitFindings, "%s cannot give a valid system model (%s)", file, plural(ds.Errors(), "error"))
	}
	if im.y, err = m.YAML(); err != nil {
		return im, exitWith(ExitUsage, "internal error: writing the model: %v", err)
	}
	startup.Collect(int64(len(src))) // the foreign file's tree is garbage now
	// The real validator checks what was written: an import never emits a
	// model mlthreat would refuse.
	if int64(len(im.y)) > model.DefaultLimits.MaxBytes {
		return im, exitWith(ExitFindings, "the imported model would be %d bytes, over the %d-byte limit for a system model; split %s into smaller systems", len(im.y), model.DefaultLimits.MaxBytes, file)
	}
	im.sys, im.vds = model.Load(name, im.y, model.DefaultLimits)
	return im, nil
}

// checkImported adds the catalogue checks to an imported model's
// diagnostics and refuses a model that does not validate: that is a bug of
// the importer.
func (a *app) checkImported(file string, sys *model.System, vds diag.List, cat *catalog.Catalog) (diag.List, error) {
	if sys != nil {
		vds = append(vds, validate.Frameworks(sys, cat)...)
		vds.Sort()
	}
	if sys == nil || vds.Errors() > 0 {
		for _, d := range vds {
			fmt.Fprintln(a.stderr, d.String())
		}
		return nil, exitWith(ExitUsage, "internal error: the model imported from %s does not validate; please report this with the input", file)
	}
	return vds, nil
}
