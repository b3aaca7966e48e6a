// Package examples embeds the example systems (*/system.yaml) so that
// `mlthreat gen --scale` can grow realistic models from them.
package examples

import "embed"

// Systems holds every example's system.yaml.
//
//go:embed */system.yaml
var Systems embed.FS
