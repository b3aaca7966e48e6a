// Package client talks to a portfolio server (mlthreat serve) for the CLI:
// push, the review board's decisions for gate --server, and tokens.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mlthreat/mlthreat/internal/server/api"
)

// Client is one server and the token used against it.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// Retries is how many times a request is tried again after a network
	// error, a 5xx or a 429. Pushes are safe to retry: the server answers an
	// identical re-push with the existing version.
	Retries int
	Backoff time.Duration
}

// New checks the server URL and returns a client for it.
func New(server, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: expected an http:// or https:// URL", server)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server %q: expected a URL without query or fragment", server)
	}
	if token == "" {
		return nil, errors.New("no token: pass --token or set MLTHREAT_TOKEN")
	}
	return &Client{base: u, token: token, http: &http.Client{Timeout: 60 * time.Second}, Retries: 3, Backoff: 500 * time.Millisecond}, nil
}

// Error is an answer from the server that is not a success.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// Push sends one system model with what was computed for it.
func (c *Client) Push(ctx context.Context, req *api.PushRequest) (*api.PushResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out api.PushResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/push", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Decisions lists the review board's decisions on a system, newest first.
// A system the server does not know has none.
func (c *Client) Decisions(ctx context.Context, system string) ([]api.Decision, error) {
	var out []api.Decision
	err := c.do(ctx, http.MethodGet, "/api/v1/systems/"+url.PathEscape(system)+"/decisions", nil, &out)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil, nil
	}
	return out, err
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON
// answer into out (nil to discard it).
func (c *Client) Do(ctx context.Context, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return c.do(ctx, method, path, b, out)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var last error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			wait := c.Backoff << (attempt - 1)
			if e, ok := last.(*retryAfter); ok && e.wait > wait {
				wait = e.wait
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		err := c.once(ctx, method, path, body, out)
		if err == nil {
			return nil
		}
		var ra *retryAfter
		if !errors.As(err, &ra) {
			return err
		}
		last = ra
	}
	return last.(*retryAfter).err
}

// retryAfter wraps an error worth retrying.
type retryAfter struct {
	err  error
	wait time.Duration
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

func (c *Client) once(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &retryAfter{err: fmt.Errorf("%s %s: %w", method, c.base.Redacted(), stripURL(err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &retryAfter{err: fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("the server's answer is not the JSON expected: %v", err)
		}
		return nil
	}
	e := &Error{Status: resp.StatusCode}
	var msg api.Error
	if json.Unmarshal(data, &msg) == nil {
		e.Message = msg.Error
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		wait := time.Duration(0)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 120 {
			wait = time.Duration(s) * time.Second
		}
		return &retryAfter{err: e, wait: wait}
	}
	return e
}

// stripURL drops the url.Error wrapper, whose text repeats the URL.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
