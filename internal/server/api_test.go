package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/store"
)

func TestPushEveryExample(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		std := policy(t, "standard")
		for _, name := range exampleNames(t) {
			req := buildPush(t, name+"/system.yaml", exampleModel(t, name), std)
			var res api.PushResponse
			want(t, e.do("POST", "/api/v1/push", e.admin, req), http.StatusCreated, &res)
			if res.Version != 1 || res.Unchanged || res.System != name {
				t.Errorf("%s: first push = %+v", name, res)
			}
			if res.URL != "https://mlthreat.example.com/systems/"+name {
				t.Errorf("%s: url %q", name, res.URL)
			}
			if res.Verdict != "fail" {
				t.Errorf("%s: verdict %q; every example fails the standard policy", name, res.Verdict)
			}
			// The same content again is not a new version.
			want(t, e.do("POST", "/api/v1/push", e.admin, req), http.StatusOK, &res)
			if !res.Unchanged || res.Version != 1 {
				t.Errorf("%s: second push = %+v, want unchanged version 1", name, res)
			}

			var analysisDoc struct {
				Threats []struct {
					Status   string `json:"status"`
					Residual struct {
						Score    int    `json:"score"`
						Severity string `json:"severity"`
					} `json:"residual"`
				} `json:"threats"`
			}
			if err := json.Unmarshal(req.Analysis, &analysisDoc); err != nil {
				t.Fatal(err)
			}
			var sys api.SystemDetail
			want(t, e.do("GET", "/api/v1/systems/"+name, e.admin, nil), http.StatusOK, &sys)
			crit, risk := 0, 0
			for _, th := range analysisDoc.Threats {
				if th.Status == "open" || th.Status == "in-progress" {
					risk += th.Residual.Score
					if th.Residual.Severity == "critical" {
						crit++
					}
				}
			}
			s := sys.Summary
			if s.Threats != len(analysisDoc.Threats) || s.OpenCritical != crit || s.RiskScore != risk {
				t.Errorf("%s: summary %+v; the analysis has %d threats, %d open critical, risk %d", name, s, len(analysisDoc.Threats), crit, risk)
			}
			if s.Verdict != "fail" || s.Policy != "standard" || len(s.ThreatSet) != 16 || len(s.RMF) != 4 {
				t.Errorf("%s: gate/gap summary %+v", name, s)
			}
			if len(sys.Threats) != len(analysisDoc.Threats) {
				t.Errorf("%s: %d threat lifecycles, want %d", name, len(sys.Threats), len(analysisDoc.Threats))
			}
		}
	})
}

func pushAll(t *testing.T, e *env, pol string) {
	t.Helper()
	p := policy(t, pol)
	for _, name := range exampleNames(t) {
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, name+"/system.yaml", exampleModel(t, name), p)), http.StatusCreated, nil)
	}
}

func TestListAndFilter(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		pushAll(t, e, "standard")
		viewer := e.token("dashboard", store.RoleViewer, "", "")
		list := func(q string) api.SystemList {
			t.Helper()
			var l api.SystemList
			want(t, e.do("GET", "/api/v1/systems"+q, viewer, nil), http.StatusOK, &l)
			return l
		}
		all := list("")
		if all.Total != len(exampleNames(t)) || len(all.Systems) != all.Total || all.Limit != 50 {
			t.Fatalf("list = total %d, %d systems, limit %d", all.Total, len(all.Systems), all.Limit)
		}
		for i := 1; i < len(all.Systems); i++ {
			if all.Systems[i-1].Summary.RiskScore < all.Systems[i].Summary.RiskScore {
				t.Errorf("default order is not by risk, descending: %d before %d", all.Systems[i-1].Summary.RiskScore, all.Systems[i].Summary.RiskScore)
			}
		}
		if l := list("?owner=" + url.QueryEscape("fraud-ml@bank.example")); l.Total != 1 || l.Systems[0].ID != "fraud-detection" {
			t.Errorf("owner filter: %+v", l)
		}
		if l := list("?q=sentiment"); l.Total != 1 || l.Systems[0].ID != "sentiment-api" {
			t.Errorf("q filter: %+v", l)
		}
		if l := list("?platform=agentic"); l.Total == 0 || l.Total == all.Total {
			t.Errorf("platform filter matched %d of %d", l.Total, all.Total)
		}
		if l := list("?verdict=escalate"); l.Total != 0 {
			t.Errorf("verdict=escalate matched %d; every example fails", l.Total)
		}
		if l := list("?sort=name&limit=2&offset=1"); len(l.Systems) != 2 || l.Total != all.Total || l.Offset != 1 {
			t.Errorf("paging: %+v", l)
		} else if l.Systems[0].Name > l.Systems[1].Name {
			t.Errorf("sort=name: %q before %q", l.Systems[0].Name, l.Systems[1].Name)
		}
		for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?offset=-1", "?sort=owner", "?severity=urgent", "?stale=maybe", "?verdict=ok", "?criticality=extreme", "?owners=x", "?q=a&q=b"} {
			wantError(t, e.do("GET", "/api/v1/systems"+q, viewer, nil), http.StatusBadRequest)
		}
		wantError(t, e.do("GET", "/api/v1/systems/no-such-system", viewer, nil), http.StatusNotFound, "no-such-system")
	})
}

func TestVersionsAndDiff(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		std := policy(t, "standard")
		v1 := exampleModel(t, "sentiment-api")
		// Version 2 limits the API's rate and stops returning scores: the
		// extraction threats' likelihood drops.
		v2 := replace(t, v1, "props: {auth: api-key, rate_limit: none, output: scores}", "props: {auth: api-key, rate_limit: per-client, output: label}")
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", v1, std)), http.StatusCreated, nil)
		e.clock.Add(3600e9)
		var res api.PushResponse
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", v2, std)), http.StatusCreated, &res)
		if res.Version != 2 {
			t.Fatalf("second push is version %d", res.Version)
		}

		var vs []api.Version
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/versions", e.admin, nil), http.StatusOK, &vs)
		if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
			t.Fatalf("versions: %+v", vs)
		}
		if vs[0].By != "admin" || vs[0].Digests["model"] == "" || vs[0].Digests["analysis"] == "" || vs[0].Model != "" {
			t.Errorf("version listing: %+v", vs[0])
		}

		var v api.Version
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/versions/1?include=model,analysis,gate", e.admin, nil), http.StatusOK, &v)
		if v.Model != string(v1) || len(v.Analysis) == 0 || len(v.Gate) == 0 || v.Gap != nil {
			t.Errorf("version 1 with content: model %d bytes, analysis %d, gate %d, gap %d", len(v.Model), len(v.Analysis), len(v.Gate), len(v.Gap))
		}
		wantError(t, e.do("GET", "/api/v1/systems/sentiment-api/versions/3", e.admin, nil), http.StatusNotFound, "version 3")
		wantError(t, e.do("GET", "/api/v1/systems/sentiment-api/versions/0", e.admin, nil), http.StatusBadRequest)
		wantError(t, e.do("GET", "/api/v1/systems/sentiment-api/versions/1?include=secrets", e.admin, nil), http.StatusBadRequest, "secrets")

		var d struct {
			Changes bool `json:"has_changes"`
			Old     struct {
				Threats int `json:"threats"`
			} `json:"old"`
			Threats struct {
				Removed []struct {
					ID string `json:"id"`
				} `json:"removed"`
			} `json:"threats"`
		}
		w := e.do("GET", "/api/v1/systems/sentiment-api/diff", e.admin, nil)
		want(t, w, http.StatusOK, &d)
		if !d.Changes || d.Old.Threats == 0 || len(d.Threats.Removed) == 0 {
			t.Errorf("the diff of versions 1 and 2 does not show the removed threats: %s", w.Body.String())
		}
		w = e.do("GET", "/api/v1/systems/sentiment-api/diff?from=1&to=2&format=markdown", e.admin, nil)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/markdown") || !strings.Contains(w.Body.String(), "|") {
			t.Errorf("markdown diff: %d %s\n%s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
		d.Changes = true
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/diff?from=2&to=2", e.admin, nil), http.StatusOK, &d)
		if d.Changes {
			t.Errorf("a version compared with itself differs: %+v", d)
		}
		for _, q := range []string{"?from=3", "?to=0", "?from=x", "?format=html"} {
			wantError(t, e.do("GET", "/api/v1/systems/sentiment-api/diff"+q, e.admin, nil), http.StatusBadRequest)
		}
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", exampleModel(t, "fraud-detection"), std)), http.StatusCreated, nil)
		wantError(t, e.do("GET", "/api/v1/systems/fraud-detection/diff", e.admin, nil), http.StatusBadRequest, "no earlier version")
	})
}

func TestThreatsByTechnique(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		pushAll(t, e, "standard")
		var exact, sub api.ExposureList
		want(t, e.do("GET", "/api/v1/threats?technique=AML.T0051", e.admin, nil), http.StatusOK, &exact)
		want(t, e.do("GET", "/api/v1/threats?technique=AML.T0051&sub=true", e.admin, nil), http.StatusOK, &sub)
		if sub.Systems == 0 || len(sub.Exposures) < len(exact.Exposures) || sub.Name == "" {
			t.Errorf("prompt injection exposure: exact %d, with sub-techniques %d over %d systems (%q)", len(exact.Exposures), len(sub.Exposures), sub.Systems, sub.Name)
		}
		for _, x := range sub.Exposures {
			if x.Status != "open" && x.Status != "in-progress" {
				t.Errorf("exposure to a closed threat: %+v", x)
			}
			if x.System == "sentiment-api" || x.System == "quality-inspection" {
				t.Errorf("a predictive system is exposed to prompt injection: %+v", x)
			}
		}
		for _, q := range []string{"", "?technique=T0051", "?technique=AML.T0051&sub=yes", "?technique=AML.T0051;drop"} {
			wantError(t, e.do("GET", "/api/v1/threats"+q, e.admin, nil), http.StatusBadRequest)
		}
	})
}

func TestKPIs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		var k api.KPIs
		want(t, e.do("GET", "/api/v1/kpis", e.admin, nil), http.StatusOK, &k)
		if k.Systems != 0 || k.PerOwner == nil || k.RMF == nil {
			t.Errorf("empty portfolio: %+v", k)
		}
		pushAll(t, e, "board")
		want(t, e.do("GET", "/api/v1/kpis", e.admin, nil), http.StatusOK, &k)
		n := len(exampleNames(t))
		if k.Systems != n || k.OpenCritical == 0 || k.EscalationsWaiting == 0 || len(k.PerOwner) != n {
			t.Errorf("KPIs after %d pushes: %+v", n, k)
		}
		if k.UpToDateRatio < 0 || k.UpToDateRatio > 1 || k.FreshEvidenceRatio < 0 || k.FreshEvidenceRatio > 1 {
			t.Errorf("ratios out of [0, 1]: %v, %v", k.UpToDateRatio, k.FreshEvidenceRatio)
		}
		var q []api.QueueItem
		want(t, e.do("GET", "/api/v1/reviews", e.admin, nil), http.StatusOK, &q)
		if len(q) != k.EscalationsWaiting {
			t.Errorf("review queue has %d items, KPIs say %d waiting", len(q), k.EscalationsWaiting)
		}
		for _, it := range q {
			if it.PushedBy != "admin" || it.ThreatSet == "" || it.System.Summary.Verdict != "escalate" {
				t.Errorf("queue item %+v", it)
			}
		}
	})
}

func TestDecisions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		board := policy(t, "board")
		alice := e.token("alice", store.RoleSubmitter, "ml-platform@example.com", "")
		aliceReviewer := e.token("Alice", store.RoleReviewer, "", "")
		bob := e.token("bob", store.RoleReviewer, "", "")
		viewer := e.token("carol", store.RoleViewer, "", "")
		req := buildPush(t, "system.yaml", exampleModel(t, "sentiment-api"), board)
		var pushed api.PushResponse
		want(t, e.do("POST", "/api/v1/push", alice, req), http.StatusCreated, &pushed)
		if !pushed.Escalated || pushed.Verdict != "escalate" {
			t.Fatalf("the board policy did not escalate: %+v", pushed)
		}
		var gateDoc struct {
			ThreatSet string `json:"threat_set"`
		}
		json.Unmarshal(req.Gate, &gateDoc)

		path := "/api/v1/systems/sentiment-api/decisions"
		until := day.AddDate(0, 3, 0).Format("2006-01-02")
		approve := api.Decision{Decision: "approved", Until: until, Conditions: []string{"rate limit by Q1", " ", "re-test extraction"}, Comment: "ok for a quarter"}

		wantError(t, e.do("POST", path, alice, approve), http.StatusForbidden)
		wantError(t, e.do("POST", path, viewer, approve), http.StatusForbidden)
		wantError(t, e.do("POST", path, aliceReviewer, approve), http.StatusForbidden, "cannot decide on an escalation you pushed")

		bad := []struct {
			name string
			d    api.Decision
			code int
			says string
		}{
			{"unknown decision", api.Decision{Decision: "maybe"}, 400, "decision"},
			{"approval without until", api.Decision{Decision: "approved"}, 400, "until"},
			{"until in the past", api.Decision{Decision: "approved", Until: "2020-01-01"}, 400, "future"},
			{"until today", api.Decision{Decision: "approved", Until: day.Format("2006-01-02")}, 400, "future"},
			{"until over a year", api.Decision{Decision: "approved", Until: day.AddDate(1, 0, 1).Format("2006-01-02")}, 400, "year"},
			{"until not a date", api.Decision{Decision: "approved", Until: "next week"}, 400, "YYYY-MM-DD"},
			{"until on a rejection", api.Decision{Decision: "rejected", Until: until}, 400, "approvals only"},
			{"too many conditions", api.Decision{Decision: "rejected", Conditions: strings.Split(strings.Repeat("c,", 21), ",")[:21]}, 400, "conditions"},
			{"long condition", api.Decision{Decision: "rejected", Conditions: []string{strings.Repeat("x", 501)}}, 400, "condition"},
			{"long comment", api.Decision{Decision: "rejected", Comment: strings.Repeat("x", 4001)}, 400, "comment"},
			{"another threat set", api.Decision{Decision: "rejected", ThreatSet: "0123456789abcdef"}, 409, "threat set"},
			{"an old version", api.Decision{Decision: "rejected", Version: 7}, 409, "latest version"},
			{"server fields", api.Decision{Decision: "rejected", By: "someone-else"}, 400, "set by the server"},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) { wantError(t, e.do("POST", path, bob, c.d), c.code, c.says) })
		}
		wantError(t, e.do("POST", path, bob, `{"decision":"approved","until":"`+until+`","extra":1}`), http.StatusBadRequest, "extra")
		wantError(t, e.do("POST", "/api/v1/systems/no-such/decisions", bob, approve), http.StatusNotFound)

		var got api.Decision
		want(t, e.do("POST", path, bob, approve), http.StatusCreated, &got)
		if got.By != "bob" || got.Version != 1 || got.ThreatSet != gateDoc.ThreatSet || got.Date != day.Format("2006-01-02") || got.Until != until {
			t.Errorf("recorded decision %+v", got)
		}
		if !slices.Equal(got.Conditions, []string{"rate limit by Q1", "re-test extraction"}) {
			t.Errorf("conditions %q: blanks should be dropped", got.Conditions)
		}

		var list []api.Decision
		want(t, e.do("GET", path, viewer, nil), http.StatusOK, &list)
		if len(list) != 1 || list[0].Decision != "approved" || list[0].Date == "" || list[0].ThreatSet != gateDoc.ThreatSet || list[0].By != "bob" {
			t.Fatalf("decisions: %+v", list)
		}
		var q []api.QueueItem
		want(t, e.do("GET", "/api/v1/reviews", viewer, nil), http.StatusOK, &q)
		if len(q) != 0 {
			t.Errorf("the approved escalation is still queued: %+v", q)
		}

		// A system that passes is not the board's business.
		lenient := buildPush(t, "system.yaml", exampleModel(t, "fraud-detection"), policy(t, "lenient"))
		want(t, e.do("POST", "/api/v1/push", e.admin, lenient), http.StatusCreated, nil)
		wantError(t, e.do("POST", "/api/v1/systems/fraud-detection/decisions", bob, approve), http.StatusConflict, "not escalated")

		// The web pages use the same checks through Decide.
		err := e.srv.Decide(t.Context(), nil, &store.Decision{System: "sentiment-api", Decision: "rejected"})
		if code, _, _ := status(err); code != http.StatusUnauthorized {
			t.Errorf("Decide without a principal: %v", err)
		}

		var audit []api.AuditEntry
		want(t, e.do("GET", "/api/v1/audit?system=sentiment-api", bob, nil), http.StatusOK, &audit)
		actions := map[string]bool{}
		for _, a := range audit {
			actions[a.Action] = true
		}
		if !actions["push"] || !actions["decide"] {
			t.Errorf("audit of sentiment-api has %v; want push and decide", actions)
		}
		wantError(t, e.do("GET", "/api/v1/audit", alice, nil), http.StatusForbidden)
		wantError(t, e.do("GET", "/api/v1/audit?limit=5000", bob, nil), http.StatusBadRequest)
	})
}

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		var created api.TokenCreated
		want(t, e.do("POST", "/api/v1/tokens", e.admin, api.TokenRequest{Name: "ci-fraud", Role: "submitter", Owner: "fraud-ml@bank.example"}), http.StatusCreated, &created)
		if !WellFormedToken(created.Secret) || created.ID == "" || created.CreatedBy != "admin" {
			t.Fatalf("created %+v", created)
		}
		w := e.do("GET", "/api/v1/tokens", e.admin, nil)
		var list []api.Token
		want(t, w, http.StatusOK, &list)
		if len(list) != 2 {
			t.Fatalf("tokens: %+v", list)
		}
		if strings.Contains(w.Body.String(), created.Secret) || strings.Contains(w.Body.String(), HashToken(created.Secret)) || strings.Contains(w.Body.String(), HashToken(e.admin)) {
			t.Fatal("the token list shows a secret or a hash")
		}
		for _, c := range []struct {
			req  api.TokenRequest
			code int
		}{
			{api.TokenRequest{Name: "ci-fraud", Role: "viewer"}, 409},
			{api.TokenRequest{Name: "x", Role: "root"}, 400},
			{api.TokenRequest{Name: "", Role: "viewer"}, 400},
			{api.TokenRequest{Name: "<b>", Role: "viewer"}, 400},
			{api.TokenRequest{Name: "s", Role: "submitter"}, 400},
			{api.TokenRequest{Name: "v", Role: "viewer", Owner: "x"}, 400},
			{api.TokenRequest{Name: "s", Role: "submitter", System: "Not A Slug"}, 400},
		} {
			wantError(t, e.do("POST", "/api/v1/tokens", e.admin, c.req), c.code)
		}
		want(t, e.do("GET", "/api/v1/kpis", created.Secret, nil), http.StatusOK, nil)
		want(t, e.do("DELETE", "/api/v1/tokens/"+created.ID, e.admin, nil), http.StatusNoContent, nil)
		wantError(t, e.do("GET", "/api/v1/kpis", created.Secret, nil), http.StatusUnauthorized, "revoked")
		wantError(t, e.do("DELETE", "/api/v1/tokens/"+created.ID, e.admin, nil), http.StatusConflict)
		wantError(t, e.do("DELETE", "/api/v1/tokens/tok_nope", e.admin, nil), http.StatusNotFound)

		var me []api.Token
		want(t, e.do("GET", "/api/v1/tokens", e.admin, nil), http.StatusOK, &me)
		adminID := ""
		for _, tk := range me {
			if tk.Role == "admin" {
				adminID = tk.ID
			}
		}
		wantError(t, e.do("DELETE", "/api/v1/tokens/"+adminID, e.admin, nil), http.StatusConflict, "last admin")

		var audit []api.AuditEntry
		want(t, e.do("GET", "/api/v1/audit", e.admin, nil), http.StatusOK, &audit)
		n := 0
		for _, a := range audit {
			if a.Action == "token.create" || a.Action == "token.revoke" {
				n++
			}
		}
		if n < 2 {
			t.Errorf("audit has %d token entries, want the creation and the revocation", n)
		}
	})
}

func TestBootstrap(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		secret, created, err := e.srv.Bootstrap(t.Context())
		if err != nil || created || secret != "" {
			t.Fatalf("second Bootstrap = %q, %v, %v; want nothing", secret, created, err)
		}
		var toks []api.Token
		want(t, e.do("GET", "/api/v1/tokens", e.admin, nil), http.StatusOK, &toks)
		if len(toks) != 1 || toks[0].Role != "admin" || toks[0].CreatedBy != "bootstrap" {
			t.Errorf("tokens after bootstrap: %+v", toks)
		}
		var audit []api.AuditEntry
		want(t, e.do("GET", "/api/v1/audit?action=bootstrap", e.admin, nil), http.StatusOK, &audit)
		if len(audit) != 1 || audit[0].Actor != "system" {
			t.Errorf("bootstrap audit: %+v", audit)
		}
	})
}

func TestHealth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		var h api.Health
		want(t, e.do("GET", "/healthz", "", nil), http.StatusOK, &h)
		want(t, e.do("GET", "/readyz", "", nil), http.StatusOK, &h)
		if h.Status != "ok" {
			t.Errorf("readyz: %+v", h)
		}
	})
}

func TestAPIMisses(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		wantError(t, e.do("GET", "/api/v1/nothing-here", e.admin, nil), http.StatusNotFound)
		w := e.do("GET", "/api/v1/push", e.admin, nil)
		wantError(t, w, http.StatusMethodNotAllowed, "POST")
		if !strings.Contains(w.Header().Get("Allow"), "POST") {
			t.Errorf("Allow: %q", w.Header().Get("Allow"))
		}
		wantError(t, e.do("PUT", "/api/v1/systems/x", e.admin, nil), http.StatusMethodNotAllowed)
		wantError(t, e.do("GET", "/api/v1/systems/"+url.PathEscape("../../etc"), e.admin, nil), http.StatusNotFound)
		w = e.do("GET", "/api/v1/systems/UPPER", e.admin, nil)
		wantError(t, w, http.StatusNotFound)
	})
}
