package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/examples"
	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/gate"
	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/report/gapreport"
	"github.com/mlthreat/mlthreat/internal/report/jsonreport"
	"github.com/mlthreat/mlthreat/internal/rules"
	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
	"github.com/mlthreat/mlthreat/internal/validate"
)

// The catalogue, rules and crosswalk are loaded once for every test.
var fixture struct {
	once sync.Once
	cat  *catalog.Catalog
	set  *rules.Set
	cw   *gap.Crosswalk
	err  error
}

func knowledge(t testing.TB) (*catalog.Catalog, *rules.Set, *gap.Crosswalk) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.cat = catalog.Default()
		if fixture.set, fixture.err = rules.Load(fixture.cat); fixture.err != nil {
			return
		}
		fixture.cw, fixture.err = gap.Load(fixture.cat)
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.cat, fixture.set, fixture.cw
}

// day is the tests' fixed "today": the examples' reviews are recent then.
var day = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is one server over one fresh store.
type env struct {
	t     testing.TB
	srv   *Server
	h     http.Handler
	st    store.Store
	clock *clock
	logs  *syncBuffer
	admin string // the bootstrap admin's secret
}

func newEnv(t testing.TB, dialect string, configure ...func(*Config)) *env {
	t.Helper()
	cat, set, cw := knowledge(t)
	st := storetest.Open(t, dialect)
	e := &env{t: t, st: st, clock: &clock{t: day}, logs: &syncBuffer{}}
	cfg := Config{
		Store: st, Catalog: cat, Rules: set, Crosswalk: cw,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    e.clock.Now, BaseURL: "https://mlthreat.example.com/", Version: "test",
	}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.h = srv, srv.Handler()
	secret, created, err := srv.Bootstrap(t.Context())
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	e.admin = secret
	return e
}

// forEachDialect runs f over a fresh environment per database.
func forEachDialect(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

// request builds a request; body may be nil, []byte, string or a value
// to encode as JSON.
func request(method, path, secret string, body any) *http.Request {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		r = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	return req
}

func (e *env) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

func (e *env) do(method, path, secret string, body any) *httptest.ResponseRecorder {
	return e.serve(request(method, path, secret, body))
}

// want checks a status and decodes a JSON body into out (when not nil).
func want(t testing.TB, w *httptest.ResponseRecorder, code int, out any) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body: %s", w.Code, code, w.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("body is not the JSON expected: %v\n%s", err, w.Body.String())
		}
	}
}

// wantError checks a JSON error answer whose message contains each of
// parts.
func wantError(t testing.TB, w *httptest.ResponseRecorder, code int, parts ...string) api.Error {
	t.Helper()
	var e api.Error
	want(t, w, code, &e)
	if e.Error == "" {
		t.Fatalf("error body without a message: %s", w.Body.String())
	}
	for _, p := range parts {
		if !strings.Contains(e.Error, p) {
			t.Errorf("error %q does not say %q", e.Error, p)
		}
	}
	return e
}

// token creates a token through the API and returns its secret.
func (e *env) token(name, role, owner, system string) string {
	e.t.Helper()
	var out api.TokenCreated
	want(e.t, e.do("POST", "/api/v1/tokens", e.admin, api.TokenRequest{Name: name, Role: role, Owner: owner, System: system}), http.StatusCreated, &out)
	return out.Secret
}

// exampleModel returns an example's system.yaml.
func exampleModel(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(examples.Systems, name+"/system.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exampleNames(t testing.TB) []string {
	t.Helper()
	dirs, err := fs.Glob(examples.Systems, "*/system.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// policies used by the tests: the built-in standard one, and one that
// escalates high residual risk without failing anything, so that the
// review board has work.
var policies = map[string]string{
	"board": `policy: 1
name: board
fail_on: {severity: none}
expired_acceptances: warn
stale: warn
escalate: {severity: high}
`,
	"lenient": `policy: 1
name: lenient
fail_on: {severity: none}
expired_acceptances: warn
stale: warn
escalate: {severity: none}
`,
}

func policy(t testing.TB, name string) *gate.Policy {
	t.Helper()
	cat, _, _ := knowledge(t)
	if src, ok := policies[name]; ok {
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		name = path
	}
	pol, err := gate.Load(name, cat)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// buildPush does what `mlthreat push` does before sending: validate,
// analyse, judge the RMF gap and gate the model, in-process as the CLI's
// gateOne does.
func buildPush(t testing.TB, file string, src []byte, pol *gate.Policy) api.PushRequest {
	t.Helper()
	cat, set, cw := knowledge(t)
	sys, ds := model.Load(file, src, model.DefaultLimits)
	if sys == nil {
		t.Fatalf("%s does not load: %v", file, ds)
	}
	ds = append(ds, validate.Frameworks(sys, cat)...)
	if ds.Errors() > 0 {
		t.Fatalf("%s is invalid: %v", file, ds)
	}
	rep, err := analysis.Analyze(sys, cat, set, analysis.Options{Today: day})
	if err != nil {
		t.Fatal(err)
	}
	var ab bytes.Buffer
	if err := (jsonreport.Writer{Version: "test"}).Write(&ab, rep); err != nil {
		t.Fatal(err)
	}
	prof, err := gap.ResolveProfile("", sys, cat)
	if err != nil {
		t.Fatal(err)
	}
	gr := gap.Judge(rep, cw, prof, day)
	var gb bytes.Buffer
	if err := gapreport.JSON(&gb, gr, "test"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	res, err := gate.Evaluate(pol, gate.Input{File: file, System: sys, Report: rep, Gap: gr, Model: hex.EncodeToString(sum[:]), Today: day})
	if err != nil {
		t.Fatal(err)
	}
	gb2, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return api.PushRequest{File: file, Model: string(src), Analysis: ab.Bytes(), Gap: gb.Bytes(), Gate: gb2, ToolVersion: "test"}
}

// withOwner rewrites a model's owner line.
func withOwner(t testing.TB, src []byte, owner string) []byte {
	t.Helper()
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  owner:") {
			lines[i] = "  owner: " + owner
			return []byte(strings.Join(lines, "\n"))
		}
	}
	t.Fatal("the model has no system owner line")
	return nil
}

// replace is strings.Replace that insists old occurs.
func replace(t testing.TB, src []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("the model does not contain %q", old)
	}
	return bytes.Replace(src, []byte(old), []byte(new), 1)
}
