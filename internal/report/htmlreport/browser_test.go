package htmlreport_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// The HTML report of the LLM example, opened in headless Chromium: the SVG
// diagram is there, the severity filter leaves only critical rows, and the
// page logs no errors (a CSP violation or a script error would). .ci/run
// installs Chromium; without it the test is skipped.
func TestReportInBrowser(t *testing.T) {
	bin := sharedtest.Chromium(t)
	cat := catalog.Default()
	set, _ := rules.Load(cat)
	cw, _ := gap.Load(cat)
	s, ds := validate.File("../../../examples/llm-rag-assistant/system.yaml", cat, model.DefaultLimits)
	if ds.Errors() > 0 {
		t.Fatal(ds)
	}
	r, err := analysis.Analyze(s, cat, set, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := gap.BuiltinProfile(gap.DefaultProfile(s), s, cat)
	g, err := gap.Analyze(s, cat, set, cw, prof, gap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, r, g); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCritical := 0
	for _, th := range r.Threats {
		if th.Residual.Severity == "critical" {
			wantCritical++
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(sharedtest.BrowserProfile(t)))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	// The target must exist before listening to it.
	if err := chromedp.Run(ctx); err != nil {
		if strings.Contains(err.Error(), "executable file not found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				problems = append(problems, "console "+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	})

	var svgs, visibleAll, visibleCritical int
	var filtersShown bool
	err = chromedp.Run(ctx,
		chromedp.Navigate("file://"+page),
		chromedp.WaitReady("#threats"),
		chromedp.Evaluate(`document.querySelectorAll('svg').length`, &svgs),
		chromedp.Evaluate(`!document.getElementById('filters').hidden`, &filtersShown),
		chromedp.Evaluate(`[].filter.call(document.querySelectorAll('#threats tbody tr'), function(r){return !r.hidden}).length`, &visibleAll),
		chromedp.SetValue(`select[data-filter="severity"]`, "critical", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('select[data-filter="severity"]').dispatchEvent(new Event('change')); [].filter.call(document.querySelectorAll('#threats tbody tr'), function(r){return !r.hidden}).length`, &visibleCritical),
	)
	if err != nil {
		if strings.Contains(err.Error(), "executable file not found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	if svgs < 1 {
		t.Error("no SVG diagram in the page")
	}
	if !filtersShown {
		t.Error("the filter bar should appear once the script runs (a CSP block would keep it hidden)")
	}
	if visibleAll != len(r.Threats) {
		t.Errorf("%d rows visible before filtering, want %d", visibleAll, len(r.Threats))
	}
	if visibleCritical != wantCritical || wantCritical == 0 {
		t.Errorf("%d rows after filtering to critical, want %d", visibleCritical, wantCritical)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged problems: %v", problems)
	}
}
