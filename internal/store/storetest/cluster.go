package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Main runs a test binary's tests and then stops the private PostgreSQL
// cluster if one was started. Use it as TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

var (
	once      sync.Once
	clusterMu sync.Mutex
	running   *cluster // the private cluster, if this process started one
	baseURL   string
	baseErr   error
)

// serverURL returns the URL of the PostgreSQL server tests use: the
// MLTHREAT_PG_URL one, or a private cluster started on first use.
func serverURL() (string, error) {
	once.Do(func() {
		if u := os.Getenv("MLTHREAT_PG_URL"); u != "" {
			baseURL = u
			return
		}
		c, err := startCluster()
		if err != nil {
			baseErr = err
			return
		}
		clusterMu.Lock()
		running = c
		clusterMu.Unlock()
		baseURL = c.url
	})
	return baseURL, baseErr
}

// Stop stops the private cluster (if any) and removes its files.
func Stop() error {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if running == nil {
		return nil
	}
	c := running
	running = nil
	return c.stop()
}

type cluster struct {
	bin  string // directory holding initdb, pg_ctl, postgres
	dir  string // temporary directory: data, socket, log
	as   *user.User
	url  string
	data string
}

// findBinaries returns the directory of initdb and pg_ctl: PATH first,
// then the newest /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Through symbolic links, to the directory holding the rest.
		if real, err := filepath.EvalSymlinks(p); err == nil && fileExists(filepath.Join(filepath.Dir(real), "pg_ctl")) {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errNoPostgres
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startCluster initialises and starts a throw-away cluster on a free
// local port. PostgreSQL refuses to run as root, so as root it runs as
// the postgres user (through runuser), which must own the data directory.
func startCluster() (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root and runuser is missing: %w", err)
		}
		c.as = u
	}
	c.dir, err = os.MkdirTemp("", "mlthreat-pg-")
	if err != nil {
		return nil, err
	}
	c.data = filepath.Join(c.dir, "data")
	if c.as != nil {
		uid, _ := strconv.Atoi(c.as.Uid)
		gid, _ := strconv.Atoi(c.as.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", c.data, "-U", "mlthreat", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(c.dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	fsync := "off" // throw-away data; MLTHREAT_PG_FSYNC=on measures real commits
	if os.Getenv("MLTHREAT_PG_FSYNC") == "on" {
		fsync = "on"
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s -c max_connections=300 "+
			"-c shared_buffers=128MB", port, c.dir, fsync)
		out, err := c.run("pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start")
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			lastErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
			continue
		}
		c.url = fmt.Sprintf("postgres://mlthreat@127.0.0.1:%d/postgres?sslmode=disable", port)
		if err := waitReady(c.url); err != nil {
			c.stop()
			return nil, err
		}
		return c, nil
	}
	os.RemoveAll(c.dir)
	return nil, lastErr
}

func waitReady(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL at %s did not answer: %w", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs one of the cluster's binaries, as the postgres user when root.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.as != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.as.Username, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (c *cluster) stop() error {
	var err error
	if out, e := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop"); e != nil {
		err = fmt.Errorf("pg_ctl stop: %v\n%s", e, out)
	}
	if e := os.RemoveAll(c.dir); e != nil && err == nil {
		err = e
	}
	return err
}
