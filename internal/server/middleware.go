package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/web"
)

// reqInfo is what the handlers learn about a request that the outer
// middleware logs and counts. It travels as a pointer in the context so a
// handler deep inside can fill it in.
type reqInfo struct {
	route     string         // the pattern that matched
	principal *web.Principal // who made the request, once known
	resolved  bool           // the session cookie was looked up (principal may still be nil)
}

type infoKey struct{}

// infoOf returns the request's reqInfo; a request that did not come through
// observe (a test calling a handler directly) gets a throwaway one.
func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines) through this wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs and counts every request and turns a panic into a 500. The
// log line holds the method, the route pattern (never the raw URL, whose
// query could carry anything), the status, the duration and the token's
// name: no token, cookie, Authorization header or body.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
					slog.String("method", r.Method), slog.String("route", routeLabel(info, r)),
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if sw.code == 0 {
					sw.Header().Del("Content-Length")
					writeJSON(sw, http.StatusInternalServerError, map[string]string{"error": "internal server error"})
				}
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			d := time.Since(start)
			route := routeLabel(info, r)
			s.metrics.observe(route, code, d)
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", code),
				slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes),
			}
			if info.principal != nil {
				attrs = append(attrs, slog.String("token", info.principal.Name))
			}
			s.log.LogAttrs(r.Context(), levelFor(code), "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeLabel is the matched pattern, bounded so that metrics cannot grow
// with arbitrary URLs.
func routeLabel(info *reqInfo, r *http.Request) string {
	switch {
	case info.route != "":
		return info.route
	case r.Pattern != "" && r.Pattern != "/":
		return r.Pattern
	}
	return "other"
}

func levelFor(code int) slog.Level {
	switch {
	case code >= 500:
		return slog.LevelError
	case code >= 400 && code != http.StatusNotFound:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func slogRoute(r *http.Request) slog.Attr { return slog.String("route", routeLabel(infoOf(r), r)) }
func slogErr(err error) slog.Attr         { return slog.String("error", err.Error()) }

// ContentSecurityPolicy is set on every response. A handler that serves
// other content (the full HTML report) replaces it with its own.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers before the handler runs, so that a
// handler may still override one (a report's own CSP, caching of static
// files).
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// Every response but a static asset is either authenticated or
		// cheap to recompute; none of it belongs in a shared cache.
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// plainError answers a page request the pages never see (a failed CSRF
// check) in plain text.
func plainError(w http.ResponseWriter, code int, msg string) {
	http.Error(w, msg, code)
}
