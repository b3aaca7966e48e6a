package analysis_test

import (
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/analysis"
)

func has(r *analysis.Report, target, techPrefix string) bool {
	for _, t := range r.Threats {
		if t.Target.ID() != target {
			continue
		}
		for _, tech := range append([]string{t.Technique}, t.Related...) {
			if strings.HasPrefix(tech, techPrefix) {
				return true
			}
		}
	}
	return false
}

// Public input flowing into a feedback loop that retrains the model is
// poisoning (the Tay incident), and only because of how data travels.
func TestGraphTayPoisoning(t *testing.T) {
	src := `mlthreat: 1
system: {id: chatbot, name: Chatbot, criticality: high}
zones:
  - {id: internet, trust: untrusted}
  - {id: prod, trust: internal}
components:
  - {id: users, kind: actor, zone: internet}
  - {id: bot, kind: application, zone: prod, exposure: internet}
  - {id: convo, kind: feedback, zone: prod, props: {source: end-users, used_for: [retraining], review: none}}
  - {id: retrain, kind: training, zone: prod, props: {trigger: automatic-on-new-data}}
  - {id: model, kind: model, zone: prod, props: {task: generation, origin: in-house}}
flows:
  - {id: f1, from: users, to: bot}
  - {id: f2, from: bot, to: convo}
  - {id: f3, from: convo, to: retrain}
  - {id: f4, from: retrain, to: model}
`
	r := analyzeText(t, src)
	if !has(r, "convo", "AML.T0020") && !has(r, "retrain", "AML.T0020") && !has(r, "f3", "AML.T0020") {
		t.Errorf("public feedback into retraining must be flagged as poisoning (AML.T0020)")
	}
	// Without the path from the public, no poisoning on the training job.
	closed := strings.Replace(src, "  - {id: f2, from: bot, to: convo}\n", "", 1)
	closed = strings.Replace(closed, "source: end-users", "source: employees", 1)
	r = analyzeText(t, closed)
	if has(r, "retrain", "AML.T0020") {
		t.Errorf("training fed only by employees' reviewed feedback should not get AML.T0020 on the training job")
	}
}

// An LLM reading untrusted documents that can call an e-mail tool is indirect
// prompt injection leading to exfiltration.
func TestGraphIndirectInjectionToExfiltration(t *testing.T) {
	src := `mlthreat: 1
system: {id: mail-assistant, name: Mail assistant}
zones:
  - {id: internet, trust: untrusted}
  - {id: prod, trust: internal}
components:
  - {id: inbox, kind: data-source, zone: internet, props: {origin: user-generated, content: [emails]}}
  - {id: search, kind: retriever, zone: prod, props: {sources: [email]}}
  - {id: agent, kind: agent, zone: prod, props: {autonomy: autonomous}}
  - {id: llm, kind: llm, zone: prod, props: {provider: openai, function_calling: true}}
  - {id: mailer, kind: tool, zone: prod, props: {side_effects: [send-email]}}
flows:
  - {id: f1, from: inbox, to: search}
  - {id: f2, from: search, to: agent}
  - {id: f3, from: agent, to: llm}
  - {id: f4, from: llm, to: agent}
  - {id: f5, from: agent, to: mailer}
`
	r := analyzeText(t, src)
	if !has(r, "llm", "AML.T0051.001") && !has(r, "agent", "AML.T0051.001") {
		t.Error("untrusted e-mail into the LLM context must give indirect prompt injection")
	}
	if !has(r, "mailer", "AML.T0086") && !has(r, "agent", "AML.T0086") {
		t.Error("an injectable agent with an e-mail tool must give exfiltration via tool invocation (AML.T0086)")
	}
}

// A pickle pulled from a public hub into serving is code execution on load.
func TestGraphPickleFromHub(t *testing.T) {
	src := `mlthreat: 1
system: {id: svc, name: Service}
zones:
  - {id: prod, trust: internal}
components:
  - {id: model, kind: model, zone: prod, props: {task: classification, artifact_format: pickle, artifact_source: public-hub}}
  - {id: api, kind: inference-api, zone: prod, exposure: internal, props: {auth: iam}}
flows:
  - {id: f1, from: api, to: model}
`
	r := analyzeText(t, src)
	var found *analysis.Threat
	for _, th := range r.Threats {
		if th.Target.ID() == "model" && th.Technique == "AML.T0011.000" {
			found = th
		}
	}
	if found == nil {
		t.Fatal("a pickle from a public hub must be flagged as unsafe AI artifact (AML.T0011.000)")
	}
	safe := analyzeText(t, strings.Replace(src, "artifact_format: pickle, artifact_source: public-hub", "artifact_format: safetensors, artifact_source: internal-registry", 1))
	for _, th := range safe.Threats {
		if th.Technique == "AML.T0011.000" {
			t.Error("safetensors from the internal registry must not be flagged as code execution on load")
		}
	}
}
