package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mlthreat/mlthreat/internal/evidence"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/server/api"
)

func evidenceFile(t testing.TB, dates ...string) string {
	t.Helper()
	var recs []evidence.Record
	for i, d := range dates {
		run := "run-" + d
		attack := []string{"extraction.query-budget", "membership.shadow-models"}[i%2]
		recs = append(recs, evidence.Record{
			ID:   evidence.NewID("art", run, attack, "", "", "sentiment-api", "api"),
			Tool: "art", Run: run, Attack: attack, Subject: "sentiment-api", Target: "api",
			Techniques: []string{"AML.T0024.002"}, Attempts: 200, Successes: 3, Date: d,
		})
	}
	var b bytes.Buffer
	if err := evidence.Write(&b, "system.yaml", recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func reviewRecord(t testing.TB, system, date string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(gate.Record{Format: 1, System: system, File: "system.yaml", Date: date, By: "security-review-board",
		Model: "00", Artifacts: []gate.ArtifactDigest{}, Threats: []gate.ThreatRef{}, ThreatSet: "e3b0c44298fc1c14", Tool: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushEvidenceAndReview checks the dates the KPIs rest on: the newest
// red-team result and the signed review, which wins over the model's own
// review date.
func TestPushEvidenceAndReview(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		std := policy(t, "standard")
		src := exampleModel(t, "sentiment-api") // review.date 2026-11-01
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", src, std)), http.StatusCreated, nil)
		var sys api.SystemDetail
		want(t, e.do("GET", "/api/v1/systems/sentiment-api", e.admin, nil), http.StatusOK, &sys)
		if sys.Summary.ReviewedAt != "2026-11-01" || sys.Summary.EvidenceAt != "" {
			t.Errorf("without a record or evidence: reviewed %q, evidence %q", sys.Summary.ReviewedAt, sys.Summary.EvidenceAt)
		}

		req := buildPush(t, "system.yaml", src, std)
		req.Evidence = evidenceFile(t, "2026-10-02", "2026-11-10")
		req.Review = reviewRecord(t, "sentiment-api", "2026-11-15")
		want(t, e.do("POST", "/api/v1/push", e.admin, req), http.StatusCreated, nil)
		want(t, e.do("GET", "/api/v1/systems/sentiment-api", e.admin, nil), http.StatusOK, &sys)
		if sys.Summary.ReviewedAt != "2026-11-15" || sys.Summary.EvidenceAt != "2026-11-10" {
			t.Errorf("with a record and evidence: reviewed %q, evidence %q", sys.Summary.ReviewedAt, sys.Summary.EvidenceAt)
		}
		var v api.Version
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/versions/2?include=evidence,review", e.admin, nil), http.StatusOK, &v)
		if v.Evidence != req.Evidence || !json.Valid(v.Review) || v.Digests["evidence"] == "" {
			t.Errorf("stored evidence %q, review %s", v.Evidence, v.Review)
		}
		// The diff analyses version 2 with its evidence.
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/diff", e.admin, nil), http.StatusOK, nil)

		future := day.AddDate(0, 0, 3).Format("2006-01-02")
		bad := buildPush(t, "system.yaml", src, std)
		bad.Evidence = evidenceFile(t, future)
		wantError(t, e.do("POST", "/api/v1/push", e.admin, bad), http.StatusBadRequest, "future")
		bad = buildPush(t, "system.yaml", src, std)
		bad.Review = reviewRecord(t, "sentiment-api", future)
		wantError(t, e.do("POST", "/api/v1/push", e.admin, bad), http.StatusBadRequest, "future")
		bad = buildPush(t, "system.yaml", replace(t, src, "review: {date: 2026-11-01", "review: {date: "+future), std)
		wantError(t, e.do("POST", "/api/v1/push", e.admin, bad), http.StatusBadRequest, "future")
		// Tomorrow is today somewhere.
		ok := buildPush(t, "system.yaml", src, std)
		ok.Review = reviewRecord(t, "sentiment-api", day.AddDate(0, 0, 1).Format("2006-01-02"))
		want(t, e.do("POST", "/api/v1/push", e.admin, ok), http.StatusCreated, nil)
	})
}

// TestBaseVersion: a client that names the version it started from gets a
// 409 when another push landed in between.
func TestBaseVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		std := policy(t, "standard")
		src := exampleModel(t, "sentiment-api")
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", src, std)), http.StatusCreated, nil)
		want(t, e.do("POST", "/api/v1/push", e.admin, buildPush(t, "system.yaml", replace(t, src, "criticality: high", "criticality: low"), std)), http.StatusCreated, nil)
		stale := buildPush(t, "system.yaml", replace(t, src, "criticality: high", "criticality: medium"), std)
		stale.BaseVersion = 1
		wantError(t, e.do("POST", "/api/v1/push", e.admin, stale), http.StatusConflict, "version 1")
		stale.BaseVersion = 2
		var res api.PushResponse
		want(t, e.do("POST", "/api/v1/push", e.admin, stale), http.StatusCreated, &res)
		if res.Version != 3 {
			t.Errorf("version %d, want 3", res.Version)
		}
	})
}

// TestConcurrentScopedPushes: an owner-scoped submitter pushes against the
// version its scope check saw; concurrent pushes of one system must still
// all land, retried rather than refused.
func TestConcurrentScopedPushes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		sub := e.token("ci", "submitter", "ml-platform@example.com", "")
		std := policy(t, "standard")
		src := exampleModel(t, "sentiment-api")
		want(t, e.do("POST", "/api/v1/push", sub, buildPush(t, "system.yaml", src, std)), http.StatusCreated, nil)
		const n = 8
		bodies := make([][]byte, n)
		for i := range bodies {
			req := buildPush(t, "system.yaml", replace(t, src, "platforms: [predictive]", "platforms: [predictive]\n  tags: [t"+string(rune('a'+i))+"]"), std)
			bodies[i], _ = json.Marshal(req)
		}
		codes := make(chan int, n)
		for i := range n {
			go func() { codes <- e.do("POST", "/api/v1/push", sub, bodies[i]).Code }()
		}
		for range n {
			if c := <-codes; c != http.StatusCreated {
				t.Errorf("a concurrent push answered %d", c)
			}
		}
		var vs []api.Version
		want(t, e.do("GET", "/api/v1/systems/sentiment-api/versions", sub, nil), http.StatusOK, &vs)
		if len(vs) != n+1 {
			t.Errorf("%d versions, want %d", len(vs), n+1)
		}
	})
}
