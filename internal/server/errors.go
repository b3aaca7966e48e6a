package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/server/api"
	"github.com/mlthreat/mlthreat/internal/store"
)

// statusError is an error with the HTTP status it answers. Decide returns
// them to the web pages too, where only the message is shown; Unwrap lets
// them test errors.Is against the store's sentinels.
type statusError struct {
	status int
	msg    string
	diags  []string
	cause  error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.cause }

// HTTPStatus is the status the error answers with; the pages use it too.
func (e *statusError) HTTPStatus() int { return e.status }

func newError(status int, cause error, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...), cause: cause}
}

func badRequest(format string, args ...any) error {
	return newError(http.StatusBadRequest, nil, format, args...)
}

func forbidden(format string, args ...any) error {
	return newError(http.StatusForbidden, errForbidden, format, args...)
}

func notFound(format string, args ...any) error {
	return newError(http.StatusNotFound, store.ErrNotFound, format, args...)
}

func conflict(format string, args ...any) error {
	return newError(http.StatusConflict, store.ErrConflict, format, args...)
}

var (
	errForbidden       = errors.New("forbidden")
	errUnauthenticated = errors.New("unauthenticated")
)

func unauthenticated(format string, args ...any) error {
	return newError(http.StatusUnauthorized, errUnauthenticated, format, args...)
}

// status maps an error to its HTTP status and the message the client may
// see. Errors the server did not anticipate are 500 with a fixed message:
// their text may name tables or files.
func status(err error) (int, string, []string) {
	var se *statusError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.status, se.msg, se.diags
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than the %d-byte limit", mbe.Limit), nil
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found", nil
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, store.ErrConflict.Error(), nil
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, "already exists", nil
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest, err.Error(), nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request cancelled or timed out", nil
	}
	return http.StatusInternalServerError, "internal server error", nil
}

// fail writes err as a JSON error body and logs what the client is not told.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg, diags := status(err)
	if code >= 500 {
		s.log.LogAttrs(r.Context(), levelFor(code), "request failed", slogRoute(r), slogErr(err))
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mlthreat"`)
	}
	writeJSON(w, code, api.Error{Error: msg, Diagnostics: diags})
}

// writeJSON encodes v before writing anything, so an encoding failure is a
// clean 500 rather than half a body. The encoder escapes <, > and & so
// that model text can never be read as HTML.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal server error: response could not be encoded"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// decodeJSON reads one JSON object of at most limit bytes into v, refusing
// unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	return decodeStream(http.MaxBytesReader(w, r.Body, limit), v)
}

func checkContentType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" {
			return newError(http.StatusUnsupportedMediaType, nil, "Content-Type %q: the API takes application/json", mt)
		}
	}
	return nil
}

// decodeStream is decodeJSON after the Content-Type check.
func decodeStream(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("invalid JSON: unexpected data after the object")
	}
	return nil
}

// jsonError turns a decoding error into a 400 that says where and what.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("invalid JSON: the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid JSON: the body ends too early")
	case errors.As(err, &se):
		return badRequest("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the body"
		}
		return badRequest("invalid JSON: %s must be %s, not %s", field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return badRequest("invalid JSON: %v", err)
}
