package model

// Field describes one structural key of the format, for the schema, the
// unknown-key check and the docs.
type Field struct {
	Key     string
	Schema  map[string]any
	Summary string
}

// Section is one map type of the format (the top level, system, component...).
type Section struct {
	Name     string // $defs name
	Required []string
	Fields   []Field
}

const (
	patternSlug = `^[a-z0-9][a-z0-9._-]{0,63}$`
	patternID   = `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`
)

func ref(def string) map[string]any { return map[string]any{"$ref": "#/$defs/" + def} }
func str(desc string) map[string]any {
	return map[string]any{"type": "string", "description": desc}
}
func enum(desc string, values ...string) map[string]any {
	return map[string]any{"type": "string", "enum": values, "description": desc}
}
func strList(desc string) map[string]any {
	return map[string]any{"description": desc, "anyOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	}}
}
func idList(desc string) map[string]any {
	return map[string]any{"type": "array", "items": ref("id"), "description": desc}
}
func listOf(def, desc string) map[string]any {
	return map[string]any{"type": "array", "items": ref(def), "description": desc}
}
func date(desc string) map[string]any {
	return map[string]any{"type": "string", "format": "date", "description": desc}
}
func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}
func score(desc string) map[string]any {
	return map[string]any{"type": "integer", "minimum": 1, "maximum": 5, "description": desc}
}

// Enumerations of the format's core, shared with the checks.
var (
	Criticalities     = []string{"low", "medium", "high", "critical"}
	Platforms         = []string{"predictive", "generative", "agentic"}
	TrustLevels       = []string{"untrusted", "partner", "internal", "restricted"}
	Exposures         = []string{"internet", "partner", "internal", "isolated"}
	Classifications   = []string{"public", "internal", "confidential", "restricted"}
	ControlStatuses   = []string{"implemented", "partial", "planned", "none"}
	ArtifactKinds     = []string{"model", "ml-bom", "model-card", "dataset-manifest", "config", "other"}
	ApprovalDecisions = []string{"approved", "rejected", "changes-requested"}
	DecisionStatus    = []string{"accepted", "mitigated", "false-positive", "in-progress"}
	ThreatStatuses    = []string{"open", "mitigated", "accepted", "false-positive", "in-progress"}
	STRIDELetters     = []string{"S", "T", "R", "I", "D", "E"}
	LINDDUNIDs        = []string{"L", "I", "Nr", "D", "DD", "U", "Nc"}
)

// Sections is the structure of the format, in document order.
var Sections = []Section{
	{Name: "top", Required: []string{"mlthreat", "system"}, Fields: []Field{
		{"mlthreat", map[string]any{"const": FormatVersion, "description": "Format version; 1."}, "Format version of the file. Always `1` for now."},
		{"system", ref("system"), "What the AI system is and who owns it."},
		{"zones", listOf("zone", "Trust zones."), "Trust zones; every component sits in one."},
		{"components", listOf("component", "Components of the system."), "The parts of the system, each of a known kind."},
		{"flows", listOf("flow", "Data flows between components."), "Data moving from one component to another."},
		{"data", listOf("data", "Kinds of data carried by flows."), "The data the flows carry, with classification."},
		{"controls", listOf("control", "Controls in place or planned."), "Safeguards, each mapped to ATLAS mitigations or mlthreat control ids."},
		{"threats", listOf("threat", "Threats recorded by hand."), "Threats a person recorded by hand, beside the derived ones."},
		{"risk_tracking", listOf("decision", "Decisions on derived threats."), "Decisions people took on derived threats."},
		{"governance", listOf("practice", "Governance practices of the organisation."), "The organisation's governance practices (AI policy, monitoring, incident response...) and their state; see docs/governance.md."},
		{"approvals", listOf("approval", "Review-board decisions on escalations."), "Review-board decisions on a `gate` escalation; see docs/policy.md."},
		{"business", ref("business"), "The loss model that puts threats in money (`mlthreat quantify`); see docs/quantify.md."},
	}},
	{Name: "business", Fields: []Field{
		{"currency", map[string]any{"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 currency code."}, "ISO 4217 currency code (`USD`, `EUR`, `GBP`...)."},
		{"appetite", map[string]any{"type": "number", "minimum": 0, "description": "Annual loss the organisation accepts."}, "Risk appetite: the annual loss the organisation accepts, compared with the residual P90."},
		{"losses", ref("losses"), "Loss magnitude per event, as ranges, by impact type."},
		{"frequency", listOf("frequency", "Loss-event frequency hints per year."), "Loss events per year for a threat id, technique or tactic, overriding the estimate from likelihood."},
	}},
	{Name: "losses", Fields: []Field{
		{"fraud", ref("range"), "Financial fraud per event (a fraudulent transaction or claim the model let through)."},
		{"outage_per_hour", ref("range"), "Cost of one hour of outage of the AI service."},
		{"outage_hours", ref("range"), "Hours one outage lasts."},
		{"recall", ref("range"), "A product recall or quality incident (a defect the model missed)."},
		{"regulatory_fine", ref("range"), "A regulatory fine per incident."},
		{"ip_theft", ref("range"), "Intellectual property lost when the model or its data is stolen: the cost of replicating the model."},
		{"breach_per_record", ref("range"), "Cost of a data breach per record."},
		{"records_at_risk", ref("range"), "Records exposed in one breach."},
		{"reputation", ref("range"), "Reputational harm per incident."},
	}},
	{Name: "range", Required: []string{"min", "likely", "max"}, Fields: []Field{
		{"min", map[string]any{"type": "number", "minimum": 0, "description": "Minimum."}, "Minimum (0 or more)."},
		{"likely", map[string]any{"type": "number", "minimum": 0, "description": "Most likely."}, "Most likely value."},
		{"max", map[string]any{"type": "number", "minimum": 0, "description": "Maximum."}, "Maximum."},
		{"shape", enum("Distribution.", "pert", "lognormal"), "Distribution: `pert` (default) or `lognormal` (min and max read as the 5th and 95th percentiles)."},
	}},
	{Name: "frequency", Required: []string{"min", "likely", "max"}, Fields: []Field{
		{"threat", map[string]any{"type": "string", "pattern": `^T-[0-9a-f]{8}$`, "description": "Stable threat id."}, "A threat id printed by `analyze`."},
		{"technique", str("ATLAS technique id."), "An ATLAS technique (its sub-techniques included)."},
		{"tactic", str("ATLAS tactic id."), "An ATLAS tactic."},
		{"min", map[string]any{"type": "number", "minimum": 0, "description": "Fewest events per year."}, "Fewest loss events per year."},
		{"likely", map[string]any{"type": "number", "minimum": 0, "description": "Most likely events per year."}, "Most likely events per year."},
		{"max", map[string]any{"type": "number", "minimum": 0, "description": "Most events per year."}, "Most events per year."},
		{"shape", enum("Distribution.", "pert", "lognormal"), "`pert` (default) or `lognormal`."},
	}},
	{Name: "system", Required: []string{"id", "name"}, Fields: []Field{
		{"id", map[string]any{"type": "string", "pattern": patternSlug, "description": "Slug that names the system."}, "Slug: lower-case letters, digits, `.`, `_`, `-`."},
		{"name", str("Display name."), "Display name."},
		{"description", str("What the system does."), "What the system does, in a sentence or two."},
		{"owner", str("Owning team or person."), "Owning team or person (an e-mail is fine)."},
		{"criticality", enum("Business criticality.", Criticalities...), "Business criticality: " + joinCode(Criticalities) + ". Raises impact."},
		{"platforms", map[string]any{"type": "array", "items": map[string]any{"enum": Platforms}, "description": "ATLAS platforms."}, "ATLAS platforms: " + joinCode(Platforms) + "."},
		{"tags", strList("Free tags."), "Free tags."},
		{"review", ref("review"), "The last threat-model review: `date`, `by`, `next`."},
		{"artifacts", listOf("artifact", "Files the model describes, pinned by digest."), "Files this threat model describes (model weights, ML-BOM, training-data manifest), pinned by sha256 so that `gate` notices when they change."},
	}},
	{Name: "artifact", Required: []string{"path", "sha256"}, Fields: []Field{
		{"path", str("Path, relative to the model file."), "Path of the file, relative to the model file."},
		{"sha256", map[string]any{"type": "string", "pattern": `^[0-9a-f]{64}$`, "description": "Lower-case hex sha256 of the file."}, "Its sha256, 64 lower-case hex digits (`sha256sum FILE`)."},
		{"kind", enum("What the file is.", ArtifactKinds...), "What it is: " + joinCode(ArtifactKinds) + "."},
		{"description", str("Description."), "What it is, in words."},
	}},
	{Name: "review", Fields: []Field{
		{"date", date("Date of the last review."), "Date of the last review (YYYY-MM-DD)."},
		{"by", strList("Reviewers."), "Who reviewed: a name or a list."},
		{"next", date("Date the next review is due."), "When the next review is due (YYYY-MM-DD)."},
	}},
	{Name: "zone", Required: []string{"id", "trust"}, Fields: []Field{
		{"id", ref("id"), "Unique id."},
		{"name", str("Display name."), "Display name."},
		{"trust", enum("Trust level.", TrustLevels...), "Trust level: " + joinCode(TrustLevels) + "."},
		{"description", str("Description."), "What sits in the zone."},
	}},
	{Name: "component", Required: []string{"id", "kind"}, Fields: []Field{
		{"id", ref("id"), "Unique id (shared namespace with zones and flows)."},
		{"name", str("Display name."), "Display name."},
		{"kind", map[string]any{"$ref": "#/$defs/kind"}, "One of the component kinds below."},
		{"zone", ref("id"), "The trust zone it sits in."},
		{"exposure", enum("Who can reach it.", Exposures...), "Who can reach it over the network: " + joinCode(Exposures) + "."},
		{"description", str("Description."), "What it does."},
		{"owner", str("Owner."), "Owning team or person."},
		{"tags", strList("Free tags."), "Free tags."},
		{"props", map[string]any{"type": "object", "description": "Kind-specific facts; see the kind's props."}, "Kind-specific facts (see each kind). Unknown props are warnings."},
	}},
	{Name: "flow", Required: []string{"id", "from", "to"}, Fields: []Field{
		{"id", ref("id"), "Unique id."},
		{"from", ref("id"), "Source component id."},
		{"to", ref("id"), "Destination component id."},
		{"data", strList("Data item ids carried."), "Ids of the data items it carries."},
		{"protocol", str("Protocol, e.g. https, grpc, s3."), "Protocol (`https`, `grpc`, `s3`, `stdio`...)."},
		{"encrypted", boolean("Encrypted in transit."), "Whether it is encrypted in transit."},
		{"authenticated", boolean("Both ends authenticated."), "Whether the receiver authenticates the sender."},
		{"bidirectional", boolean("Data also flows back."), "Whether data also flows back (a request/response pair)."},
		{"description", str("Description."), "What moves and why."},
		{"props", map[string]any{"type": "object", "description": "Free facts about the flow."}, "Free facts about the flow."},
	}},
	{Name: "data", Required: []string{"id"}, Fields: []Field{
		{"id", ref("id"), "Unique id."},
		{"name", str("Display name."), "Display name."},
		{"classification", enum("Classification.", Classifications...), "Classification: " + joinCode(Classifications) + "."},
		{"pii", boolean("Contains personal data."), "Whether it holds personal data."},
		{"description", str("Description."), "What it is."},
	}},
	{Name: "control", Required: []string{"id"}, Fields: []Field{
		{"id", ref("id"), "Unique id."},
		{"name", str("Display name."), "Display name."},
		{"description", str("Description."), "What it does."},
		{"mitigates", map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "ATLAS mitigation ids (AML.M0004) or mlthreat control ids (MLT-C-RATE-LIMIT)."}, "ATLAS mitigation ids (`AML.M0004`) and/or mlthreat control ids (`MLT-C-RATE-LIMIT`, see `mlthreat catalog controls`)."},
		{"applies_to", idList("Component, flow or zone ids; empty for the whole system."), "Component, flow or zone ids it protects; omit for the whole system."},
		{"status", enum("Implementation status.", ControlStatuses...), "Status: " + joinCode(ControlStatuses) + "."},
		{"owner", str("Owner."), "Who runs it."},
		{"evidence", strList("Links or paths to evidence."), "Links or paths that show it works."},
		{"rmf", map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "NIST AI RMF subcategories it supports."}, "NIST AI RMF subcategories it supports (`MEASURE 2.7`; `MS-2.7` is accepted)."},
	}},
	{Name: "threat", Required: []string{"id", "title"}, Fields: []Field{
		{"id", ref("id"), "Unique id."},
		{"title", str("Short title."), "Short title."},
		{"description", str("Description."), "The scenario."},
		{"technique", map[string]any{"type": "string", "description": "Main ATLAS technique id."}, "Main ATLAS technique (`AML.T0020`)."},
		{"related", map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Further ATLAS technique ids."}, "Further ATLAS technique ids."},
		{"targets", idList("Component or flow ids affected."), "Component, flow or zone ids affected."},
		{"owasp", map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "OWASP ids with edition, e.g. LLM01:2025."}, "OWASP ids with edition (`LLM01:2025`, `ML02:2023`, `ASI06:2026`)."},
		{"stride", map[string]any{"type": "array", "items": map[string]any{"enum": STRIDELetters}, "description": "STRIDE letters."}, "STRIDE letters: " + joinCode(STRIDELetters) + "."},
		{"linddun", map[string]any{"type": "array", "items": map[string]any{"enum": LINDDUNIDs}, "description": "LINDDUN categories."}, "LINDDUN categories: " + joinCode(LINDDUNIDs) + "."},
		{"rmf", map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "NIST AI RMF subcategories."}, "Related NIST AI RMF subcategories."},
		{"likelihood", score("1 (rare) to 5 (almost certain)."), "Likelihood, 1 (rare) to 5 (almost certain)."},
		{"impact", score("1 (negligible) to 5 (severe)."), "Impact, 1 (negligible) to 5 (severe)."},
		{"status", enum("Status.", ThreatStatuses...), "Status: " + joinCode(ThreatStatuses) + "."},
	}},
	{Name: "practice", Required: []string{"practice", "status"}, Fields: []Field{
		{"practice", map[string]any{"type": "string", "pattern": patternSlug, "description": "Practice id from docs/governance.md, e.g. incident-response."}, "Practice id from the vocabulary in docs/governance.md (`ai-policy`, `monitoring`, `incident-response`...)."},
		{"status", enum("State of the practice.", ControlStatuses...), "State: " + joinCode(ControlStatuses) + "."},
		{"owner", str("Who runs it."), "Who runs it."},
		{"evidence", strList("Links or paths to evidence."), "Links or paths that show it is performed."},
		{"last_performed", date("Date it was last performed."), "When it was last performed or reviewed (YYYY-MM-DD); not in the future."},
		{"description", str("How it is done here."), "How the organisation does it."},
	}},
	{Name: "approval", Required: []string{"by", "decision", "date", "threat_set"}, Fields: []Field{
		{"by", str("Reviewer."), "Who decided (a person or the board)."},
		{"decision", enum("Decision.", ApprovalDecisions...), "Decision: " + joinCode(ApprovalDecisions) + "."},
		{"date", date("Date of the decision."), "When it was taken (YYYY-MM-DD)."},
		{"until", date("Expiry of an approval."), "When an approval expires (YYYY-MM-DD); required for `approved`."},
		{"threat_set", map[string]any{"type": "string", "pattern": `^[0-9a-f]{16}$`, "description": "Threat-set digest from the review packet."}, "The threat-set digest printed in the review packet; the approval lapses when the set changes."},
		{"conditions", strList("Conditions of the approval."), "Conditions attached to the approval."},
		{"comment", str("Comment."), "The board's comment."},
	}},
	{Name: "decision", Required: []string{"threat"}, Fields: []Field{
		{"threat", map[string]any{"type": "string", "pattern": `^T-[0-9a-f]{8}$`, "description": "Stable threat id printed by analyze."}, "The stable threat id printed by `analyze` (`T-3f9a1c2e`)."},
		{"status", enum("Decision.", DecisionStatus...), "Decision: " + joinCode(DecisionStatus) + ". Required unless the entry only links a `register` id."},
		{"justification", str("Why."), "Why the decision was taken."},
		{"owner", str("Who decided."), "Who decided and owns the risk."},
		{"until", date("Expiry of the decision."), "When the decision expires (YYYY-MM-DD)."},
		{"register", str("External risk-register id."), "The threat's id in the organisation's risk register (`RISK-1234`), carried into CSV/XLSX exports. An entry may hold only `threat` and `register`."},
	}},
}

// SectionByName returns a section of the format, or nil.
func SectionByName(name string) *Section {
	for i := range Sections {
		if Sections[i].Name == name {
			return &Sections[i]
		}
	}
	return nil
}

// Keys lists a section's keys.
func (s *Section) Keys() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Key
	}
	return out
}

func joinCode(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ", "
		}
		out += "`" + s + "`"
	}
	return out
}
