// Package crosswalk embeds mlthreat's crosswalk data: which ATLAS
// mitigations, mlthreat controls and governance practices help satisfy which
// NIST AI RMF subcategories. The code that reads it is internal/gap.
package crosswalk

import "embed"

// Files holds the YAML files of this folder.
//
//go:embed *.yaml
var Files embed.FS
