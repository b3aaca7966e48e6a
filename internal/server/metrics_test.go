package server

import (
	"bufio"
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/store"
)

// sampleLine is one exposition sample: name, optional labels, value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$`)

func TestMetrics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		pushAll(t, e, "board")
		viewer := e.token("prometheus", store.RoleViewer, "", "")
		wantError(t, e.do("GET", "/metrics", "", nil), http.StatusUnauthorized)
		// Pages are counted by their pattern; unknown paths share one label.
		e.do("GET", "/login", "", nil)
		e.do("GET", "/no/such/page/"+strings.Repeat("x", 50), "", nil)
		e.do("GET", "/api/v1/no/such/route", viewer, nil)
		w := e.do("GET", "/metrics", viewer, nil)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("metrics: %d %s", w.Code, w.Header().Get("Content-Type"))
		}
		body := w.Body.String()
		typed := map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "# TYPE "):
				f := strings.Fields(line)
				typed[f[2]] = true
			case strings.HasPrefix(line, "# HELP "):
			default:
				m := sampleLine.FindStringSubmatch(line)
				if m == nil {
					t.Errorf("not a sample line: %q", line)
					continue
				}
				name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
				if !typed[name] && !typed[m[1]] {
					t.Errorf("sample %s before its TYPE line", m[1])
				}
			}
		}
		for _, name := range []string{
			"mlthreat_systems 5", "mlthreat_systems_up_to_date ", "mlthreat_systems_up_to_date_ratio ",
			`mlthreat_open_risks{severity="critical"} `, `mlthreat_open_risks{severity="high"} `,
			`mlthreat_open_risks_by_owner{owner="ml-platform@example.com",severity="critical"} `,
			`mlthreat_time_to_mitigate_hours{stat="mean"} `, `mlthreat_time_to_mitigate_hours{stat="p90"} `,
			`mlthreat_rmf_coverage_ratio{function="GOVERN"} `, "mlthreat_accepted_risks_expiring ",
			"mlthreat_systems_fresh_evidence_ratio ", "mlthreat_escalations_waiting 5",
			`mlthreat_escalation_age_hours{stat="oldest"} `, `mlthreat_escalation_age_hours{stat="mean"} `,
			`mlthreat_http_requests_total{route="POST /api/v1/push",code="201"} 5`,
			`mlthreat_http_requests_total{route="GET /metrics",code="401"} 1`,
			`mlthreat_http_request_duration_seconds_bucket{route="POST /api/v1/push",le="+Inf"} 5`,
			`mlthreat_http_requests_total{route="GET /login",code="200"} 1`,
			`mlthreat_http_requests_total{route="other",code="404"} 1`,
			`mlthreat_http_requests_total{route="unmatched",code="404"} 1`,
		} {
			if !strings.Contains(body, "\n"+name) {
				t.Errorf("metrics lack %q", name)
			}
		}
		if strings.Contains(body, "xxxxx") {
			t.Error("a raw URL became a label")
		}

		pub := newEnv(t, dialect, func(c *Config) { c.MetricsPublic = true })
		if w := pub.do("GET", "/metrics", "", nil); w.Code != http.StatusOK {
			t.Errorf("public metrics: %d", w.Code)
		}
	})
}

func TestExpositionEscapes(t *testing.T) {
	var buf bytes.Buffer
	e := &exposition{w: bufio.NewWriter(&buf)}
	e.family("m", "gauge", "help with \\ and\nnewline")
	e.sample("m", 1.5, "owner", "a\"b\\c\nd")
	e.w.Flush()
	want := "# HELP m help with \\\\ and\\nnewline\n# TYPE m gauge\nm{owner=\"a\\\"b\\\\c\\nd\"} 1.5\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
	if !sampleLine.MatchString(strings.Split(buf.String(), "\n")[2]) {
		t.Error("the escaped sample does not parse")
	}
}
