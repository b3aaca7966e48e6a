package sharedtest

import "github.com/mlthreat/mlthreat/internal/evidence"

// Chatbot is a small model with an internet-facing LLM and a prompt guard,
// for tests of evidence and of what reports make of it.
const Chatbot = `mlthreat: 1
system: {id: chatbot, name: Chatbot, criticality: medium}
zones:
  - {id: internet, trust: untrusted}
  - {id: prod, trust: internal}
components:
  - {id: visitor, kind: actor, zone: internet}
  - {id: bot, kind: llm, zone: prod, exposure: internet, props: {provider: openai, origin: vendor-api, output_handling: rendered-html, safety_tuned: false, max_tokens_limit: true, data_retention: provider-30d}}
flows:
  - {id: f1, from: visitor, to: bot, protocol: https}
controls:
  - {id: prompt-guard, mitigates: [MLT-C-PROMPT-GUARD], applies_to: [bot], status: implemented}
`

// GarakRecord is a garak result of one run on date, with its stable id.
func GarakRecord(attack, target, date string, attempts, successes int, techs ...string) evidence.Record {
	r := evidence.Record{Tool: "garak", Run: "run-" + date, Attack: attack, Target: target, Date: date, Attempts: attempts, Successes: successes, Techniques: techs}
	r.ID = evidence.NewID(r.Tool, r.Run, r.Attack, r.Detector, r.Strategy, r.Subject, r.Target)
	return r
}
