package otm

import (
	"encoding/json"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/model"
)

type document struct {
	OTMVersion  string       `json:"otmVersion"`
	Project     project      `json:"project"`
	Assets      []asset      `json:"assets"`
	TrustZones  []trustZone  `json:"trustZones"`
	Components  []component  `json:"components"`
	Dataflows   []dataflow   `json:"dataflows"`
	Threats     []threat     `json:"threats"`
	Mitigations []mitigation `json:"mitigations"`
}

type project struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	Description string         `json:"description,omitempty"`
	Owner       string         `json:"owner,omitempty"`
	Tags        []string       `json:"tags,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

type asset struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	Description string         `json:"description,omitempty"`
	Risk        assetRisk      `json:"risk"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

type assetRisk struct {
	Confidentiality int    `json:"confidentiality"`
	Integrity       int    `json:"integrity"`
	Availability    int    `json:"availability"`
	Comment         string `json:"comment,omitempty"`
}

type trustZone struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type,omitempty"`
	Description string         `json:"description,omitempty"`
	Risk        zoneRisk       `json:"risk"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

type zoneRisk struct {
	TrustRating int `json:"trustRating"`
}

type parent struct {
	TrustZone string `json:"trustZone,omitempty"`
	Component string `json:"component,omitempty"`
}

type component struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Type        string           `json:"type"`
	Description string           `json:"description,omitempty"`
	Parent      parent           `json:"parent"`
	Assets      *assetInstance   `json:"assets,omitempty"`
	Threats     []threatInstance `json:"threats,omitempty"`
	Tags        []string         `json:"tags,omitempty"`
	Attributes  map[string]any   `json:"attributes,omitempty"`
}

type assetInstance struct {
	Processed []string `json:"processed,omitempty"`
	Stored    []string `json:"stored,omitempty"`
}

type dataflow struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Description   string           `json:"description,omitempty"`
	Bidirectional bool             `json:"bidirectional"`
	Source        string           `json:"source"`
	Destination   string           `json:"destination"`
	Assets        []string         `json:"assets,omitempty"`
	Threats       []threatInstance `json:"threats,omitempty"`
	Attributes    map[string]any   `json:"attributes,omitempty"`
}

type threatInstance struct {
	Threat      string               `json:"threat"`
	State       string               `json:"state"`
	Mitigations []mitigationInstance `json:"mitigations"`
}

type mitigationInstance struct {
	Mitigation string `json:"mitigation"`
	State      string `json:"state"`
}

type threat struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Categories  []string       `json:"categories,omitempty"`
	Risk        threatRisk     `json:"risk"`
	Tags        []string       `json:"tags,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

type threatRisk struct {
	Likelihood        int    `json:"likelihood"`
	LikelihoodComment string `json:"likelihoodComment,omitempty"`
	Impact            int    `json:"impact"`
	ImpactComment     string `json:"impactComment,omitempty"`
}

type mitigation struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   string         `json:"description,omitempty"`
	RiskReduction int            `json:"riskReduction"`
	Attributes    map[string]any `json:"attributes,omitempty"`
}

// Writer writes a report as one OTM JSON document.
type Writer struct{}

func (Writer) Write(w io.Writer, r *analysis.Report) error {
	d := Build(r)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// Build assembles the OTM document of a report.
func Build(r *analysis.Report) *document {
	s := r.System
	d := &document{OTMVersion: Version, Assets: []asset{}, TrustZones: []trustZone{}, Components: []component{},
		Dataflows: []dataflow{}, Threats: []threat{}, Mitigations: []mitigation{}}
	sysAttrs := map[string]any{}
	if s.Info.Criticality != "" {
		sysAttrs["criticality"] = s.Info.Criticality
	}
	if len(s.Info.Platforms) > 0 {
		sysAttrs["platforms"] = s.Info.Platforms
	}
	d.Project = project{Name: s.Info.Name, ID: s.Info.ID, Description: s.Info.Description, Owner: s.Info.Owner, Tags: s.Info.Tags,
		Attributes: map[string]any{attrSystem: sysAttrs}}
	if len(s.RiskTracking) > 0 {
		var ds []map[string]string
		for _, dc := range s.RiskTracking {
			ds = append(ds, map[string]string{"threat": dc.Threat, "status": dc.Status, "justification": dc.Justification, "owner": dc.Owner, "until": dc.Until})
		}
		d.Project.Attributes[attrDecisions] = ds
	}
	for _, di := range s.Data {
		a := asset{Name: nameOr(di.Name, di.ID), ID: di.ID, Description: di.Description,
			Risk:       assetRisk{Confidentiality: confidentiality[di.Classification], Integrity: 50, Availability: 50, Comment: "mlthreat rates confidentiality by classification; integrity and availability are not rated per data item"},
			Attributes: map[string]any{attrPII: di.PII}}
		if di.Classification != "" {
			a.Attributes[attrClass] = di.Classification
		}
		d.Assets = append(d.Assets, a)
	}
	for _, z := range s.Zones {
		d.TrustZones = append(d.TrustZones, trustZone{ID: z.ID, Name: nameOr(z.Name, z.ID), Type: z.Trust, Description: z.Description,
			Risk: zoneRisk{trustRating[z.Trust]}, Attributes: map[string]any{attrTrust: z.Trust}})
	}
	// Instances of derived threats on each element, in report order.
	onElement := map[string][]threatInstance{}
	used := map[string]bool{}
	for _, t := range r.Threats {
		inst := threatInstance{Threat: t.ID, State: threatState[t.Status], Mitigations: []mitigationInstance{}}
		for _, m := range t.Mitigations {
			inst.Mitigations = append(inst.Mitigations, mitigationInstance{Mitigation: m.ID, State: mitigationState[m.Status]})
			used[m.ID] = true
		}
		onElement[t.Target.ID()] = append(onElement[t.Target.ID()], inst)
		d.Threats = append(d.Threats, derivedThreat(r, t))
	}
	for _, t := range s.Threats {
		d.Threats = append(d.Threats, recordedThreat(t))
		for _, target := range t.Targets {
			onElement[target] = append(onElement[target], threatInstance{Threat: t.ID, State: threatState[orDefault(t.Status, "open")], Mitigations: []mitigationInstance{}})
		}
	}
	// Data each component sends, receives or holds, by its flows.
	processed := map[string][]string{}
	for _, f := range s.Flows {
		for _, id := range f.Data {
			processed[f.From] = appendUnique(processed[f.From], id)
			processed[f.To] = appendUnique(processed[f.To], id)
		}
	}
	unzoned := false
	for _, c := range s.Components {
		zone := c.Zone
		if zone == "" {
			zone, unzoned = unzonedID, true
		}
		oc := component{ID: c.ID, Name: nameOr(c.Name, c.ID), Type: c.Kind, Description: c.Description, Parent: parent{TrustZone: zone},
			Threats: onElement[c.ID], Tags: c.Tags, Attributes: map[string]any{attrKind: c.Kind}}
		if p := processed[c.ID]; len(p) > 0 {
			oc.Assets = &assetInstance{Processed: p}
		}
		if c.Exposure != "" {
			oc.Attributes[attrExposure] = c.Exposure
		}
		if c.Owner != "" {
			oc.Attributes[attrOwner] = c.Owner
		}
		if len(c.Props) > 0 {
			oc.Attributes[attrProps] = c.Props
		}
		d.Components = append(d.Components, oc)
	}
	if unzoned {
		// OTM puts every component in a trust zone; mlthreat treats a
		// component without one as internal.
		d.TrustZones = append(d.TrustZones, trustZone{ID: unzonedID, Name: "Components without a zone", Type: "internal",
			Risk: zoneRisk{trustRating["internal"]}, Attributes: map[string]any{attrSynthetic: true}})
	}
	compName := make(map[string]string, len(s.Components)) // the first component's, as s.Component finds it
	for _, c := range s.Components {
		if _, ok := compName[c.ID]; !ok {
			compName[c.ID] = c.Name
		}
	}
	for _, f := range s.Flows {
		df := dataflow{ID: f.ID, Name: flowName(compName, f), Description: f.Description, Bidirectional: f.Bidirectional, Source: f.From, Destination: f.To,
			Assets: f.Data, Threats: onElement[f.ID], Attributes: map[string]any{}}
		if f.Protocol != "" {
			df.Attributes[attrProtocol] = f.Protocol
		}
		if f.Encrypted != nil {
			df.Attributes[attrEncrypted] = *f.Encrypted
		}
		if f.Authenticated != nil {
			df.Attributes[attrAuth] = *f.Authenticated
		}
		if len(f.Props) > 0 {
			df.Attributes[attrProps] = f.Props
		}
		d.Dataflows = append(d.Dataflows, df)
	}
	d.Mitigations = mitigations(r, used)
	for _, c := range s.Controls {
		d.Mitigations = append(d.Mitigations, mitigation{ID: "control:" + c.ID, Name: nameOr(c.Name, c.ID), Description: c.Description,
			RiskReduction: 0, Attributes: map[string]any{attrControl: map[string]any{"id": c.ID, "mitigates": nonNil(c.Mitigates), "applies_to": nonNil(c.AppliesTo), "status": c.Status, "owner": c.Owner}}})
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func appendUnique(l []string, v string) []string {
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}

func flowName(compName map[string]string, f *model.Flow) string {
	name := func(id string) string {
		if n := compName[id]; n != "" {
			return n
		}
		return id
	}
	n := name(f.From) + " to " + name(f.To)
	if len(f.Data) > 0 {
		n += ": " + strings.Join(f.Data, ", ")
	}
	return n
}

func derivedThreat(r *analysis.Report, t *analysis.Threat) threat {
	cat := r.Catalog
	var cats []string
	for _, l := range t.STRIDE {
		if n := strideNames[l]; n != "" {
			cats = append(cats, n)
		}
	}
	tags := []string{t.Technique}
	tags = append(tags, t.Tactics...)
	tags = append(tags, t.OWASP...)
	attrs := map[string]any{
		attrDerived:         true,
		"rule":              t.Rule.ID,
		"target":            t.Target.ID(),
		"atlas-technique":   t.Technique,
		"atlas-name":        cat.Name(t.Technique),
		"atlas-tactics":     nonNil(t.Tactics),
		"severity":          t.Severity,
		"status":            t.Status,
		"residual-risk":     t.Residual.Score,
		"residual-severity": t.Residual.Severity,
	}
	if len(t.OWASP) > 0 {
		attrs["owasp"] = t.OWASP
	}
	if len(t.LINDDUN) > 0 {
		attrs["linddun"] = t.LINDDUN
	}
	if t.Decision != nil {
		attrs["decision"] = map[string]string{"status": t.Decision.Status, "justification": t.Decision.Justification, "owner": t.Decision.Owner, "until": t.Decision.Until}
	}
	return threat{ID: t.ID, Name: t.Rule.Title, Description: t.Rule.Rationale, Categories: cats, Tags: tags,
		Risk: threatRisk{Likelihood: t.Likelihood.Score * 20, LikelihoodComment: strings.Join(t.Likelihood.Factors, "; "),
			Impact: t.Impact.Score * 20, ImpactComment: strings.Join(t.Impact.Factors, "; ")},
		Attributes: attrs}
}

func recordedThreat(t *model.Threat) threat {
	var cats []string
	for _, l := range t.STRIDE {
		if n := strideNames[l]; n != "" {
			cats = append(cats, n)
		}
	}
	rec := map[string]any{"id": t.ID, "technique": t.Technique, "related": nonNil(t.Related), "targets": nonNil(t.Targets),
		"owasp": nonNil(t.OWASP), "stride": nonNil(t.STRIDE), "linddun": nonNil(t.LINDDUN), "rmf": nonNil(t.RMF),
		"likelihood": t.Likelihood, "impact": t.Impact, "status": t.Status}
	return threat{ID: t.ID, Name: t.Title, Description: t.Description, Categories: cats,
		Risk:       threatRisk{Likelihood: t.Likelihood * 20, Impact: t.Impact * 20},
		Attributes: map[string]any{attrRecorded: rec}}
}

// mitigations lists the ATLAS mitigations and mlthreat controls the threats
// name, with the share of those threats' risk that the controls in place
// remove.
func mitigations(r *analysis.Report, used map[string]bool) []mitigation {
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	risk, removed := map[string]int{}, map[string]int{}
	for _, t := range r.Threats {
		for _, m := range t.Mitigations {
			risk[m.ID] += t.Risk
			removed[m.ID] += max(0, t.Risk-t.Residual.Score)
		}
	}
	out := make([]mitigation, 0, len(ids))
	for _, id := range ids {
		red := 0
		if risk[id] > 0 {
			red = int(math.Round(100 * float64(removed[id]) / float64(risk[id])))
		}
		desc := ""
		if m := r.Catalog.Mitigation(id); m != nil {
			desc = m.Summary
		} else if c := r.Catalog.Control(id); c != nil {
			desc = c.Summary
		}
		out = append(out, mitigation{ID: id, Name: orDefault(r.Catalog.Name(id), id), Description: desc, RiskReduction: red,
			Attributes: map[string]any{attrCatalogue: true}})
	}
	return out
}
