// Package schema embeds the JSON Schema of the system-model format, so the
// binary validates with the same file editors use.
package schema

import _ "embed"

// Model is schema/model.schema.json, generated from internal/model/kinds.yaml.
//
//go:embed model.schema.json
var Model []byte

// ModelURL is the schema's $id.
const ModelURL = "https://mlthreat.dev/schema/model.schema.json"
