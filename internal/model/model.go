// Package model holds the system model: the domain types a user writes in YAML
// (system, zones, components, flows, data, controls, threats, decisions), the
// loader that keeps every value's line and column, and the checks that need no
// framework knowledge (schema, keys, references, props). It imports no other
// mlthreat package but diag and schema.
package model

// FormatVersion is the `mlthreat:` value this build reads.
const FormatVersion = 1

// System is one AI system as described in one file.
type System struct {
	File         string
	Root         *Node
	Format       int
	Info         Info
	Zones        []*Zone
	Components   []*Component
	Flows        []*Flow
	Data         []*DataItem
	Controls     []*Control
	Threats      []*Threat
	RiskTracking []*Decision
	Governance   []*Practice
	Approvals    []*Approval
	Business     *Business // nil when the file has no business section
}

// Practice is one governance practice the organisation declares.
type Practice struct {
	Practice      string
	Status        string // implemented | partial | planned | none
	Owner         string
	Evidence      []string
	LastPerformed string
	Description   string
	Node          *Node
}

// Info is the `system:` section.
type Info struct {
	ID          string
	Name        string
	Description string
	Owner       string
	Criticality string
	Platforms   []string
	Tags        []string
	Review      Review
	Artifacts   []*Artifact
	Node        *Node
}

// Artifact is a file the threat model describes, pinned by digest.
type Artifact struct {
	Path        string
	SHA256      string
	Kind        string
	Description string
	Node        *Node
}

// Approval is a review-board decision on a gate escalation.
type Approval struct {
	By         string
	Decision   string // approved | rejected | changes-requested
	Date       string
	Until      string
	ThreatSet  string
	Conditions []string
	Comment    string
	Node       *Node
}

// Review records the last threat-model review.
type Review struct {
	Date string
	By   []string
	Next string
}

// Zone is a trust zone.
type Zone struct {
	ID          string
	Name        string
	Trust       string // untrusted | partner | internal | restricted
	Description string
	Node        *Node
}

// Component is one element of the system: a dataset, a model, an API...
type Component struct {
	ID          string
	Name        string
	Kind        string
	Zone        string
	Exposure    string // internet | partner | internal | isolated
	Description string
	Owner       string
	Tags        []string
	Props       map[string]any   // canonical prop names; x- props dropped
	PropNodes   map[string]*Node // value node of each prop, for positions
	Node        *Node
}

// Flow is data moving from one component to another.
type Flow struct {
	ID            string
	From          string
	To            string
	Data          []string
	Protocol      string
	Encrypted     *bool
	Authenticated *bool
	Bidirectional bool
	Description   string
	Props         map[string]any
	Node          *Node
}

// DataItem is a kind of data that flows carry.
type DataItem struct {
	ID             string
	Name           string
	Classification string // public | internal | confidential | restricted
	PII            bool
	Description    string
	Node           *Node
}

// Control is a safeguard in place (or planned).
type Control struct {
	ID          string
	Name        string
	Description string
	Mitigates   []string // ATLAS mitigation ids and/or mlthreat control ids
	AppliesTo   []string // component, flow or zone ids; empty means the whole system
	Status      string   // implemented | partial | planned | none
	Owner       string
	Evidence    []string
	RMF         []string
	Node        *Node
}

// Threat is a threat a person recorded by hand, beside the derived ones.
type Threat struct {
	ID          string
	Title       string
	Description string
	Technique   string // main ATLAS technique
	Related     []string
	Targets     []string
	OWASP       []string
	STRIDE      []string
	LINDDUN     []string
	RMF         []string
	Likelihood  int
	Impact      int
	Status      string
	Node        *Node
}

// Decision is a person's call on a derived threat (risk_tracking).
type Decision struct {
	Threat        string
	Status        string // accepted | mitigated | false-positive | in-progress
	Justification string
	Owner         string
	Until         string
	Register      string // external risk-register id
	Node          *Node
}

// Business is the loss model that turns threats into money.
type Business struct {
	Currency  string
	Appetite  float64 // annual loss accepted; 0 when unset
	Losses    map[string]LossRange
	Frequency []FrequencyHint
	Node      *Node
}

// LossRange is a three-point estimate.
type LossRange struct {
	Min, Likely, Max float64
	Shape            string
	Node             *Node
}

// FrequencyHint gives loss events per year for a threat, technique or tactic.
type FrequencyHint struct {
	Threat, Technique, Tactic string
	Range                     LossRange
}

// RegisterIDs maps threat ids to the risk-register ids risk_tracking gives them.
func (s *System) RegisterIDs() map[string]string {
	out := map[string]string{}
	for _, d := range s.RiskTracking {
		if d.Register != "" {
			out[d.Threat] = d.Register
		}
	}
	return out
}

// Component returns the component with the given id, or nil.
func (s *System) Component(id string) *Component {
	for _, c := range s.Components {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Zone returns the zone with the given id, or nil.
func (s *System) Zone(id string) *Zone {
	for _, z := range s.Zones {
		if z.ID == id {
			return z
		}
	}
	return nil
}

// Flow returns the flow with the given id, or nil.
func (s *System) Flow(id string) *Flow {
	for _, f := range s.Flows {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// DataItem returns the data item with the given id, or nil.
func (s *System) DataItem(id string) *DataItem {
	for _, d := range s.Data {
		if d.ID == id {
			return d
		}
	}
	return nil
}
