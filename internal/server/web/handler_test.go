package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/report/htmlreport"
	"github.com/mlthreat/mlthreat/internal/store"
)

func TestSignedOutGoesToLogin(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/":                      "/login",
		"/systems?q=a":           "/login?next=%2Fsystems%3Fq%3Da",
		"/systems/x":             "/login?next=%2Fsystems%2Fx",
		"/reviews":               "/login?next=%2Freviews",
		"/techniques/AML.T0051":  "/login?next=%2Ftechniques%2FAML.T0051",
		"/systems/x/report":      "/login?next=%2Fsystems%2Fx%2Freport",
		"/systems/x/diff?from=1": "/login?next=%2Fsystems%2Fx%2Fdiff%3Ffrom%3D1",
	} {
		w := e.get(nil, path)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("GET %s signed out: %d → %q, want 303 → %q", path, w.Code, w.Header().Get("Location"), want)
		}
	}
	w := e.post(nil, "/reviews/x/decide", url.Values{"decision": {"approved"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Errorf("POST decide signed out: %d → %q", w.Code, w.Header().Get("Location"))
	}
	if len(e.decided) != 0 {
		t.Error("a signed-out post reached Decide")
	}
	// The stylesheet needs no session.
	w = e.get(nil, "/static/app.css")
	body := mustStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("app.css Content-Type %q", ct)
	}
	mustContain(t, body, ".heat-critical")
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	body := mustStatus(t, e.get(nil, "/login?next=/systems"), http.StatusOK)
	mustContain(t, body, `name="token"`, `type="password"`, `name="next" value="/systems"`, `action="/login"`)

	w := e.post(nil, "/login", url.Values{"token": {"mlt_nobody"}, "next": {"/systems"}})
	body = mustStatus(t, w, http.StatusUnauthorized)
	mustContain(t, body, "That token was not accepted.")
	mustNotContain(t, body, "tok-123", "table tokens", "mlt_nobody")
	if c := w.Result().Cookies(); len(c) != 0 {
		t.Errorf("a failed login set cookies %v", c)
	}

	body = mustStatus(t, e.post(nil, "/login", url.Values{"token": {"  "}}), http.StatusUnauthorized)
	mustContain(t, body, "Enter an API token.")
	if e.logins != 1 {
		t.Errorf("Login called %d times; an empty token must not reach it", e.logins)
	}

	for next, want := range map[string]string{
		"":                  "/",
		"/systems?q=x":      "/systems?q=x",
		"//evil.example/":   "/",
		"https://evil.test": "/",
		"/\\evil.example":   "/",
		"/login":            "/",
	} {
		w = e.post(nil, "/login", url.Values{"token": {"mlt_viewer"}, "next": {next}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("login with next=%q: %d → %q, want 303 → %q", next, w.Code, w.Header().Get("Location"), want)
		}
		if c := w.Result().Cookies(); len(c) != 1 || c[0].Value != "viewer" {
			t.Errorf("login set cookies %v", c)
		}
	}
	// Signed in, the login page sends you on.
	if w := e.get(viewer, "/login"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Errorf("GET /login signed in: %d → %q", w.Code, w.Header().Get("Location"))
	}
	// A cross-site login post is refused before it reaches Login.
	n := e.logins
	req := newFormRequest("/login", url.Values{"token": {"mlt_viewer"}})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := e.do(nil, req); w.Code != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", w.Code)
	}
	if e.logins != n {
		t.Error("a cross-site login reached Login")
	}
}

func TestLogoutNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	for _, csrf := range []string{"", "csrf-reviewer", "csrf-viewer-x"} {
		w := e.post(viewer, "/logout", url.Values{"csrf": {csrf}})
		mustStatus(t, w, http.StatusForbidden)
		if len(w.Result().Cookies()) != 0 {
			t.Errorf("logout with csrf %q cleared the cookie", csrf)
		}
	}
	w := e.post(viewer, "/logout", url.Values{"csrf": {viewer.CSRF}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d → %q", w.Code, w.Header().Get("Location"))
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout cookies %v", c)
	}
	if w := e.get(viewer, "/logout"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout: %d, want 405", w.Code)
	}
}

var kpiRe = regexp.MustCompile(`data-kpi="([a-zA-Z0-9_]+)" value="([0-9.]+)"`)

// TestDashboardShowsTheStoreKPIs reads every KPI the page renders and
// compares it with store.KPIs.
func TestDashboardShowsTheStoreKPIs(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	e.escalate(context.Background(), "llm-rag-assistant", testNow.Add(-30*time.Hour))

	w := e.get(viewer, "/")
	body := mustStatus(t, w, http.StatusOK)
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	k, err := e.store.KPIs(context.Background(), testNow, store.Windows{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"systems": float64(k.Systems), "up_to_date": float64(k.UpToDate), "up_to_date_pct": k.UpToDatePct,
		"open_critical": float64(k.OpenCritical), "open_high": float64(k.OpenHigh),
		"mttm_mean_hours": k.MeanTimeToMitigate, "mttm_p90_hours": k.P90TimeToMitigate, "mitigated": float64(k.Mitigated),
		"accepted_expiring": float64(k.AcceptedExpiring), "fresh_evidence": float64(k.FreshEvidence), "fresh_evidence_pct": k.FreshEvidencePct,
		"escalations_waiting": float64(k.EscalationsWaiting), "escalation_oldest_hours": k.OldestEscalationAge, "escalation_mean_hours": k.MeanEscalationAge,
	}
	for f, v := range k.RMF {
		want["rmf_"+f] = v
	}
	got := map[string]float64{}
	for _, m := range kpiRe.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]] = v
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("KPI %s not on the page", name)
			continue
		}
		if math.Abs(g-w) > 1e-4 {
			t.Errorf("KPI %s: page %v, store %v", name, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("page has %d KPIs, store %d: %v", len(got), len(want), got)
	}
	// The example data is not all zero, so the comparison above means
	// something.
	if k.Systems != 6 || k.OpenCritical == 0 || k.EscalationsWaiting != 1 || k.OldestEscalationAge < 29 {
		t.Errorf("unexpected KPIs %+v", k)
	}
	for _, o := range k.PerOwner {
		mustContain(t, body, `data-owner-critical="`+htmlEsc(o.Owner)+`" value="`+strconv.Itoa(o.Critical)+`"`)
	}
	// The ten worst, in the store's order, and both charts.
	worst, _, err := e.store.ListSystems(context.Background(), store.Filter{Sort: "risk", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for _, s := range worst {
		i := strings.Index(body, `href="/systems/`+s.ID+`"`)
		if i < last {
			t.Errorf("worst systems out of order at %s", s.ID)
		}
		last = i
	}
	svgs := svgRe.FindAllString(body, -1)
	if len(svgs) != 2 {
		t.Fatalf("%d SVG charts on the dashboard, want 2", len(svgs))
	}
	for _, s := range svgs {
		wellFormed(t, s)
	}
	mustContain(t, body, `class="line s-critical"`, `class="heat-critical"`)
}

var svgRe = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func htmlEsc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func wellFormed(t testing.TB, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, clipBody(doc))
		}
	}
}

func TestSystemsList(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	body := mustStatus(t, e.get(viewer, "/systems"), http.StatusOK)
	mustContain(t, body, `data-total value="6"`, "Card Fraud Detection", "Customer Support Assistant")

	body = mustStatus(t, e.get(viewer, "/systems?criticality=critical"), http.StatusOK)
	mustContain(t, body, `data-total value="1"`, "Card Fraud Detection", `<option selected>critical</option>`)
	mustNotContain(t, body, "Customer Support Assistant")

	body = mustStatus(t, e.get(viewer, "/systems?q=assist&owner=support-ai%40example.com"), http.StatusOK)
	mustContain(t, body, `data-total value="1"`, "Customer Support Assistant", `value="assist"`)

	body = mustStatus(t, e.get(viewer, "/systems?criticality=bogus&limit=-3&verdict=pass"), http.StatusOK)
	mustContain(t, body, "Ignored values that are not among the choices: criticality, limit.", `data-total value="0"`)

	// Paging keeps the filters.
	body = mustStatus(t, e.get(viewer, "/systems?limit=2&sort=name"), http.StatusOK)
	mustContain(t, body, `Systems 1–2 of`, `href="/systems?limit=2&amp;offset=2&amp;sort=name"`)
	mustNotContain(t, body, `rel="prev"`)
	body = mustStatus(t, e.get(viewer, "/systems?limit=2&sort=name&offset=4"), http.StatusOK)
	mustContain(t, body, `Systems 5–6 of`, `href="/systems?limit=2&amp;offset=2&amp;sort=name"`)
	mustNotContain(t, body, `rel="next"`)

	_, _, ignored := parseFilter(url.Values{"stale": {"maybe"}, "q": {"a\x00b"}, "offset": {"x"}})
	if strings.Join(ignored, ",") != "q,stale,offset" {
		t.Errorf("ignored %v", ignored)
	}
	sf, _, _ := parseFilter(url.Values{"stale": {"no"}, "limit": {"100000"}})
	if sf.Stale == nil || *sf.Stale || sf.Limit != maxPage {
		t.Errorf("filter %+v", sf)
	}
}

func TestSystemPage(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	body := mustStatus(t, e.get(viewer, "/systems/llm-rag-assistant"), http.StatusOK)
	// The re-analysis shows the threats the pipeline pushed, with their
	// explanations.
	threats, err := e.store.Threats(context.Background(), "llm-rag-assistant")
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, th := range threats {
		if th.ResolvedAt.IsZero() {
			open++
			mustContain(t, body, `<tr id="`+th.ID+`">`)
		}
	}
	if open < 10 {
		t.Fatalf("only %d current threats", open)
	}
	mustContain(t, body, "Customer Support Assistant", "<summary>Why</summary>", "Likelihood", "rule base", "Missing mitigations",
		"NIST AI RMF gaps (generative profile)", "below the profile", "Roadmap",
		`href="/systems/llm-rag-assistant/report"`, `href="/systems/llm-rag-assistant/diff?from=1&amp;to=2"`,
		`href="/systems/llm-rag-assistant/versions/1"`, `href="/reviews/llm-rag-assistant"`, `href="/techniques/AML.T0`,
		`id="decisions"`, "No decisions yet.")
	mustNotContain(t, body, "This is version")

	body = mustStatus(t, e.get(viewer, "/systems/llm-rag-assistant/versions/1"), http.StatusOK)
	mustContain(t, body, "This is version 1, not the latest (2)", `<tr class="current">`)

	for _, p := range []string{"/systems/nope", "/systems/llm-rag-assistant/versions/9", "/systems/llm-rag-assistant/versions/0",
		"/systems/llm-rag-assistant/versions/abc", "/systems/nope/report", "/systems/nope/diff", "/reviews/nope", "/techniques/AML.T9999"} {
		body := mustStatus(t, e.get(viewer, p), http.StatusNotFound)
		mustContain(t, body, "<h1>Not Found</h1>")
	}
}

// A model the server cannot load any more (another catalogue, say) still
// gets its page, with the pushed summary and the reason.
func TestSystemPageUnanalysable(t *testing.T) {
	e := newEnv(t)
	p := examplePush(t, "sentiment-api", testNow.Add(-time.Hour), nil)
	p.Model = []byte("mlthreat: 1\nsystem: {id: sentiment-api, name: \"<i>x</i>\"}\ncomponents: [{id: a, kind: nonsense-kind}]\n")
	if _, err := e.store.Push(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	body := mustStatus(t, e.get(viewer, "/systems/sentiment-api"), http.StatusOK)
	mustContain(t, body, "cannot be analysed again on the server", "The summary the pipeline pushed")
	body = mustStatus(t, e.get(viewer, "/systems/sentiment-api/report"), http.StatusUnprocessableEntity)
	mustContain(t, body, "The report cannot be made")
}

func TestReportHasItsOwnCSP(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	w := e.get(viewer, "/systems/fraud-detection/report")
	body := mustStatus(t, w, http.StatusOK)
	if got := w.Header().Get("Content-Security-Policy"); got != htmlreport.CSP() {
		t.Errorf("CSP %q, want the report's %q", got, htmlreport.CSP())
	}
	if !strings.HasPrefix(body, "<!DOCTYPE html>") {
		t.Errorf("report starts %q", body[:min(40, len(body))])
	}
	mustContain(t, body, "Threat model: Card Fraud Detection", `http-equiv="Content-Security-Policy"`)
}

func TestDiffPage(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	body := mustStatus(t, e.get(viewer, "/systems/fraud-detection/diff"), http.StatusOK)
	// weaken() turned one implemented control into a planned one.
	mustContain(t, body, "version <a href=\"/systems/fraud-detection/versions/1\">1</a> → <a href=\"/systems/fraud-detection/versions/2\">2</a>",
		"<h3>Controls</h3>", "<td>changed</td><td>implemented</td><td>planned</td>", "Residual risk")
	mustNotContain(t, body, "Nothing the diff looks at changed", "**", "| ---")

	body = mustStatus(t, e.get(viewer, "/systems/fraud-detection/diff?from=2&to=2"), http.StatusOK)
	mustContain(t, body, "Nothing the diff looks at changed")

	body = mustStatus(t, e.get(viewer, "/systems/hostile-system/diff"), http.StatusOK)
	mustContain(t, body, "one version only")

	for _, q := range []string{"from=abc", "to=3", "from=0"} {
		body = mustStatus(t, e.get(viewer, "/systems/fraud-detection/diff?"+q), http.StatusBadRequest)
		mustContain(t, body, "must be a version number from 1 to 2")
	}
}

// escalate pushes a new version of an example whose gate escalated, as a
// policy with review-board escalation would.
func (e *env) escalate(ctx context.Context, name string, at time.Time) {
	e.t.Helper()
	e.escalateWith(ctx, name, at, func(s string) string {
		return strings.Replace(s, "status: implemented", "status: partial", 1)
	})
}

func (e *env) escalateWith(ctx context.Context, name string, at time.Time, mutate func(string) string) {
	e.t.Helper()
	p := examplePush(e.t, name, at, mutate)
	var res gate.Result
	if err := json.Unmarshal(p.Gate, &res); err != nil {
		e.t.Fatal(err)
	}
	var keep []gate.Finding
	for _, f := range res.Findings {
		if f.Verdict == gate.Escalate {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		e.t.Fatalf("%s: the gate found no reason to escalate", name)
	}
	res.Findings, res.Verdict, res.Escalated = keep, gate.Escalate, true
	b, err := json.Marshal(res)
	if err != nil {
		e.t.Fatal(err)
	}
	p.Gate, p.Summary.Verdict = b, gate.Escalate
	if _, err := e.store.Push(ctx, p); err != nil {
		e.t.Fatal(err)
	}
}

func TestReviewBoard(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seedExamples()
	e.escalate(ctx, "llm-rag-assistant", testNow.Add(-50*time.Hour))

	body := mustStatus(t, e.get(viewer, "/reviews"), http.StatusOK)
	mustContain(t, body, `href="/reviews/llm-rag-assistant"`, "Customer Support Assistant", `data-age value="50.0000">2.1 days`)
	mustNotContain(t, body, "Card Fraud Detection")

	// The packet: reasons, top risks with their factors, precedent, gaps,
	// and no approval to diff against yet.
	body = mustStatus(t, e.get(viewer, "/reviews/llm-rag-assistant"), http.StatusOK)
	mustContain(t, body, "waiting for the board", "Escalation reasons", "goes to the review board", "Top risks", "rule base",
		"Missing mitigations", "Precedent: ATLAS case studies", "AML.CS", "NIST AI RMF gaps",
		"No version of this system has been approved by the board", "Only reviewers and admins decide.")
	mustNotContain(t, body, `action="/reviews/llm-rag-assistant/decide"`)

	// The pusher cannot decide on their own escalation.
	body = mustStatus(t, e.get(submitter, "/reviews/llm-rag-assistant"), http.StatusOK)
	mustNotContain(t, body, `action="/reviews/llm-rag-assistant/decide"`)

	body = mustStatus(t, e.get(reviewer, "/reviews/llm-rag-assistant"), http.StatusOK)
	mustContain(t, body, `action="/reviews/llm-rag-assistant/decide"`, `name="csrf" value="csrf-reviewer"`, `name="version" value="3"`)

	// CSRF: missing, another session's, wrong.
	for _, csrf := range []string{"", viewer.CSRF, "csrf-reviewer "} {
		form := url.Values{"csrf": {csrf}, "version": {"3"}, "decision": {"rejected"}}
		mustStatus(t, e.post(reviewer, "/reviews/llm-rag-assistant/decide", form), http.StatusForbidden)
	}
	if len(e.decided) != 0 {
		t.Fatal("a post without the session's CSRF token reached Decide")
	}

	// Decide's error is shown, escaped, with the form filled again.
	form := url.Values{"csrf": {reviewer.CSRF}, "version": {"3"}, "decision": {"approved"}, "conditions": {"keep <b>logs</b>\n"}}
	body = mustStatus(t, e.post(reviewer, "/reviews/llm-rag-assistant/decide", form), http.StatusBadRequest)
	mustContain(t, body, `an approval needs until &lt;b&gt;&#34;date&#34;&lt;/b&gt;`, "keep &lt;b&gt;logs&lt;/b&gt;", `value="approved" checked`)
	mustNotContain(t, body, "<b>logs</b>", `<b>"date"</b>`)

	form.Set("decision", "maybe")
	body = mustStatus(t, e.post(reviewer, "/reviews/llm-rag-assistant/decide", form), http.StatusBadRequest)
	mustContain(t, body, "Choose approve, reject or request changes.")

	// An approval with conditions, one per line.
	form.Set("decision", "approved")
	form.Set("until", "2027-02-01")
	form.Set("conditions", "rate-limit the API\r\n\r\n  red-team again in Q1 \n")
	form.Set("comment", "ok <i>for now</i>")
	w := e.post(reviewer, "/reviews/llm-rag-assistant/decide", form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/systems/llm-rag-assistant#decisions" {
		t.Fatalf("decide: %d → %q\n%s", w.Code, w.Header().Get("Location"), clipBody(w.Body.String()))
	}
	if len(e.decided) != 1 {
		t.Fatalf("%d decisions", len(e.decided))
	}
	d := e.decided[0]
	if d.System != "llm-rag-assistant" || d.Version != 3 || d.Decision != "approved" || d.Until != "2027-02-01" ||
		strings.Join(d.Conditions, "|") != "rate-limit the API|red-team again in Q1" || d.Comment != "ok <i>for now</i>" {
		t.Errorf("decision %+v", d)
	}
	body = mustStatus(t, e.get(viewer, "/systems/llm-rag-assistant"), http.StatusOK)
	mustContain(t, body, "rate-limit the API", "ok &lt;i&gt;for now&lt;/i&gt;", `<span class="decision d-approved">approved</span>`)
	body = mustStatus(t, e.get(viewer, "/reviews"), http.StatusOK)
	mustContain(t, body, "Nothing is waiting for the board.")

	// A new escalation: the packet diffs it against the approved version.
	e.escalateWith(ctx, "llm-rag-assistant", testNow.Add(-time.Hour), weaken)
	body = mustStatus(t, e.get(reviewer, "/reviews/llm-rag-assistant"), http.StatusOK)
	mustContain(t, body, "Version 3 was approved by rita", "<h3>Controls</h3>", "<td>changed</td><td>partial</td><td>planned</td>",
		`name="version" value="4"`, "waiting for the board")
}

func TestTechniquePage(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	ex, err := e.store.Exposed(context.Background(), "AML.T0051", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) == 0 {
		t.Fatal("no system exposed to AML.T0051")
	}
	body := mustStatus(t, e.get(viewer, "/techniques/AML.T0051"), http.StatusOK)
	mustContain(t, body, "LLM Prompt Injection", "Sub-techniques", `href="/techniques/AML.T0051.000"`, "Systems exposed",
		strconv.Itoa(len(ex))+" open threats")
	for _, x := range ex {
		mustContain(t, body, x.Threat, `href="/systems/`+x.System+`"`)
	}
	body = mustStatus(t, e.get(viewer, "/techniques/AML.T0051.000"), http.StatusOK)
	mustContain(t, body, "Sub-technique of", `href="/techniques/AML.T0051"`)
}

// TestPagesEscapeAndObeyTheCSP walks every page with a system whose name
// and owner are markup: none of it may come through as markup, and no page
// may carry inline script, style attributes or external resources.
func TestPagesEscapeAndObeyTheCSP(t *testing.T) {
	e := newEnv(t)
	e.seedExamples()
	e.escalate(context.Background(), "llm-rag-assistant", testNow.Add(-time.Hour))
	s, err := e.store.System(context.Background(), "hostile-system")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != hostileName {
		t.Fatalf("stored name %q; the test needs %q", s.Name, hostileName)
	}
	pages := []string{"/", "/systems", "/systems?q=" + url.QueryEscape(`"><script>x</script>`), "/systems/hostile-system",
		"/systems/hostile-system/versions/1", "/reviews", "/reviews/hostile-system", "/reviews/llm-rag-assistant",
		"/systems/llm-rag-assistant", "/systems/llm-rag-assistant/diff", "/techniques/AML.T0024", "/login", "/systems/nope"}
	inlineStyle := regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
	external := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`)
	for _, p := range pages {
		who := reviewer
		if p == "/login" {
			who = nil
		}
		w := e.get(who, p)
		body := w.Body.String()
		if w.Code != http.StatusOK && p != "/systems/nope" {
			t.Errorf("%s: %d", p, w.Code)
		}
		mustNotContain(t, body, "<script", "<img", "<b>owner", `"pwn"`)
		if inlineStyle.MatchString(body) {
			t.Errorf("%s has an inline style attribute", p)
		}
		if m := external.FindString(body); m != "" {
			t.Errorf("%s loads %s", p, m)
		}
		if strings.Contains(p, "hostile") || p == "/" || p == "/systems" {
			mustContain(t, body, "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt; &amp; &#39;Quotes&#39;")
		}
		for _, s := range svgRe.FindAllString(body, -1) {
			wellFormed(t, s)
		}
	}
}

func newFormRequest(path string, form url.Values) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
