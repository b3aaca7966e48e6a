package interop

import "slices"

// Field is one entry of an ordered map, for props and x- fields. Value is a
// string, bool, int, float64, nil, []string, []any or Fields.
type Field struct {
	Key   string
	Value any
}

// Fields is an ordered map.
type Fields []Field

// Add appends a field unless the value is empty.
func (f *Fields) Add(key string, v any) {
	switch x := v.(type) {
	case nil:
		return
	case string:
		if x == "" {
			return
		}
	case []string:
		if len(x) == 0 {
			return
		}
	case []any:
		if len(x) == 0 {
			return
		}
	case Fields:
		if len(x) == 0 {
			return
		}
	}
	*f = append(*f, Field{key, v})
}

// Carry appends a foreign field kept as an extension, unless it says
// nothing: false, empty text, an empty list or map.
func (f *Fields) Carry(key string, v any) {
	if b, ok := v.(bool); ok && !b {
		return
	}
	f.Add(key, v)
}

// Get returns the value of key, or nil.
func (f Fields) Get(key string) any {
	for _, x := range f {
		if x.Key == key {
			return x.Value
		}
	}
	return nil
}

// Model is an imported system, in the order mlthreat's format writes it.
type Model struct {
	Comment    string // header comment
	System     System
	Zones      []*Zone
	Components []*Component
	Flows      []*Flow
	Data       []*Data
	Controls   []*Control
	Threats    []*Threat
	Decisions  []*Decision
	Ext        Fields // top-level x- fields
}

type System struct {
	ID, Name, Description, Owner, Criticality string
	Platforms, Tags                           []string
	Ext                                       Fields
}

type Zone struct {
	ID, Name, Trust, Description string
	Ext                          Fields
}

type Component struct {
	ID, Name, Kind, Zone, Exposure, Description, Owner string
	Tags                                               []string
	Props                                              Fields
	Ext                                                Fields
}

type Flow struct {
	ID, From, To             string
	Data                     []string
	Protocol                 string
	Encrypted, Authenticated *bool
	Bidirectional            bool
	Description              string
	Props, Ext               Fields
}

type Data struct {
	ID, Name, Classification string
	PII                      bool
	Description              string
	Ext                      Fields
}

type Control struct {
	ID, Name, Description string
	Mitigates, AppliesTo  []string
	Status                string
	Ext                   Fields
}

type Threat struct {
	ID, Title, Description, Technique string
	Targets, STRIDE                   []string
	Likelihood, Impact                int
	Status                            string
	Ext                               Fields
}

type Decision struct {
	Threat, Status, Justification, Owner, Until string
}

// Bool returns a pointer to v, for the optional flow booleans.
func Bool(v bool) *bool { return &v }

// RestoreControl fills ctl's mitigations, targets and status from an
// mlthreat control carried in a foreign file. Mitigation ids the catalogue
// does not know and targets the import did not create are dropped.
func RestoreControl(ctl *Control, rec *Node, knownMitigation, knownElement func(string) bool) {
	for _, id := range rec.Get("mitigates").Strings() {
		if knownMitigation(id) {
			ctl.Mitigates = append(ctl.Mitigates, id)
		}
	}
	for _, id := range rec.Get("applies_to").Strings() {
		if knownElement(id) {
			ctl.AppliesTo = append(ctl.AppliesTo, id)
		}
	}
	if s := rec.Str("status"); slices.Contains([]string{"implemented", "partial", "planned", "none"}, s) {
		ctl.Status = s
	}
}
