package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type openAPIDoc struct {
	OpenAPI string                               `json:"openapi"`
	Paths   map[string]map[string]map[string]any `json:"paths"`
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect)
		w := e.do("GET", "/api/v1/openapi.json", "", nil)
		var doc openAPIDoc
		want(t, w, http.StatusOK, &doc)
		if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
			t.Errorf("openapi %q", doc.OpenAPI)
		}
		documented := map[string]bool{}
		for path, ops := range doc.Paths {
			for method, op := range ops {
				if method == "parameters" {
					continue
				}
				documented[strings.ToUpper(method)+" "+path] = true
				if _, ok := op["responses"]; !ok {
					t.Errorf("%s %s has no responses", method, path)
				}
			}
		}
		registered := map[string]bool{}
		for _, r := range e.srv.routes {
			registered[r] = true
			if !documented[r] {
				t.Errorf("route %s is not in the OpenAPI document", r)
			}
		}
		for d := range documented {
			if !registered[d] {
				t.Errorf("the OpenAPI document has %s, which is not a route", d)
			}
		}
		if len(registered) < 19 {
			t.Errorf("only %d routes registered", len(registered))
		}
	})
}

// TestOpenAPIDocument checks that every $ref resolves, so that tools
// reading the document do not stop on it.
func TestOpenAPIDocument(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					ref, _ := c.(string)
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	b, err := openAPIJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("the JSON form is invalid: %v", err)
	}
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPICopy keeps api/openapi.yaml, the copy at the repository root
// for readers and tools, identical to the embedded source. To refresh it:
// cp internal/server/openapi.yaml api/openapi.yaml
func TestOpenAPICopy(t *testing.T) {
	root, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, OpenAPI) {
		t.Fatal("api/openapi.yaml differs from internal/server/openapi.yaml; run: cp internal/server/openapi.yaml api/openapi.yaml")
	}
}

func TestOpenAPIDocumentsEveryRole(t *testing.T) {
	// Every route that needs no token says so with security: [], and the
	// list of public routes is what the server serves without one.
	var doc openAPIDoc
	b, _ := openAPIJSON()
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var public []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				public = append(public, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(public)
	want := []string{"GET /api/v1/openapi.json", "GET /healthz", "GET /readyz"}
	if !slices.Equal(public, want) {
		t.Errorf("public routes in the document: %v, want %v", public, want)
	}
}
