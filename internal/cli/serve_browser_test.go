package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mlthreat/mlthreat/internal/sharedtest"
)

// The acceptance path of the portfolio server in headless Chromium: sign
// in, read the dashboard's KPIs for a seeded portfolio and check them
// against numbers computed from what was pushed, open the escalated system,
// approve it with conditions, and see `gate --server` pass for it. The
// screenshots land in the test's artifact directory (go test -artifacts).
func TestServeInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a browser")
	}
	bin := sharedtest.Chromium(t)
	root := sharedtest.RepoRoot(t)
	churn := filepath.Join(root, "internal", "cli", "testdata", "serve", "churn-api.yaml")
	policy := filepath.Join(root, "internal", "cli", "testdata", "serve", "board.yaml")
	dir := t.TempDir()
	srv := startServe(t, dir, filepath.Join(dir, "portfolio.db"))

	token := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(append([]string{"token", "create", "--server", srv.url, "--token", srv.admin}, args...)...)
		if code != 0 {
			t.Fatalf("token create: exit %d: %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	submitter := token("--name", "ci-data-science", "--role", "submitter", "--owner", "data-science@example.com")
	reviewer := token("--name", "security-board", "--role", "reviewer")

	// The portfolio: the five examples (standard policy, pushed by the
	// admin) and the churn API, which the board policy escalates.
	examples, _ := filepath.Glob(filepath.Join(root, "examples", "*", "system.yaml"))
	if code, out, errOut := run(append([]string{"push", "--server", srv.url, "--token", srv.admin}, examples...)...); code != 0 {
		t.Fatalf("push examples: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run("push", "--server", srv.url, "--token", submitter, "--policy", policy, churn); code != 0 {
		t.Fatalf("push churn-api: exit %d\n%s%s", code, out, errOut)
	}

	// What the dashboard must say, computed from the pushed analyses.
	want := map[string]int{"systems": len(examples) + 1, "escalations_waiting": 1}
	for _, args := range [][]string{append([]string{"push", "--dry-run"}, examples...), {"push", "--dry-run", "--policy", policy, churn}} {
		code, out, errOut := run(args...)
		if code != 0 {
			t.Fatalf("push --dry-run: %s", errOut)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var req struct {
				Analysis struct {
					Threats []struct {
						Status   string `json:"status"`
						Residual struct {
							Severity string `json:"severity"`
						} `json:"residual"`
					} `json:"threats"`
				} `json:"analysis"`
			}
			if err := dec.Decode(&req); err != nil {
				t.Fatal(err)
			}
			for _, th := range req.Analysis.Threats {
				if th.Status == "open" || th.Status == "in-progress" {
					switch th.Residual.Severity {
					case "critical":
						want["open_critical"]++
					case "high":
						want["open_high"]++
					}
				}
			}
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 1600), chromedp.UserDataDir(sharedtest.BrowserProfile(t)))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var problems []string
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
	shots := t.ArtifactDir()
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), png, 0o644)
		})
	}

	// Log in; the dashboard follows.
	var kpis map[string]string
	var path string
	err := chromedp.Run(ctx,
		chromedp.Navigate(srv.url+"/"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, reviewer, chromedp.ByID),
		chromedp.Submit(`#token`, chromedp.ByID),
		chromedp.WaitVisible(`data[data-kpi="systems"]`, chromedp.ByQuery),
		chromedp.Evaluate(`location.pathname`, &path),
		chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('data[data-kpi]')].map(d => [d.dataset.kpi, d.value]))`, &kpis),
		shot("dashboard.png"),
	)
	if err != nil {
		t.Fatalf("log in and open the dashboard: %v", err)
	}
	if path != "/" {
		t.Errorf("after logging in the browser is at %s, want /", path)
	}
	for k, v := range want {
		got, err := strconv.Atoi(kpis[k])
		if err != nil || got != v {
			t.Errorf("dashboard KPI %s = %q, want %d", k, kpis[k], v)
		}
	}

	// Open the escalated system from the review queue and approve it.
	until := time.Now().AddDate(0, 3, 0)
	var after string
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.url+"/reviews"),
		chromedp.WaitVisible(`a[href="/reviews/churn-api"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/reviews/churn-api"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.decide`, chromedp.ByQuery),
		shot("review.png"),
		chromedp.Click(`input[name="decision"][value="approved"]`, chromedp.ByQuery),
		chromedp.SetValue(`#until`, until.Format("2006-01-02"), chromedp.ByID),
		chromedp.SendKeys(`#conditions`, "per-client rate limit before GA\nmonthly extraction red-team run", chromedp.ByID),
		chromedp.SendKeys(`#comment`, "accepted for one quarter", chromedp.ByID),
		chromedp.Submit(`form.decide`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`form.decide`, chromedp.ByQuery),
		chromedp.Evaluate(`document.body.innerText`, &after),
		shot("decided.png"),
	)
	if err != nil {
		t.Fatalf("approve churn-api in the browser: %v", err)
	}
	for _, s := range []string{"security-board", "per-client rate limit before GA", "monthly extraction red-team run"} {
		if !strings.Contains(after, s) {
			t.Errorf("the page after the decision does not show %q", s)
		}
	}

	// The decision flows back to the gate.
	code, out, errOut := run("gate", "--server", srv.url, "--token", submitter, "--policy", policy, "--packet-dir", filepath.Join(dir, "packets"), churn)
	if code != 0 || !strings.Contains(out, "APPROVED") {
		t.Fatalf("gate --server after the approval in the browser: exit %d\n%s%s", code, out, errOut)
	}
	var queue []json.RawMessage
	if code, body := srv.do("GET", "/api/v1/reviews", reviewer, nil); code != 200 || json.Unmarshal(body, &queue) != nil || len(queue) != 0 {
		t.Errorf("review queue after the approval: %d %s, want empty", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported problems (a CSP violation would): %v", problems)
	}
	t.Logf("screenshots in %s", shots)
}
