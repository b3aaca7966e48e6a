package cli_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/sharedtest"
	"github.com/mlthreat/mlthreat/internal/store"
	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

// serveProc is a `mlthreat serve` child process.
type serveProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	url   string
	admin string
	logs  *syncBuffer
	done  chan struct{}
}

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

// startServe runs `mlthreat serve` on a free loopback port with the given
// database and waits for it to print its URL.
func startServe(t *testing.T, dir, db string, extra ...string) *serveProc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)
	cmd := exec.Command("mlthreat", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLTHREAT_TODAY=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	timeout := time.After(60 * time.Second)
	for p.url == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before it was ready:\n%s", p.logs.String())
			}
			if rest, ok := strings.CutPrefix(line, "mlthreat serve: "); ok {
				p.url, _, _ = strings.Cut(rest, " ")
			}
			if rest, ok := strings.CutPrefix(line, "admin token (shown once; store it now): "); ok {
				p.admin = strings.TrimSpace(rest)
			}
		case <-timeout:
			t.Fatalf("serve did not print its URL within 60 s:\n%s", p.logs.String())
		}
	}
	// The admin token line follows the URL line when there is one.
	select {
	case line := <-lines:
		if rest, ok := strings.CutPrefix(line, "admin token (shown once; store it now): "); ok {
			p.admin = strings.TrimSpace(rest)
		}
	case <-time.After(200 * time.Millisecond):
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

func (p *serveProc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("serve did not stop within 30 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("serve exited %d after SIGTERM:\n%s", code, p.logs.String())
	}
}

func (p *serveProc) do(method, path, token string, body []byte) (int, []byte) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// dryRunBodies builds the push request of each bundled example.
func dryRunBodies(t *testing.T) []api.PushRequest {
	t.Helper()
	root := sharedtest.RepoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "examples", "*", "system.yaml"))
	code, out, errOut := run(append([]string{"push", "--dry-run"}, files...)...)
	if code != 0 {
		t.Fatalf("push --dry-run: exit %d: %s", code, errOut)
	}
	var reqs []api.PushRequest
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r api.PushRequest
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	if len(reqs) != len(files) {
		t.Fatalf("%d bodies for %d examples", len(reqs), len(files))
	}
	return reqs
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// An acknowledged push is never lost: kill -9 the server in the middle of
// a burst of concurrent pushes, restart it, and find every push it
// answered 2xx, with versions numbered without gaps or repeats.
func TestServeCrashKeepsAcknowledgedPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	bodies := dryRunBodies(t)
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "portfolio.db")
			if dialect == store.Postgres {
				db = storetest.DSN(t, dialect)
			}
			crashAndRestart(t, dir, db, bodies)
		})
	}
}

func crashAndRestart(t *testing.T, dir, db string, bodies []api.PushRequest) {
	srv := startServe(t, dir, db, "--push-limit", "0")
	if srv.admin == "" {
		t.Fatal("a fresh server printed no admin token")
	}

	type ack struct {
		system  string
		version int
		model   string
	}
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	for c := range 16 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r := bodies[(c+n)%len(bodies)]
				r.Model += fmt.Sprintf("\n# client %d push %d\n", c, n)
				b, _ := json.Marshal(r)
				req, _ := http.NewRequest(http.MethodPost, srv.url+"/api/v1/push", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+srv.admin)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					continue // the server died under us: not acknowledged
				}
				var pr api.PushResponse
				err = json.NewDecoder(resp.Body).Decode(&pr)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 && err == nil {
					mu.Lock()
					acks = append(acks, ack{pr.System, pr.Version, sha(r.Model)})
					mu.Unlock()
				}
			}
		})
	}
	// Let the burst run, then kill -9 in the middle of it.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 60 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	close(stop)
	wg.Wait()
	if len(acks) < 20 {
		t.Fatalf("only %d pushes acknowledged before the kill; the burst was too slow to test anything", len(acks))
	}

	srv2 := startServe(t, dir, db)
	if srv2.admin != "" {
		t.Error("a restarted server printed a new admin token")
	}
	byVersion := map[string]map[int]string{}
	for _, a := range acks {
		if byVersion[a.system] == nil {
			byVersion[a.system] = map[int]string{}
		}
		if prev, dup := byVersion[a.system][a.version]; dup && prev != a.model {
			t.Errorf("%s version %d acknowledged for two different pushes", a.system, a.version)
		}
		byVersion[a.system][a.version] = a.model
	}
	for system, versions := range byVersion {
		code, body := srv2.do("GET", "/api/v1/systems/"+system+"/versions", srv.admin, nil)
		if code != 200 {
			t.Fatalf("versions of %s after restart: %d %s", system, code, body)
		}
		var list []struct {
			Version     int    `json:"version"`
			ModelDigest string `json:"model_sha256"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("versions of %s: %v: %s", system, err, body)
		}
		stored := map[int]string{}
		for _, v := range list {
			if _, dup := stored[v.Version]; dup {
				t.Errorf("%s: version %d stored twice", system, v.Version)
			}
			stored[v.Version] = v.ModelDigest
		}
		for i := 1; i <= len(list); i++ {
			if _, ok := stored[i]; !ok {
				t.Errorf("%s: versions are not contiguous: %d is missing of %d", system, i, len(list))
			}
		}
		for v, digest := range versions {
			got, ok := stored[v]
			if !ok {
				t.Errorf("%s version %d was acknowledged but is lost after kill -9", system, v)
			} else if got != digest {
				t.Errorf("%s version %d holds model %s, acknowledged %s", system, v, got, digest)
			}
		}
	}
	t.Logf("%d acknowledged pushes over %d systems all present after kill -9 and restart", len(acks), len(byVersion))
	srv2.stop()
}

// The review board round trip through the CLI: a submitter pushes a model
// whose gate escalates; gate --server fails until a reviewer approves on
// the server, then passes. The submitter cannot approve its own
// escalation, and nobody can approve with a stale threat set.
func TestServeReviewFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	root := sharedtest.RepoRoot(t)
	model := filepath.Join(root, "internal", "cli", "testdata", "serve", "churn-api.yaml")
	policy := filepath.Join(root, "internal", "cli", "testdata", "serve", "board.yaml")
	dir := t.TempDir()
	srv := startServe(t, dir, filepath.Join(dir, "portfolio.db"))

	token := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(append([]string{"token", "create", "--server", srv.url, "--token", srv.admin}, args...)...)
		if code != 0 {
			t.Fatalf("token create %v: exit %d: %s", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	submitter := token("--name", "ci-data-science", "--role", "submitter", "--owner", "data-science@example.com")
	other := token("--name", "ci-fraud", "--role", "submitter", "--owner", "fraud-ml@bank.example")
	reviewer := token("--name", "security-board", "--role", "reviewer")

	// Another team's submitter cannot push this system.
	if code, _, errOut := run("push", "--server", srv.url, "--token", other, "--policy", policy, model); code != 2 || !strings.Contains(errOut, "403") {
		t.Fatalf("push by another team's submitter: exit %d, want 2 with 403: %s", code, errOut)
	}
	code, out, errOut := run("push", "--server", srv.url, "--token", submitter, "--policy", policy, model)
	if code != 0 || !strings.Contains(out, "pushed churn-api (version 1, gate escalate)") {
		t.Fatalf("push: exit %d\n%s%s", code, out, errOut)
	}
	gateArgs := []string{"gate", "--server", srv.url, "--token", submitter, "--policy", policy, "--packet-dir", filepath.Join(dir, "packets"), model}
	if code, out, _ := run(gateArgs...); code != 1 || !strings.Contains(out, "ESCALATE") {
		t.Fatalf("gate before the decision: exit %d, want 1 with ESCALATE:\n%s", code, out)
	}

	code2, body := srv.do("GET", "/api/v1/reviews", reviewer, nil)
	if code2 != 200 || !strings.Contains(string(body), "churn-api") {
		t.Fatalf("review queue: %d %s", code2, body)
	}
	until := time.Now().AddDate(0, 3, 0).Format("2006-01-02")
	approve := []byte(`{"decision":"approved","until":"` + until + `","conditions":["rate limit per client before GA"],"comment":"accepted for one quarter"}`)
	if code, body := srv.do("POST", "/api/v1/systems/churn-api/decisions", submitter, approve); code != 403 {
		t.Fatalf("the submitter approving its own escalation: %d %s, want 403", code, body)
	}
	stale := []byte(`{"decision":"approved","until":"` + until + `","threat_set":"0000000000000000"}`)
	if code, body := srv.do("POST", "/api/v1/systems/churn-api/decisions", reviewer, stale); code != 409 {
		t.Fatalf("an approval of another threat set: %d %s, want 409", code, body)
	}
	if code, body := srv.do("POST", "/api/v1/systems/churn-api/decisions", reviewer, approve); code/100 != 2 {
		t.Fatalf("the reviewer's approval: %d %s", code, body)
	}
	code, out, errOut = run(gateArgs...)
	if code != 0 || !strings.Contains(out, "APPROVED") || !strings.Contains(out, "security-board") {
		t.Fatalf("gate after the approval: exit %d, want 0 with the board's approval:\n%s%s", code, out, errOut)
	}
	// Without --server the model's own approvals are all there is.
	if code, _, _ := run("gate", "--policy", policy, "--packet-dir", filepath.Join(dir, "packets"), model); code != 1 {
		t.Fatalf("gate without --server: exit %d, want 1", code)
	}
	code2, body = srv.do("GET", "/api/v1/audit?system=churn-api", srv.admin, nil)
	if code2 != 200 || !strings.Contains(string(body), `"decide"`) || !strings.Contains(string(body), `"push"`) {
		t.Fatalf("audit log: %d %s", code2, body)
	}
	srv.stop()
}
