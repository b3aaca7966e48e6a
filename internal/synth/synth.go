// Package synth generates synthetic system models of a chosen size for
// benchmarks and load tests: a realistic mix of ML and LLM components spread
// over trust zones, with about three flows per component.
package synth

import (
	"fmt"
	"strings"
)

// pattern is one slice of a pipeline, repeated to reach the wanted size.
var pattern = []struct {
	kind, zone, exposure, props string
}{
	{"actor", "internet", "", "{role: customer}"},
	{"inference-api", "prod", "internet", "{auth: api-key, rate_limit: none, output: scores}"},
	{"preprocessing", "prod", "", "{input_validation: schema}"},
	{"model", "prod", "", "{task: classification, modality: text, origin: fine-tuned, artifact_format: pickle}"},
	{"postprocessing", "prod", "", "{returns: label}"},
	{"datastore", "prod", "", "{stores: [inputs, predictions]}"},
	{"data-source", "partner", "", "{origin: third-party, content: [text]}"},
	{"data-pipeline", "training", "", "{schedule: batch, validation: none}"},
	{"dataset", "training", "", "{purpose: [training], origin: mixed, pii: true}"},
	{"training", "training", "", "{type: fine-tuning, trigger: scheduled}"},
	{"model-registry", "training", "", "{auth: iam, signing: none}"},
	{"llm", "prod", "", "{provider: self-hosted, function_calling: true}"},
	{"retriever", "prod", "", "{sources: [vector-store, web]}"},
	{"vector-store", "prod", "", "{content: [internal-docs], write_access: pipeline-only}"},
	{"agent", "prod", "", "{autonomy: autonomous, memory: persistent}"},
	{"tool", "prod", "", "{side_effects: [send-email]}"},
	{"feedback", "prod", "", "{source: end-users, used_for: [retraining]}"},
	{"monitoring", "prod", "", "{covers: [drift]}"},
}

// Model returns a valid system model with n components.
func Model(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "mlthreat: 1\nsystem: {id: synthetic-%d, name: Synthetic system with %d components, criticality: high, platforms: [predictive, generative, agentic]}\n", n, n)
	b.WriteString("zones:\n  - {id: internet, trust: untrusted}\n  - {id: partner, trust: partner}\n  - {id: prod, trust: internal}\n  - {id: training, trust: restricted}\n")
	b.WriteString("data:\n  - {id: req, classification: confidential, pii: true}\n  - {id: feat, classification: internal}\n  - {id: doc, classification: confidential}\n")
	b.WriteString("components:\n")
	for i := 0; i < n; i++ {
		p := pattern[i%len(pattern)]
		fmt.Fprintf(&b, "  - id: c%d\n    kind: %s\n    zone: %s\n", i, p.kind, p.zone)
		if p.exposure != "" {
			fmt.Fprintf(&b, "    exposure: %s\n", p.exposure)
		}
		fmt.Fprintf(&b, "    props: %s\n", p.props)
	}
	var flows strings.Builder
	data := []string{"req", "feat", "doc"}
	f := 0
	for i := 0; i < n; i++ {
		// Three flows per component: to the next two in its slice and one
		// further along, so the graph is connected but not a simple chain.
		for _, step := range []int{1, 2, 7} {
			j := i + step
			if j >= n {
				continue
			}
			fmt.Fprintf(&flows, "  - {id: f%d, from: c%d, to: c%d, data: [%s]}\n", f, i, j, data[f%len(data)])
			f++
		}
	}
	if f == 0 {
		b.WriteString("flows: []\n")
	} else {
		b.WriteString("flows:\n" + flows.String())
	}
	b.WriteString("controls:\n  - {id: gateway, mitigates: [AML.M0015], status: implemented}\n")
	return []byte(b.String())
}
