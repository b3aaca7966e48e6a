// Command serverload is the portfolio server's bounded load test on
// loopback: it seeds a portfolio, starts `mlthreat serve` as its own
// process, measures the dashboard and KPI latencies, drives pushes from
// concurrent clients, and reads the server's peak RSS.
//
//	go run ./bench/serverload                                  # SQLite, 10,000 systems × 20 versions
//	go run ./bench/serverload -db postgres://localhost:5432/mlthreat_load
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

type config struct {
	db                string
	systems, versions int
	clients           int
	duration          time.Duration
	dashboard, kpis   int
	binary, workDir   string
	debugAddr         string
	keep              bool
}

func main() {
	var c config
	flag.StringVar(&c.db, "db", "", "database: a SQLite file (default: a new one in a temp dir) or postgres://... (emptied first)")
	flag.IntVar(&c.systems, "systems", 10000, "systems to seed")
	flag.IntVar(&c.versions, "versions", 20, "versions per seeded system")
	flag.IntVar(&c.clients, "clients", 50, "concurrent push clients")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long the push load runs")
	flag.IntVar(&c.dashboard, "dashboard", 300, "dashboard requests to time")
	flag.IntVar(&c.kpis, "kpis", 1000, "KPI requests to time")
	flag.StringVar(&c.binary, "binary", "", "mlthreat binary to test (default: go build ./cmd/mlthreat)")
	flag.StringVar(&c.debugAddr, "debug-addr", "", "pass --debug-addr to the server (pprof), e.g. 127.0.0.1:6060")
	flag.BoolVar(&c.keep, "keep", false, "keep the temp dir")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "serverload:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "mlthreat-load-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	c.workDir = dir
	if c.binary == "" {
		c.binary = filepath.Join(dir, "mlthreat")
		fmt.Fprintln(os.Stderr, "building mlthreat...")
		cmd := exec.Command("go", "build", "-o", c.binary, "./cmd/mlthreat")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	if c.db == "" {
		c.db = filepath.Join(dir, "load.db")
	}
	ctx := context.Background()

	fmt.Fprintf(os.Stderr, "seeding %d systems × %d versions...\n", c.systems, c.versions)
	t0 := time.Now()
	st, err := store.Open(ctx, c.db, store.Options{})
	if err != nil {
		return fmt.Errorf("open %s: %w", c.db, err)
	}
	if err := storetest.Seed(ctx, st, c.systems, c.versions); err != nil {
		st.Close()
		return fmt.Errorf("seed: %w", err)
	}
	st.Close()
	seedTime := time.Since(t0)

	bodies, err := pushBodies(c.binary)
	if err != nil {
		return err
	}

	srv, err := startServer(c)
	if err != nil {
		return err
	}
	defer srv.stop()

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	// Timed figures: the dashboard through a browser session, the KPIs
	// through the API.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Timeout: 30 * time.Second, Jar: jar}
	if err := login(browser, srv.url, srv.admin); err != nil {
		return err
	}
	dash, err := timeRequests(c.dashboard, func() error { return get(browser, srv.url+"/", "") })
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	kpi, err := timeRequests(c.kpis, func() error { return get(hc, srv.url+"/api/v1/kpis", srv.admin) })
	if err != nil {
		return fmt.Errorf("kpis: %w", err)
	}

	fmt.Fprintf(os.Stderr, "pushing from %d clients for %s...\n", c.clients, c.duration)
	srvCPU0, loadCPU0 := srv.cpu(), selfCPU()
	pr := pushLoad(hc, srv, bodies, c.clients, c.duration)
	srvCPU, loadCPU := srv.cpu()-srvCPU0, selfCPU()-loadCPU0

	rss, hwm := srv.memory()
	fmt.Printf("| database | %s |\n|---|---|\n", dialect(c.db))
	fmt.Printf("| seeded | %d systems × %d versions in %.1f s |\n", c.systems, c.versions, seedTime.Seconds())
	fmt.Printf("| dashboard (GET /, %d requests) | p50 %.1f ms, p99 %.1f ms |\n", c.dashboard, ms(dash, 50), ms(dash, 99))
	fmt.Printf("| KPIs (GET /api/v1/kpis, %d requests) | p50 %.1f ms, p99 %.1f ms |\n", c.kpis, ms(kpi, 50), ms(kpi, 99))
	fmt.Printf("| pushes (%d clients, %s) | %d ok, %d errors, %.0f/s, p50 %.1f ms, p99 %.1f ms |\n",
		c.clients, c.duration, pr.ok, pr.errors, float64(pr.ok)/pr.elapsed.Seconds(), ms(pr.latencies, 50), ms(pr.latencies, 99))
	if pr.ok > 0 {
		fmt.Printf("| CPU per push | server %.2f ms, load generator %.2f ms |\n",
			float64(srvCPU.Microseconds())/1000/float64(pr.ok), float64(loadCPU.Microseconds())/1000/float64(pr.ok))
	}
	fmt.Printf("| server memory | RSS %d MB now, peak %d MB |\n", rss>>20, hwm>>20)
	if pr.firstErr != nil {
		fmt.Fprintln(os.Stderr, "first push error:", pr.firstErr)
	}
	return nil
}

func dialect(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "PostgreSQL"
	}
	return "SQLite"
}

// pushBodies builds one push request per bundled example with the CLI's
// own --dry-run, so the load pushes exactly what CI would.
func pushBodies(bin string) ([]api.PushRequest, error) {
	files, _ := filepath.Glob("examples/*/system.yaml")
	if len(files) == 0 {
		return nil, errors.New("no examples/*/system.yaml: run from the repository root")
	}
	cmd := exec.Command(bin, append([]string{"push", "--dry-run"}, files...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("push --dry-run: %w", err)
	}
	var reqs []api.PushRequest
	dec := json.NewDecoder(&out)
	for {
		var r api.PushRequest
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

type server struct {
	cmd    *exec.Cmd
	url    string
	admin  string
	stderr *bytes.Buffer
}

func startServer(c config) (*server, error) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", c.db, "--push-limit", "0", "--log-format", "json"}
	if c.debugAddr != "" {
		args = append(args, "--debug-addr", c.debugAddr)
	}
	cmd := exec.Command(c.binary, args...)
	cmd.Dir = c.workDir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = io.Discard // request logs: one line per request
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for s.url == "" || s.admin == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, errors.New("the server exited before it was ready")
			}
			if rest, ok := strings.CutPrefix(line, "mlthreat serve: "); ok {
				s.url, _, _ = strings.Cut(rest, " ")
			}
			if rest, ok := strings.CutPrefix(line, "admin token (shown once; store it now): "); ok {
				s.admin = strings.TrimSpace(rest)
			}
		case <-deadline:
			s.stop()
			return nil, errors.New("the server did not print its URL and admin token within 2 minutes (does the database already hold tokens?)")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s, nil
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
		}
	}
}

// memory reads the server's current and peak resident set, in bytes.
func (s *server) memory() (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm
}

// cpu reads the server's user and system CPU time from /proc.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// selfCPU is the load generator's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func login(c *http.Client, base, token string) error {
	resp, err := c.Get(base + "/login")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = c.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/login" {
		return fmt.Errorf("login: %s at %s", resp.Status, resp.Request.URL.Path)
	}
	return nil
}

func get(c *http.Client, u, token string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if resp.Request.URL.Path == "/login" {
		return fmt.Errorf("GET %s: sent to the login page", u)
	}
	return nil
}

func timeRequests(n int, f func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

func ms(d []time.Duration, pct int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*pct + 99) / 100
	if i > 0 {
		i--
	}
	return float64(s[min(i, len(s)-1)].Microseconds()) / 1000
}

type pushResult struct {
	ok, errors int64
	latencies  []time.Duration
	elapsed    time.Duration
	firstErr   error
}

// pushLoad runs clients that each own a few systems (copies of the
// examples under their own ids) and push new versions of them in a loop.
func pushLoad(hc *http.Client, s *server, bodies []api.PushRequest, clients int, d time.Duration) *pushResult {
	res := &pushResult{}
	tmpl, err := variants(bodies, clients)
	if err != nil {
		res.firstErr = err
		return res
	}
	var mu sync.Mutex
	var ok, bad atomic.Int64
	start := time.Now()
	stopAt := start.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var lat []time.Duration
			for n := 0; time.Now().Before(stopAt); n++ {
				body, size := tmpl[c][n%len(tmpl[c])].body(n)
				t := time.Now()
				err := post(hc, s.url+"/api/v1/push", s.admin, body, size)
				lat = append(lat, time.Since(t))
				if err != nil {
					bad.Add(1)
					mu.Lock()
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ok, res.errors = ok.Load(), bad.Load()
	return res
}

// template is one client's copy of one example, marshalled once; each
// push only splices a new trailing comment into the model text, so the
// load generator spends its CPU on requests, not on JSON.
type template struct {
	head, tail []byte // the body around the spliced comment
}

// variants gives every client its own copies of the examples under its own
// system ids.
func variants(bodies []api.PushRequest, clients int) ([][]template, error) {
	const mark = "\n# mlthreat-serverload-splice\n"
	out := make([][]template, clients)
	for c := range clients {
		for _, r := range bodies {
			var probe struct {
				System struct {
					ID string `json:"id"`
				} `json:"system"`
			}
			if err := json.Unmarshal(r.Analysis, &probe); err != nil {
				return nil, err
			}
			id := probe.System.ID
			newID := fmt.Sprintf("%s-load-%02d", id, c)
			r.Model = strings.Replace(r.Model, "id: "+id, "id: "+newID, 1) + mark
			for _, raw := range []*json.RawMessage{&r.Analysis, &r.Gap} {
				*raw = bytes.Replace(*raw, []byte(`"id": "`+id+`"`), []byte(`"id": "`+newID+`"`), 1)
				*raw = bytes.Replace(*raw, []byte(`"id":"`+id+`"`), []byte(`"id":"`+newID+`"`), 1)
			}
			r.Gate = bytes.Replace(r.Gate, []byte(`"system":"`+id+`"`), []byte(`"system":"`+newID+`"`), 1)
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			quoted, _ := json.Marshal(mark)
			inner := quoted[1 : len(quoted)-1]
			i := bytes.Index(b, inner)
			if i < 0 {
				return nil, errors.New("splice mark not found in the marshalled body")
			}
			out[c] = append(out[c], template{head: b[:i], tail: b[i+len(inner):]})
		}
	}
	return out, nil
}

// body is the n-th push of a template: a model text that differs from the
// last push, so that every push stores a version. The parts are read in
// turn rather than copied into one buffer.
func (t template) body(n int) (io.Reader, int64) {
	comment := fmt.Sprintf("\\n# load push %d\\n", n)
	size := int64(len(t.head) + len(comment) + len(t.tail))
	return io.MultiReader(bytes.NewReader(t.head), strings.NewReader(comment), bytes.NewReader(t.tail)), size
}

func post(c *http.Client, u, token string, body io.Reader, size int64) error {
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("push: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
