// Package rules embeds mlthreat's built-in threat rule packs (the YAML files
// in this folder). The engine that reads them is internal/rules.
package rules

import "embed"

// Packs holds the built-in rule packs.
//
//go:embed *.yaml
var Packs embed.FS
