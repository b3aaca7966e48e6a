package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/api"
)

func TestNewChecksTheURLAndToken(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://host", "http://", "http://host/?x=1", "http://host/#f"} {
		if _, err := New(bad, "mlt_x"); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := New("http://host:8080/", ""); err == nil {
		t.Error("New without a token accepted")
	}
	if _, err := New("https://host:8080/", "mlt_x"); err != nil {
		t.Error(err)
	}
}

// 5xx and 429 are tried again (a push is idempotent); 4xx are not, and
// their message reaches the caller.
func TestRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer mlt_secret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		switch r.URL.Path {
		case "/api/v1/push":
			if calls.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"system":"s","version":4}`))
		case "/api/v1/systems/forbidden/decisions":
			calls.Add(1)
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"role viewer cannot do that"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, "mlt_secret")
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff = time.Millisecond
	resp, err := c.Push(context.Background(), &api.PushRequest{Model: "x"})
	if err != nil || resp.Version != 4 || calls.Load() != 3 {
		t.Fatalf("push: %+v, %v after %d calls; want version 4 after 3", resp, err, calls.Load())
	}
	calls.Store(0)
	_, err = c.Decisions(context.Background(), "forbidden")
	var e *Error
	if !errors.As(err, &e) || e.Status != 403 || e.Message != "role viewer cannot do that" || calls.Load() != 1 {
		t.Fatalf("decisions: %v after %d calls; want one 403 with the server's message", err, calls.Load())
	}
	// An unknown system has no decisions.
	ds, err := c.Decisions(context.Background(), "unknown")
	if err != nil || ds != nil {
		t.Fatalf("decisions of an unknown system: %v, %v", ds, err)
	}
}

func TestUnreachableServerFailsAfterRetries(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := New(url, "mlt_x")
	c.Backoff = time.Millisecond
	if _, err := c.Push(context.Background(), &api.PushRequest{}); err == nil {
		t.Fatal("a push to a closed server succeeded")
	}
}
