package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/gapreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// testNow is the clock of every test: after the examples' review dates.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// The catalogue, rules and crosswalk are read-only once loaded; the tests
// share one copy.
var (
	kbOnce sync.Once
	kbCat  *catalog.Catalog
	kbSet  *rules.Set
	kbCW   *gap.Crosswalk
	kbErr  error
)

func knowledge(t testing.TB) (*catalog.Catalog, *rules.Set, *gap.Crosswalk) {
	t.Helper()
	kbOnce.Do(func() {
		kbCat = catalog.Default()
		if kbSet, kbErr = rules.Load(kbCat); kbErr != nil {
			return
		}
		kbCW, kbErr = gap.Load(kbCat)
	})
	if kbErr != nil {
		t.Fatal(kbErr)
	}
	return kbCat, kbSet, kbCW
}

// principals the fake session layer knows, by cookie value.
var (
	viewer    = &Principal{TokenID: "tok-viewer", Name: "vera", Role: store.RoleViewer, CSRF: "csrf-viewer"}
	reviewer  = &Principal{TokenID: "tok-reviewer", Name: "rita", Role: store.RoleReviewer, CSRF: "csrf-reviewer"}
	submitter = &Principal{TokenID: "tok-ci", Name: "ci", Role: store.RoleSubmitter, CSRF: "csrf-ci"}
)

const sessionCookie = "test_session"

// env is a handler over a real SQLite store with fake sessions.
type env struct {
	t       testing.TB
	store   store.Store
	h       http.Handler
	mu      sync.Mutex
	decided []store.Decision
	logins  int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvStore(t, storetest.Open(t, store.SQLite))
}

func newEnvStore(t testing.TB, s store.Store) *env {
	t.Helper()
	cat, set, cw := knowledge(t)
	e := &env{t: t, store: s}
	sessions := map[string]*Principal{"viewer": viewer, "reviewer": reviewer, "ci": submitter}
	e.h = Handler(Deps{
		Store: s, Catalog: cat, Rules: set, Crosswalk: cw,
		Now: func() time.Time { return testNow },
		Principal: func(r *http.Request) *Principal {
			c, err := r.Cookie(sessionCookie)
			if err != nil {
				return nil
			}
			return sessions[c.Value]
		},
		Login: func(w http.ResponseWriter, r *http.Request, secret string) error {
			e.mu.Lock()
			e.logins++
			e.mu.Unlock()
			if _, ok := sessions[strings.TrimPrefix(secret, "mlt_")]; !ok || !strings.HasPrefix(secret, "mlt_") {
				return errors.New("token tok-123 unknown in table tokens") // detail that must not reach the page
			}
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: strings.TrimPrefix(secret, "mlt_")})
			return nil
		},
		Logout: func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", MaxAge: -1})
		},
		Decide: func(ctx context.Context, p *Principal, d *store.Decision) error {
			// The server's checks that matter to the page: an approval
			// needs a date, the message is shown to the reviewer.
			if d.Decision == "approved" && d.Until == "" {
				return badDecision(`an approval needs until <b>"date"</b>`)
			}
			sys, err := s.System(ctx, d.System)
			if err != nil {
				return err
			}
			d.By, d.TokenID, d.At = p.Name, p.TokenID, testNow
			d.ThreatSet = sys.Summary.ThreatSet
			if err := s.Decide(ctx, d); err != nil {
				return err
			}
			e.mu.Lock()
			e.decided = append(e.decided, *d)
			e.mu.Unlock()
			return nil
		},
	})
	return e
}

// get requests path as who (nil: signed out).
func (e *env) get(who *Principal, path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(who, httptest.NewRequest(http.MethodGet, path, nil))
}

// post submits a form as who.
func (e *env) post(who *Principal, path string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(who, r)
}

func (e *env) do(who *Principal, r *http.Request) *httptest.ResponseRecorder {
	if who != nil {
		for k, p := range map[string]*Principal{"viewer": viewer, "reviewer": reviewer, "ci": submitter} {
			if p == who {
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: k})
			}
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// examplePush analyses a model the way `mlthreat push` does and returns
// the push the server would store. mutate edits the YAML first.
func examplePush(t testing.TB, name string, at time.Time, mutate func(string) string) *store.Push {
	t.Helper()
	file := filepath.Join(sharedtest.RepoRoot(t), "examples", name, "system.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		b = []byte(mutate(string(b)))
	}
	return pushOf(t, "examples/"+name+"/system.yaml", b, at)
}

func pushOf(t testing.TB, file string, src []byte, at time.Time) *store.Push {
	t.Helper()
	cat, set, cw := knowledge(t)
	sys, ds := model.Load(file, src, model.DefaultLimits)
	if sys == nil || ds.Errors() > 0 {
		t.Fatalf("%s: %v", file, ds)
	}
	today := at.UTC().Truncate(24 * time.Hour)
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := gap.ResolveProfile("", sys, cat)
	if err != nil {
		t.Fatal(err)
	}
	gr := gap.Judge(rep, cw, prof, today)
	// The pipeline's roadmap (gap.Analyze simulates every remediation,
	// too slow for a test that pushes a dozen models): one item stands in.
	gr.Roadmap = []gap.Item{{Rank: 1, Kind: "mitigation", ID: "AML.M0015", Name: "Adversarial Input Detection", Action: "implement",
		Subcategories: []string{"MEASURE 2.7"}, Threats: []string{}, RiskReduction: 42, Effort: "M", Phase: 30}}
	pol, err := gate.Load("standard", cat)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gate.Evaluate(pol, gate.Input{File: file, System: sys, Report: rep, Gap: gr, Today: today})
	if err != nil {
		t.Fatal(err)
	}
	var aj, gj bytes.Buffer
	if err := (jsonreport.Writer{Version: "test"}).Write(&aj, rep); err != nil {
		t.Fatal(err)
	}
	if err := gapreport.JSON(&gj, gr, "test"); err != nil {
		t.Fatal(err)
	}
	rj, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	p := &store.Push{
		System: sys.Info.ID, Name: sys.Info.Name, Owner: sys.Info.Owner, Criticality: sys.Info.Criticality,
		Platforms: sys.Info.Platforms, Tags: sys.Info.Tags, At: at, TokenID: submitter.TokenID, By: submitter.Name,
		File: file, ToolVersion: "test", Model: src, Analysis: aj.Bytes(), Gap: gj.Bytes(), Gate: rj,
	}
	sum := store.Summary{Threats: len(rep.Threats), Verdict: res.Verdict, Policy: res.Policy, ThreatSet: res.ThreatSet,
		ReviewedAt: sys.Info.Review.Date, RMF: map[string]float64{}}
	for _, f := range res.Findings {
		if f.Check == "stale" || f.Check == "review" {
			sum.Stale = true
		}
	}
	for _, c := range gr.Functions {
		sum.RMF[c.ID] = c.Score
	}
	for _, th := range rep.Threats {
		st := store.Threat{ID: th.ID, Rule: th.Rule.ID, Title: th.Rule.Title, Element: th.Target.ID(), Technique: th.Technique,
			Related: th.Related, Tactics: th.Tactics, Severity: th.Severity, Residual: th.Residual.Severity,
			ResidualScore: th.Residual.Score, Status: th.Status}
		if th.Decision != nil {
			st.Until = th.Decision.Until
		}
		p.Threats = append(p.Threats, st)
		if th.Status != "open" && th.Status != "in-progress" {
			continue
		}
		sum.RiskScore += th.Residual.Score
		switch th.Residual.Severity {
		case "critical":
			sum.OpenCritical++
		case "high":
			sum.OpenHigh++
		case "medium":
			sum.OpenMedium++
		case "low":
			sum.OpenLow++
		}
		if analysis.SeverityRank(th.Residual.Severity) > analysis.SeverityRank(sum.MaxSeverity) {
			sum.MaxSeverity = th.Residual.Severity
		}
	}
	p.Summary = sum
	return p
}

var examples = []string{"coding-agent", "fraud-detection", "llm-rag-assistant", "quality-inspection", "sentiment-api"}

// seedExamples pushes every example twice (the second with a control
// removed, so versions differ) and a hostile-named copy of one.
func (e *env) seedExamples() {
	e.t.Helper()
	ctx := context.Background()
	at := testNow.Add(-10 * 24 * time.Hour)
	for i, name := range examples {
		if _, err := e.store.Push(ctx, examplePush(e.t, name, at.Add(time.Duration(i)*time.Hour), nil)); err != nil {
			e.t.Fatal(err)
		}
	}
	for i, name := range examples {
		p := examplePush(e.t, name, at.Add(48*time.Hour+time.Duration(i)*time.Hour), weaken)
		if _, err := e.store.Push(ctx, p); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.store.Push(ctx, hostilePush(e.t, at.Add(72*time.Hour))); err != nil {
		e.t.Fatal(err)
	}
}

// weaken marks the first implemented control as planned, which raises
// some residual risk.
func weaken(src string) string {
	return strings.Replace(src, "status: implemented", "status: planned", 1)
}

// hostileName is a system name a pusher controls.
const hostileName = `<script>alert("pwn")</script> & 'Quotes' <img src=x onerror=alert(1)>`

func hostilePush(t testing.TB, at time.Time) *store.Push {
	t.Helper()
	return examplePush(t, "sentiment-api", at, func(s string) string {
		s = strings.Replace(s, "id: sentiment-api", "id: hostile-system", 1)
		s = strings.Replace(s, "name: Sentiment Analysis API", "name: '"+strings.ReplaceAll(hostileName, "'", "''")+"'", 1)
		return strings.Replace(s, "owner: ml-platform@example.com", `owner: "<b>owner</b>\"x"`, 1)
	})
}

// mustStatus fails unless w has the status.
func mustStatus(t testing.TB, w *httptest.ResponseRecorder, want int) string {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d; body:\n%s", w.Code, want, clipBody(w.Body.String()))
	}
	return w.Body.String()
}

func clipBody(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func mustContain(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func mustNotContain(t testing.TB, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			i := strings.Index(body, b)
			t.Errorf("page contains %q at …%s…", b, body[max(0, i-80):min(len(body), i+80)])
		}
	}
}

// badDecision is a Decide error that names its status, as the server's do.
type badDecision string

func (e badDecision) Error() string   { return string(e) }
func (e badDecision) HTTPStatus() int { return http.StatusBadRequest }
