package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/gap"
	"github.com/mlthreat/mlthreat/internal/server"
	"github.com/mlthreat/mlthreat/internal/store"
)

type serveFlags struct {
	addr, db, baseURL        string
	tlsCert, tlsKey          string
	maxBody                  int64
	pushLimit                int
	metricsPublic, secure    bool
	reviewDays, evidenceDays int
	expiringDays             int
	shutdownGrace            time.Duration
	rulesDirs                []string
	logFormat, debugAddr     string
}

func (a *app) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the portfolio server: registry, KPIs, review board, web UI and JSON API",
		Long: `Serve the organisation's portfolio of threat models. CI pipelines send
models with 'mlthreat push'; the server keeps every version, computes the KPIs
(also at /metrics for Prometheus), queues escalations for the review board and
serves a web UI and a JSON API (OpenAPI document at /api/v1/openapi.json).

Storage is SQLite in ./mlthreat.db by default. --db postgres://... uses
PostgreSQL instead; several serve instances can then share one database
behind a load balancer. Migrations run at start-up.

On first start, with no token in the database, serve prints a one-time admin
token. Sign in to the web UI with it, and create narrower tokens with
'mlthreat token create'.

SIGINT or SIGTERM stops it gracefully: requests in flight finish first.`,
		Example: `  mlthreat serve
  mlthreat serve --addr :8080 --db postgres://mlthreat@db.internal/mlthreat
  mlthreat serve --addr 127.0.0.1:0   # any free port; the URL is printed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fl.StringVar(&f.db, "db", "", "database: a SQLite file or postgres://... (default $MLTHREAT_DB, else ./mlthreat.db)")
	fl.StringVar(&f.baseURL, "base-url", "", "public URL of the server, for links in answers (default from --addr)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	fl.Int64Var(&f.maxBody, "max-body", 8<<20, "largest request body accepted, in bytes")
	fl.IntVar(&f.pushLimit, "push-limit", 120, "pushes accepted per token per minute (0: no limit)")
	fl.BoolVar(&f.metricsPublic, "metrics-public", false, "serve /metrics without a token")
	fl.BoolVar(&f.secure, "secure-cookies", false, "mark session cookies Secure (on by itself with --tls-cert; set it behind a TLS proxy)")
	fl.IntVar(&f.reviewDays, "review-days", 90, "a threat model reviewed longer ago than this is out of date")
	fl.IntVar(&f.evidenceDays, "evidence-days", 90, "red-team evidence older than this is not fresh")
	fl.IntVar(&f.expiringDays, "expiring-days", 30, "window for accepted risks about to expire")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 30*time.Second, "how long requests in flight may take at shutdown")
	fl.StringArrayVar(&f.rulesDirs, "rules", nil, "also load the rule packs in this directory (for diffs and pages)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log lines on stderr: text or json")
	fl.StringVar(&f.debugAddr, "debug-addr", "", "also serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it private")
	return cmd
}

func (a *app) serve(f serveFlags) error {
	if err := oneOf(f.logFormat, "text", "json"); err != nil {
		return exitWith(ExitUsage, "--log-format: %v", err)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return exitWith(ExitUsage, "--tls-cert and --tls-key go together")
	}
	if f.maxBody < 1<<10 || f.pushLimit < 0 || f.reviewDays < 1 || f.evidenceDays < 1 || f.expiringDays < 1 {
		return exitWith(ExitUsage, "--max-body must be at least 1024, --push-limit at least 0, and the day windows at least 1")
	}
	// The start-up tuning suits short runs; a server lives long, and its
	// memory matters more than a little collection work.
	if a.getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
	var logger *slog.Logger
	if f.logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(a.stderr, nil))
	} else {
		logger = slog.New(slog.NewTextHandler(a.stderr, nil))
	}
	dsn := f.db
	if dsn == "" {
		dsn = a.getenv("MLTHREAT_DB")
	}
	if dsn == "" {
		dsn = "mlthreat.db"
	}
	cat, set, err := a.catalogAndRules(f.rulesDirs...)
	if err != nil {
		return err
	}
	cw, err := gap.Load(cat)
	if err != nil {
		return exitWith(ExitUsage, "crosswalk: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	openCtx, cancel := context.WithTimeout(ctx, time.Minute)
	st, err := store.Open(openCtx, dsn, store.Options{})
	cancel()
	if err != nil {
		return exitWith(ExitUsage, "database %s: %v", redactDSN(dsn), err)
	}
	defer st.Close()

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return exitWith(ExitUsage, "--addr %s: %v", f.addr, err)
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	base := f.baseURL
	if base == "" {
		base = url
	}
	srv, err := server.New(server.Config{
		Store: st, Catalog: cat, Rules: set, Crosswalk: cw,
		Windows: store.Windows{
			Review:   time.Duration(f.reviewDays) * 24 * time.Hour,
			Evidence: time.Duration(f.evidenceDays) * 24 * time.Hour,
			Expiring: time.Duration(f.expiringDays) * 24 * time.Hour,
		},
		MaxBody: f.maxBody, PushLimit: f.pushLimit, MetricsPublic: f.metricsPublic,
		SecureCookies: f.secure || f.tlsCert != "", Logger: logger, BaseURL: strings.TrimRight(base, "/"),
	})
	if err != nil {
		ln.Close()
		return exitWith(ExitUsage, "%v", err)
	}
	secret, created, err := srv.Bootstrap(ctx)
	if err != nil {
		ln.Close()
		return exitWith(ExitUsage, "creating the admin token: %v", err)
	}
	fmt.Fprintf(a.stdout, "mlthreat serve: %s (%s %s)\n", url, st.Dialect(), redactDSN(dsn))
	if created {
		fmt.Fprintf(a.stdout, "admin token (shown once; store it now): %s\n", secret)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if f.debugAddr != "" {
		dl, err := net.Listen("tcp", f.debugAddr)
		if err != nil {
			return exitWith(ExitUsage, "--debug-addr %s: %v", f.debugAddr, err)
		}
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ds := &http.Server{Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
		go ds.Serve(dl)
		defer ds.Close()
		logger.Info("profiler", "addr", dl.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			errc <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return exitWith(ExitUsage, "serve: %v", err)
		}
		return nil
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", f.shutdownGrace.String())
	sctx, scancel := context.WithTimeout(context.Background(), f.shutdownGrace)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return exitWith(ExitUsage, "shutdown: %v", err)
	}
	logger.Info("stopped")
	return nil
}

// displayAddr names a listen address the way a browser can reach it.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// redactDSN hides a PostgreSQL password.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			cred := dsn[i+3 : at]
			if c := strings.Index(cred, ":"); c >= 0 {
				return dsn[:i+3] + cred[:c] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}
