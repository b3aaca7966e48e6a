package interop

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// SortedKeys returns a map's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sample lists up to n ids and says how many more there are.
func Sample(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}

// SetPlatforms sets system.platforms from the kinds of the components.
func SetPlatforms(m *Model) {
	has := map[string]bool{}
	for _, c := range m.Components {
		switch c.Kind {
		case "model", "inference-api", "training", "dataset", "feature-store", "model-registry", "labeling":
			has["predictive"] = true
		case "llm", "prompt", "retriever", "vector-store", "guardrail":
			has["generative"] = true
		case "agent", "tool", "mcp-server", "memory":
			has["agentic"] = true
		}
	}
	for _, p := range []string{"predictive", "generative", "agentic"} {
		if has[p] && !slices.Contains(m.System.Platforms, p) {
			m.System.Platforms = append(m.System.Platforms, p)
		}
	}
}
