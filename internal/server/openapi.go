package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

// OpenAPI is the OpenAPI 3 document of the JSON API, as YAML. Its source is
// internal/server/openapi.yaml (go:embed reads only inside the package);
// api/openapi.yaml at the repository root is a copy for readers and tools,
// kept byte-identical by TestOpenAPICopy.
//
//go:embed openapi.yaml
var OpenAPI []byte

var openAPI struct {
	once sync.Once
	json []byte
	err  error
}

// openAPIJSON converts the document to JSON once.
func openAPIJSON() ([]byte, error) {
	openAPI.once.Do(func() {
		var doc any
		if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
			openAPI.err = fmt.Errorf("openapi.yaml: %v", err)
			return
		}
		openAPI.json, openAPI.err = json.Marshal(doc)
		if openAPI.err != nil {
			openAPI.err = fmt.Errorf("openapi.yaml: %v", openAPI.err)
		}
	})
	return openAPI.json, openAPI.err
}
