package ingest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Model is the starter system model assembled from one or more sources.
type Model struct {
	ID, Name, Description string
	NameFrom, DescFrom    string // file#pointer of the inferred name and description
	Owner, Criticality    string
	Platforms             []string
	TODO                  []string
	Artifacts             []Artifact
	Components            []*Component
	Flows                 []*OutFlow
	Data                  []*DataItem
	Notes                 []string // for the user: conflicts, what was skipped
}

// Artifact pins a metadata file the model was built from.
type Artifact struct{ Path, SHA256, Kind, Description string }

// OutFlow is a flow with final ids.
type OutFlow struct {
	ID, From, To  string
	Data          []string
	Description   string
	Bidirectional bool
}

// Options name the system when the metadata does not.
type Options struct{ ID, Name string }

// Build combines sources into one model: the models they describe merge
// into one, other components merge by kind and name, and whatever is still
// unknown becomes a TODO. It returns ErrNothing when no model, LLM or
// dataset was found.
func Build(sources []*Source, opt Options, ans *Answers) (*Model, error) {
	b := &builder{m: &Model{}, byKey: map[string]*Component{}, flowIdx: map[[2]string]*Flow{}}
	for _, s := range sources {
		b.source(s)
	}
	if n := len(b.m.Components); n > MaxComponents {
		return nil, fmt.Errorf("the metadata describes %d components; mlthreat init builds models of at most %d (split the input)", n, MaxComponents)
	}
	usable := false
	for _, c := range b.m.Components {
		if (c.Kind == "model" || c.Kind == "llm" || c.Kind == "dataset") && (len(c.Props) > 0 || len(b.m.Components) > 1) {
			usable = true
		}
	}
	if !usable {
		return nil, ErrNothing
	}
	b.doubtPublic()
	if ans != nil {
		b.answer(ans)
	}
	b.todos(ans)
	b.assignIDs(opt)
	b.platforms()
	return b.m, nil
}

// MaxComponents bounds a generated model, far below the loader's limits.
const MaxComponents = 5_000

type builder struct {
	m       *Model
	byKey   map[string]*Component
	primary *Component
	flows   []*Flow
	flowIdx map[[2]string]*Flow
}

func at(file, p string) string {
	if p == "" {
		return file
	}
	return file + "#" + p
}

func (b *builder) source(s *Source) {
	b.m.Artifacts = append(b.m.Artifacts, Artifact{Path: s.Name, SHA256: s.SHA256, Kind: artifactKind(s.Format), Description: formatName(s.Format)})
	if b.m.Name == "" {
		if n, ok := s.System.Name.Value.(string); ok && n != "" {
			b.m.Name, b.m.NameFrom = n, at(s.Name, s.System.Name.From)
		}
	}
	if b.m.Description == "" {
		if d, ok := s.System.Description.Value.(string); ok && d != "" {
			b.m.Description, b.m.DescFrom = d, at(s.Name, s.System.Description.From)
		}
	}
	b.m.Notes = append(b.m.Notes, s.Notes...)
	rekey := map[string]string{}
	var first *Component
	for _, c := range s.Components {
		if c.Primary && c.Kind == "model" {
			first = c
			break
		}
	}
	for _, c := range s.Components {
		into := b.byKey[c.Key]
		if into == nil && c == first && b.primary != nil {
			into = b.primary
		}
		if into == nil {
			nc := *c
			nc.Sources = []string{at(s.Name, c.From)}
			nc.Props = map[string]Fact{}
			for k, v := range c.Props {
				nc.Props[k] = Fact{Value: v.Value, From: at(s.Name, v.From), Weak: v.Weak}
			}
			nc.TODO = slices.Clone(c.TODO)
			b.m.Components = append(b.m.Components, &nc)
			b.byKey[nc.Key] = &nc
			if c == first && b.primary == nil {
				b.primary = &nc
			}
			rekey[c.Key] = nc.Key
			continue
		}
		rekey[c.Key] = into.Key
		b.mergeInto(into, c, s.Name)
	}
	for _, f := range s.Flows {
		b.addFlow(rekey[f.From], rekey[f.To], f.Description, f.Data, rekey)
	}
	for _, d := range s.Data {
		id := d.ID
		if k, ok := rekey[id]; ok {
			id = k
		}
		b.addData(&DataItem{ID: id, Name: d.Name, Classification: d.Classification, From: at(s.Name, d.From)})
	}
}

func (b *builder) mergeInto(into, c *Component, file string) {
	if into.Description == "" {
		into.Description = c.Description
	}
	if src := at(file, c.From); !slices.Contains(into.Sources, src) {
		into.Sources = append(into.Sources, src)
	}
	for _, k := range sortedKeys(c.Props) {
		v := c.Props[k]
		have, ok := into.Props[k]
		switch {
		case !ok, have.Weak && !v.Weak:
			into.Props[k] = Fact{Value: v.Value, From: at(file, v.From), Weak: v.Weak}
		case reflect.DeepEqual(have.Value, v.Value), v.Weak:
		default:
			if _, isList := have.Value.([]string); isList {
				into.set(k, v.Value, "")
				continue
			}
			b.m.Notes = append(b.m.Notes, fmt.Sprintf("%s says %s %s is %v; kept %v from %s",
				at(file, v.From), into.Name, k, v.Value, have.Value, have.From))
		}
	}
	for _, t := range c.TODO {
		if !slices.Contains(into.TODO, t) {
			into.TODO = append(into.TODO, t)
		}
	}
}

func sortedKeys(m map[string]Fact) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (b *builder) addFlow(from, to, desc string, data []string, rekey map[string]string) {
	if from == "" || to == "" || from == to {
		return
	}
	var mapped []string
	for _, d := range data {
		if k, ok := rekey[d]; ok {
			d = k
		}
		mapped = append(mapped, d)
	}
	if f := b.flowIdx[[2]string{from, to}]; f != nil {
		for _, d := range mapped {
			if !slices.Contains(f.Data, d) {
				f.Data = append(f.Data, d)
			}
		}
		return
	}
	f := &Flow{From: from, To: to, Data: mapped, Description: desc}
	b.flowIdx[[2]string{from, to}] = f
	b.flows = append(b.flows, f)
}

func (b *builder) addData(d *DataItem) {
	for _, have := range b.m.Data {
		if have.ID == d.ID {
			if have.Classification == "" {
				have.Classification, have.From = d.Classification, d.From
			}
			return
		}
	}
	b.m.Data = append(b.m.Data, d)
}

func (b *builder) add(c *Component) *Component {
	if have := b.byKey[c.Key]; have != nil {
		return have
	}
	if c.Props == nil {
		c.Props = map[string]Fact{}
	}
	b.m.Components = append(b.m.Components, c)
	b.byKey[c.Key] = c
	return c
}

func (b *builder) ofKind(kind string) []*Component {
	var out []*Component
	for _, c := range b.m.Components {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

func (b *builder) hasInflowFrom(to *Component, kind string) bool {
	for _, f := range b.flows {
		if f.To == to.Key && b.byKey[f.From] != nil && b.byKey[f.From].Kind == kind {
			return true
		}
	}
	return false
}

func todo(c *Component, field, question string) {
	for _, t := range c.TODO {
		if strings.HasPrefix(t, field+":") {
			return
		}
	}
	c.TODO = append(c.TODO, field+": "+question)
}

func (b *builder) systemTODO(field, question string) {
	for _, t := range b.m.TODO {
		if strings.HasPrefix(t, field+":") {
			return
		}
	}
	b.m.TODO = append(b.m.TODO, field+": "+question)
}

// doubtPublic drops a public origin guessed from a dataset's Hub id when
// another source classifies its data as not public.
func (b *builder) doubtPublic() {
	for _, c := range b.ofKind("dataset") {
		f, ok := c.Props["origin"]
		if !ok || !f.Weak {
			continue
		}
		for _, d := range b.m.Data {
			if d.ID == c.Key && d.Classification != "" && d.Classification != "public" {
				delete(c.Props, "origin")
				b.m.Notes = append(b.m.Notes, fmt.Sprintf("%s names dataset %s like a public Hub dataset, but %s classifies it %s; origin left open",
					f.From, c.Name, d.From, d.Classification))
			}
		}
	}
}

// todos asks, on each element, what the metadata could not say.
func (b *builder) todos(ans *Answers) {
	if b.m.Owner == "" {
		b.systemTODO("owner", "which team or person owns this system?")
	}
	if b.m.Criticality == "" {
		b.systemTODO("criticality", "how critical is it to the business: low, medium, high or critical?")
	}
	if len(b.ofKind("inference-api")) == 0 && (ans == nil || ans.Served == nil) {
		b.systemTODO("serving", "is the model served to callers? If so, add an inference-api component and the actors that call it (or run mlthreat init --interactive)")
	}
	if ans == nil || ans.Retrains == nil {
		b.systemTODO("feedback", "does the model learn from user feedback? If so, add a feedback component that flows into training")
	}
	for _, c := range b.m.Components {
		switch c.Kind {
		case "model":
			if !c.Primary {
				continue
			}
			if _, ok := c.Props["task"]; !ok {
				todo(c, "props.task", "what does the model do: classification, regression, detection, generation, embedding, ...?")
			}
			if _, ok := c.Props["modality"]; !ok {
				todo(c, "props.modality", "what is its main input: text, image, audio, video, tabular, time-series, graph or multimodal?")
			}
			if _, ok := c.Props["origin"]; !ok {
				todo(c, "props.origin", "was it built in-house, fine-tuned, bought from a third party, downloaded as open weights, or is it a vendor API?")
			}
			if _, ok := c.Props["artifact_format"]; !ok {
				todo(c, "props.artifact_format", "in which file format are the weights stored (pickle, joblib, pytorch, safetensors, onnx, ...)? Pickle-based formats run code on load")
			}
		case "dataset":
			if _, ok := c.Props["origin"]; !ok {
				todo(c, "props.origin", "where do the records come from: internal, public, third-party, scraped, user-generated, synthetic?")
			}
			if _, ok := c.Props["provenance_tracked"]; !ok {
				todo(c, "props.provenance_tracked", "are the origin and changes of records tracked (true or false)?")
			}
			if _, ok := c.Props["pii"]; !ok {
				todo(c, "props.pii", "do the records contain personal data (true or false)?")
			}
		case "inference-api":
			if c.Exposure == "" {
				todo(c, "exposure", "who can reach this API over the network: internet, partner, internal or isolated?")
			}
			if _, ok := c.Props["auth"]; !ok {
				todo(c, "props.auth", "how do callers authenticate: none, api-key, oauth2, oidc, jwt, mtls, basic, iam or session?")
			}
			if _, ok := c.Props["output"]; !ok {
				todo(c, "props.output", "what does a response carry: label, scores, logits, embeddings, text, structured? Scores help extraction and inversion")
			}
			if !b.hasInflowFrom(c, "actor") {
				todo(c, "callers", "who sends requests: public users, signed-in customers, partners, employees or other systems? Add an actor for each, with a flow to this API")
			}
		}
	}
}

// assignIDs derives unique slugs, then resolves flows and data to them.
func (b *builder) assignIDs(opt Options) {
	if opt.Name != "" {
		b.m.Name, b.m.NameFrom = opt.Name, ""
	}
	if b.m.Name == "" {
		b.m.Name = "ML system"
	}
	b.m.ID = opt.ID
	if b.m.ID == "" {
		b.m.ID = Slugify(b.m.Name)
	}
	if b.m.ID == "" {
		b.m.ID = "ml-system"
	}
	taken := ids{}
	keyID := map[string]string{}
	for _, c := range b.m.Components {
		base := c.Slug
		if base == "" {
			base = Slugify(c.Name)
		}
		c.id = taken.take(base, c.Kind)
		keyID[c.Key] = c.id
	}
	dataIDs := ids{}
	dataID := map[string]string{}
	for _, d := range b.m.Data {
		base := d.ID
		if id, ok := keyID[d.ID]; ok {
			base = id
			if c := b.byKey[d.ID]; c != nil && d.Name == "" {
				d.Name = c.Name
			}
		}
		dataID[d.ID] = dataIDs.take(base, "data")
		d.ID = dataID[d.ID]
	}
	for _, f := range b.flows {
		var data []string
		for _, d := range f.Data {
			id, ok := dataID[d]
			if !ok {
				name := d
				base := d
				if c := b.byKey[d]; c != nil {
					name, base = c.Name, c.id
				}
				id = dataIDs.take(base, "data")
				dataID[d] = id
				b.m.Data = append(b.m.Data, &DataItem{ID: id, Name: name})
			}
			data = append(data, id)
		}
		from, to := keyID[f.From], keyID[f.To]
		if from == "" || to == "" {
			continue
		}
		b.m.Flows = append(b.m.Flows, &OutFlow{ID: taken.next("f"), From: from, To: to, Data: data, Description: f.Description, Bidirectional: f.Bidirectional})
	}
}

// ID is the component's id once Build has assigned it.
func (c *Component) ID() string { return c.id }

// platforms follow from the components: an LLM or a generative model makes
// the system generative, any other model predictive.
func (b *builder) platforms() {
	gen, pred := false, false
	for _, c := range b.m.Components {
		switch c.Kind {
		case "llm":
			gen = true
		case "model":
			if !c.Primary {
				continue
			}
			switch c.Props["task"].Value {
			case "generation":
				gen = true
			case nil:
			default:
				pred = true
			}
		case "agent":
			b.m.Platforms = append(b.m.Platforms, "agentic")
		}
	}
	var out []string
	if pred {
		out = append(out, "predictive")
	}
	if gen {
		out = append(out, "generative")
	}
	b.m.Platforms = append(out, b.m.Platforms...)
}

func artifactKind(f Format) string {
	switch f {
	case CycloneDX:
		return "ml-bom"
	case ModelCard:
		return "model-card"
	}
	return "config"
}

func formatName(f Format) string {
	switch f {
	case CycloneDX:
		return "CycloneDX ML-BOM"
	case ModelCard:
		return "Hugging Face model card"
	}
	return "MLflow MLmodel file"
}

// HasKind reports whether the model has a component of the kind.
func (m *Model) HasKind(kind string) bool {
	for _, c := range m.Components {
		if c.Kind == kind {
			return true
		}
	}
	return false
}

// Generative reports whether the model's platforms include generative AI.
func (m *Model) Generative() bool { return slices.Contains(m.Platforms, "generative") }
