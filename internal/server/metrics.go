package server

import (
	"bufio"
	"bytes"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/web"
)

// durationBuckets are the upper bounds, in seconds, of the request
// duration histogram: the targets are 50 ms (KPIs) and 150 ms (dashboard).
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics are this instance's request counters. The portfolio figures come
// from the store on each scrape; only these are per instance.
type metrics struct {
	start time.Time
	mu    sync.Mutex
	count map[routeCode]uint64
	hist  map[string]*histogram
}

type routeCode struct {
	route string
	code  int
}

type histogram struct {
	buckets []uint64 // cumulative at write time, per bucket here
	sum     float64
	count   uint64
}

func newMetrics() *metrics {
	return &metrics{start: time.Now(), count: map[routeCode]uint64{}, hist: map[string]*histogram{}}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count[routeCode{route, code}]++
	h := m.hist[route]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(durationBuckets))}
		m.hist[route] = h
	}
	if i, _ := slices.BinarySearch(durationBuckets, sec); i < len(durationBuckets) {
		h.buckets[i]++
	}
	h.sum += sec
	h.count++
}

// exposition writes the Prometheus text format (version 0.0.4) by hand:
// HELP and TYPE lines, then samples with escaped label values.
type exposition struct {
	w *bufio.Writer
}

func (e *exposition) family(name, typ, help string) {
	e.w.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
	e.w.WriteString("# TYPE " + name + " " + typ + "\n")
}

// sample writes one line; labels alternate name, value.
func (e *exposition) sample(name string, v float64, labels ...string) {
	e.w.WriteString(name)
	if len(labels) > 0 {
		e.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				e.w.WriteByte(',')
			}
			e.w.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		e.w.WriteByte('}')
	}
	e.w.WriteByte(' ')
	e.w.WriteString(formatFloat(v))
	e.w.WriteByte('\n')
}

func (e *exposition) gauge(name, help string, v float64, labels ...string) {
	e.family(name, "gauge", help)
	e.sample(name, v, labels...)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// handleMetrics is GET /metrics.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ *web.Principal) error {
	k, err := s.store.KPIs(r.Context(), s.now(), s.cfg.Windows)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	e := &exposition{w: bufio.NewWriter(&buf)}

	e.gauge("mlthreat_systems", "Systems in the portfolio.", float64(k.Systems))
	e.gauge("mlthreat_systems_up_to_date", "Systems reviewed within the review window and not stale.", float64(k.UpToDate))
	e.gauge("mlthreat_systems_up_to_date_ratio", "Share of systems up to date (0 to 1).", k.UpToDatePct/100)
	e.family("mlthreat_open_risks", "gauge", "Open and in-progress threats by residual severity, on every system's latest version.")
	e.sample("mlthreat_open_risks", float64(k.OpenCritical), "severity", "critical")
	e.sample("mlthreat_open_risks", float64(k.OpenHigh), "severity", "high")
	e.family("mlthreat_open_risks_by_owner", "gauge", "Open critical and high residual risks per owner.")
	for _, o := range k.PerOwner {
		e.sample("mlthreat_open_risks_by_owner", float64(o.Critical), "owner", o.Owner, "severity", "critical")
		e.sample("mlthreat_open_risks_by_owner", float64(o.High), "owner", o.Owner, "severity", "high")
	}
	e.family("mlthreat_time_to_mitigate_hours", "gauge", "Hours from a threat's first push to its resolution, over resolved threats.")
	e.sample("mlthreat_time_to_mitigate_hours", k.MeanTimeToMitigate, "stat", "mean")
	e.sample("mlthreat_time_to_mitigate_hours", k.P90TimeToMitigate, "stat", "p90")
	e.family("mlthreat_rmf_coverage_ratio", "gauge", "Mean NIST AI RMF coverage per function over the portfolio (0 to 1).")
	for _, f := range functions {
		if v, ok := k.RMF[f]; ok {
			e.sample("mlthreat_rmf_coverage_ratio", v, "function", f)
		}
	}
	e.gauge("mlthreat_accepted_risks_expiring", "Accepted risks whose acceptance lapses within the expiry window.", float64(k.AcceptedExpiring))
	e.gauge("mlthreat_systems_fresh_evidence_ratio", "Share of systems with red-team evidence newer than the evidence window (0 to 1).", k.FreshEvidencePct/100)
	e.gauge("mlthreat_escalations_waiting", "Escalations waiting for a review-board decision.", float64(k.EscalationsWaiting))
	e.family("mlthreat_escalation_age_hours", "gauge", "Age of the escalations waiting for the board, in hours.")
	e.sample("mlthreat_escalation_age_hours", k.OldestEscalationAge, "stat", "oldest")
	e.sample("mlthreat_escalation_age_hours", k.MeanEscalationAge, "stat", "mean")

	s.metrics.write(e)
	e.gauge("mlthreat_build_info", "The server's version.", 1, "version", s.toolVersion, "go_version", runtime.Version())
	e.gauge("mlthreat_process_start_time_seconds", "When this instance started, in Unix seconds.", float64(s.metrics.start.UnixNano())/1e9)
	e.gauge("go_goroutines", "Goroutines of this instance.", float64(runtime.NumGoroutine()))
	if err := e.w.Flush(); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}

// write appends the per-instance request metrics, sorted so that scrapes
// diff cleanly.
func (m *metrics) write(e *exposition) {
	m.mu.Lock()
	keys := make([]routeCode, 0, len(m.count))
	for k := range m.count {
		keys = append(keys, k)
	}
	counts := make(map[routeCode]uint64, len(m.count))
	for k, v := range m.count {
		counts[k] = v
	}
	routes := make([]string, 0, len(m.hist))
	hists := make(map[string]histogram, len(m.hist))
	for r, h := range m.hist {
		routes = append(routes, r)
		hists[r] = histogram{buckets: slices.Clone(h.buckets), sum: h.sum, count: h.count}
	}
	m.mu.Unlock()

	slices.SortFunc(keys, func(a, b routeCode) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		return a.code - b.code
	})
	slices.Sort(routes)
	e.family("mlthreat_http_requests_total", "counter", "HTTP requests this instance answered, by route pattern and status code.")
	for _, k := range keys {
		e.sample("mlthreat_http_requests_total", float64(counts[k]), "route", k.route, "code", strconv.Itoa(k.code))
	}
	e.family("mlthreat_http_request_duration_seconds", "histogram", "Time to answer HTTP requests on this instance, by route pattern.")
	for _, r := range routes {
		h := hists[r]
		var cum uint64
		for i, le := range durationBuckets {
			cum += h.buckets[i]
			e.sample("mlthreat_http_request_duration_seconds_bucket", float64(cum), "route", r, "le", formatFloat(le))
		}
		e.sample("mlthreat_http_request_duration_seconds_bucket", float64(h.count), "route", r, "le", "+Inf")
		e.sample("mlthreat_http_request_duration_seconds_sum", h.sum, "route", r)
		e.sample("mlthreat_http_request_duration_seconds_count", float64(h.count), "route", r)
	}
}
