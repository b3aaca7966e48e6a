package jsonreport

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The streamed document must be byte-identical to encoding/json's.
func TestStreamMatchesEncoder(t *testing.T) {
	base := Document{
		Tool:     Tool{Name: "mlthreat", Version: "<dev> & co"},
		Catalogs: map[string]string{"atlas": "5.6.0", "owasp": "2025"},
		System:   System{ID: "s", Name: "<script>alert(1)</script>"},
		Summary: Summary{Threats: 2, BySeverity: map[string]int{"high": 1},
			ResidualBySeverity: map[string]int{}, ByStatus: map[string]int{"open": 2}},
		Threats:   []Threat{{ID: "T-1", Title: "a \u2028 b"}, {ID: "T-2", Title: "two"}},
		Precedent: []Precedent{{CaseStudy: "AML.CS0000", Techniques: []string{"AML.T0051"}}},
	}
	noThreats := base
	noThreats.Threats = []Threat{}
	noThreats.Precedent = []Precedent{}
	withNotes := base
	withNotes.Notes = []Note{{Line: 3, Message: "expired \"acceptance\""}}
	for name, d := range map[string]Document{"base": base, "empty": noThreats, "notes": withNotes} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
		if err := writeOld(&got, d); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Errorf("%s: streamed output differs\nwant:\n%s\ngot:\n%s", name, want.String(), got.String())
		}
	}
}
