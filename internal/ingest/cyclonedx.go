package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// rawBOM mirrors the parts of a BOM that cyclonedx-go does not keep:
// modelCard.properties is dropped by its model-card type.
type rawBOM struct {
	BOMFormat   string    `json:"bomFormat"`
	SpecVersion string    `json:"specVersion"`
	Components  []rawComp `json:"components"`
}

type rawComp struct {
	Components []rawComp `json:"components"`
	ModelCard  *struct {
		Properties []cdx.Property `json:"properties"`
	} `json:"modelCard"`
}

type cdxReader struct {
	src   *Source
	name  string
	lim   Limits
	byRef map[string]*Component // bom-ref -> component
	refs  map[string]string     // bom-ref -> pointer
	data  map[string]cdx.Component
	skip  map[string]int
}

func parseCycloneDX(name string, b []byte, lim Limits) (*Source, error) {
	if off, ok := jsonDepthOK(b, lim.MaxDepth); !ok {
		l, c := lineCol(b, off)
		return nil, &Error{File: name, Line: l, Col: c, Msg: fmt.Sprintf("JSON nested deeper than %d levels; a BOM needs far fewer", lim.MaxDepth)}
	}
	var raw rawBOM
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, jsonError(name, b, err)
	}
	if raw.BOMFormat != "CycloneDX" {
		return nil, &Error{File: name, Msg: fmt.Sprintf("bomFormat is %q; expected \"CycloneDX\"", raw.BOMFormat)}
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		if errors.Is(err, cdx.ErrInvalidSpecVersion) {
			return nil, &Error{File: name, Msg: fmt.Sprintf("specVersion %q is not a CycloneDX version; model cards need 1.5 or later", raw.SpecVersion)}
		}
		return nil, jsonError(name, b, err)
	}
	r := &cdxReader{src: &Source{}, name: name, lim: lim, byRef: map[string]*Component{}, refs: map[string]string{},
		data: map[string]cdx.Component{}, skip: map[string]int{}}
	if n := countComponents(bom.Components); n > lim.MaxComponents {
		return nil, &Error{File: name, Msg: fmt.Sprintf("BOM lists %d components, over the limit of %d", n, lim.MaxComponents)}
	}
	if bom.SpecVersion < cdx.SpecVersion1_5 {
		r.src.note("%s: CycloneDX %s predates model cards (1.5); only components are read", name, bom.SpecVersion)
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		mc := bom.Metadata.Component
		if mc.Type == cdx.ComponentTypeApplication || mc.Type == cdx.ComponentTypeMachineLearningModel {
			r.src.System.Name = Fact{Value: fullName(*mc), From: "/metadata/component/name"}
			if d := clip(mc.Description); d != "" {
				r.src.System.Description = Fact{Value: d, From: "/metadata/component/description"}
			}
		}
	}
	var comps []cdx.Component
	if bom.Components != nil {
		comps = *bom.Components
	}
	r.collectData(comps, "/components")
	r.walk(comps, raw.Components, "/components")
	if bom.Services != nil {
		r.services(*bom.Services, bom.Dependencies)
	}
	for typ, n := range r.skip {
		r.src.note("%s: %d %s component(s) not modelled", name, n, typ)
	}
	sortNotes(r.src.Notes)
	return r.src, nil
}

func countComponents(cs *[]cdx.Component) int {
	if cs == nil {
		return 0
	}
	n := len(*cs)
	for i := range *cs {
		n += countComponents((*cs)[i].Components)
	}
	return n
}

// collectData indexes data components so that model cards can point at them.
func (r *cdxReader) collectData(cs []cdx.Component, base string) {
	for i, c := range cs {
		p := ptr(base, i)
		if c.Type == cdx.ComponentTypeData && c.BOMRef != "" {
			r.data[c.BOMRef] = c
			r.refs[c.BOMRef] = p
		}
		if c.Components != nil {
			r.collectData(*c.Components, p+"/components")
		}
	}
}

func (r *cdxReader) walk(cs []cdx.Component, raw []rawComp, base string) {
	for i, c := range cs {
		p := ptr(base, i)
		var rc rawComp
		if i < len(raw) {
			rc = raw[i]
		}
		switch c.Type {
		case cdx.ComponentTypeMachineLearningModel:
			r.model(c, rc, p)
		case cdx.ComponentTypeData:
			r.dataset(c, p)
		case cdx.ComponentTypeLibrary, cdx.ComponentTypeFramework:
			r.library(c, p)
		case cdx.ComponentTypeContainer:
			d := r.src.add(&Component{Kind: "dependency", Name: fullName(c), From: p})
			d.set("type", "container-image", p+"/type")
			d.set("ecosystem", "container", p+"/type")
			if c.Version != "" {
				d.set("version", c.Version, p+"/version")
			}
			r.remember(c.BOMRef, d, p)
		default:
			r.skip[string(c.Type)]++
		}
		if c.Components != nil {
			r.walk(*c.Components, rc.Components, p+"/components")
		}
	}
}

func (r *cdxReader) remember(ref string, c *Component, p string) {
	if ref != "" {
		r.byRef[ref] = c
		r.refs[ref] = p
	}
}

func fullName(c cdx.Component) string {
	if c.Group != "" && !strings.Contains(c.Name, "/") {
		return c.Group + "/" + c.Name
	}
	return c.Name
}

func (r *cdxReader) model(c cdx.Component, rc rawComp, p string) {
	m := r.src.add(&Component{Kind: "model", Name: fullName(c), Description: clip(c.Description), From: p, Primary: true})
	r.remember(c.BOMRef, m, p)
	if r.src.System.Name.Value == nil {
		r.src.System.Name = Fact{Value: fullName(c), From: p + "/name"}
		if d := clip(c.Description); d != "" {
			r.src.System.Description = Fact{Value: d, From: p + "/description"}
		}
	}
	if c.Version != "" {
		m.set("version", c.Version, p+"/version")
	}
	switch {
	case c.Publisher != "":
		m.set("vendor", c.Publisher, p+"/publisher")
	case c.Supplier != nil && c.Supplier.Name != "":
		m.set("vendor", c.Supplier.Name, p+"/supplier/name")
	}
	if mc := c.ModelCard; mc != nil && mc.ModelParameters != nil {
		mp := mc.ModelParameters
		pp := p + "/modelCard/modelParameters"
		if mp.Task != "" {
			if t, ok := lookupTask(mp.Task); ok {
				m.set("task", t.task, pp+"/task")
				if t.modality != "" {
					m.set("modality", t.modality, pp+"/task")
				}
			} else {
				m.TODO = append(m.TODO, fmt.Sprintf("props.task: the model card says %q, which names no known task; set one of classification, regression, detection, segmentation, ranking, recommendation, generation, embedding, clustering, anomaly-detection, forecasting, speech-recognition, translation, other", clipN(mp.Task, 60)))
			}
		}
		if mp.Inputs != nil {
			if mod, at := ioModalities(*mp.Inputs); mod != "" {
				m.set("modality", mod, ptr(pp+"/inputs", at, "format"))
			}
		}
		if mp.Datasets != nil {
			for j, d := range *mp.Datasets {
				dp := ptr(pp+"/datasets", j)
				var ds *Component
				switch {
				case d.Ref != "":
					if dc, ok := r.data[d.Ref]; ok {
						ds = r.dataset(dc, r.refs[d.Ref])
					} else {
						r.src.note("%s#%s: dataset ref %q names no data component", r.name, dp, clipN(d.Ref, 80))
					}
				case d.ComponentData != nil:
					ds = r.componentData(*d.ComponentData, dp)
				}
				if ds != nil {
					ds.set("purpose", []string{"training"}, dp)
					r.src.flow(ds, m, "Records the model was trained on", ds.Key)
				}
			}
		}
	}
	r.properties(m, c.Properties, p+"/properties")
	if rc.ModelCard != nil {
		r.properties(m, &rc.ModelCard.Properties, p+"/modelCard/properties")
	}
	if c.Pedigree != nil && c.Pedigree.Ancestors != nil && len(*c.Pedigree.Ancestors) > 0 {
		anc := (*c.Pedigree.Ancestors)[0]
		ap := p + "/pedigree/ancestors/0"
		if fullName(anc) != "" {
			m.set("base_model", fullName(anc), ap+"/name")
			m.set("origin", "fine-tuned", ap)
			base := r.src.add(&Component{Kind: "model", Name: fullName(anc), From: ap})
			if src, from := hubSource(anc, ap); src != "" {
				base.set("origin", "open-weights", from)
				base.set("artifact_source", src, from)
			}
			r.src.flow(base, m, "Base weights the model was fine-tuned from", "base-weights")
			r.src.data("base-weights", "Base model weights")
		}
	}
	if src, from := hubSource(c, p); src != "" {
		m.set("artifact_source", src, from)
		m.set("origin", "open-weights", from)
	}
	if c.ExternalReferences != nil {
		for j, e := range *c.ExternalReferences {
			if f := formatOfFile(e.URL); f != "" && (e.Type == cdx.ERTypeDistribution || e.Type == cdx.ERTypeDistributionIntake) {
				m.set("artifact_format", f, ptr(p+"/externalReferences", j, "url"))
			}
		}
	}
}

// hubSource says whether the BOM distributes the model from a public hub.
func hubSource(c cdx.Component, p string) (string, string) {
	if strings.HasPrefix(c.PackageURL, "pkg:huggingface/") {
		return "public-hub", p + "/purl"
	}
	if c.ExternalReferences != nil {
		for j, e := range *c.ExternalReferences {
			if e.Type == cdx.ERTypeDistribution && isHubURL(e.URL) {
				return "public-hub", ptr(p+"/externalReferences", j, "url")
			}
		}
	}
	return "", ""
}

func ioModalities(in []cdx.MLInputOutputParameters) (string, int) {
	mod, at := "", -1
	for i, x := range in {
		m := ioModality(x.Format)
		switch {
		case m == "":
			continue
		case mod == "":
			mod, at = m, i
		case mod != m:
			return "multimodal", 0
		}
	}
	return mod, at
}

// properties applies the property names the builder understands; a
// "mlthreat:PROP" property sets a model prop directly.
func (r *cdxReader) properties(m *Component, ps *[]cdx.Property, base string) {
	if ps == nil {
		return
	}
	unknown := 0
	for j, pr := range *ps {
		if j >= r.lim.MaxItems {
			break
		}
		from := ptr(base, j, "value")
		if !applyProperty(r.src, m, pr.Name, pr.Value, from) {
			unknown++
		}
	}
	switch {
	case unknown == 1:
		r.src.note("%s#%s: 1 property with no mlthreat meaning kept out", r.name, base)
	case unknown > 1:
		r.src.note("%s#%s: %d properties with no mlthreat meaning kept out", r.name, base, unknown)
	}
}

// applyProperty maps one name/value pair from a BOM or card onto m.
func applyProperty(src *Source, m *Component, name, value, from string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if p, ok := strings.CutPrefix(n, "mlthreat:"); ok {
		if v, ok := propValue(m.Kind, p, value); ok {
			m.set(canonicalProp(m.Kind, p), v, from)
			return true
		}
		src.note("%s: property %q: %q is not a valid value of prop %s for kind %s", from, name, clipN(value, 40), p, m.Kind)
		return true
	}
	for _, pre := range []string{"modelcard:", "huggingface:", "hf:", "cdx:"} {
		n = strings.TrimPrefix(n, pre)
	}
	n = strings.NewReplacer("-", "_", " ", "_").Replace(n)
	v := strings.TrimSpace(value)
	if v == "" {
		return false
	}
	switch n {
	case "base_model", "basemodel":
		m.set("base_model", v, from)
		m.set("origin", "fine-tuned", from)
	case "pipeline_tag", "task":
		t, ok := lookupTask(v)
		if !ok {
			return false
		}
		m.set("task", t.task, from)
		if t.modality != "" {
			m.set("modality", t.modality, from)
		}
	case "artifact_format", "format", "serialization", "serialization_format", "weights_format":
		f := artifactFormat(v)
		if f == "" {
			return false
		}
		m.set("artifact_format", f, from)
	case "library_name", "library", "framework":
		addLibrary(src, v, "", from)
	default:
		return false
	}
	return true
}

// artifactFormat normalises a serialisation name.
func artifactFormat(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "pickle", "cloudpickle", "dill", "pkl":
		return "pickle"
	case "joblib":
		return "joblib"
	case "pytorch", "torch", "pt", "pth":
		return "pytorch"
	case "safetensors":
		return "safetensors"
	case "onnx":
		return "onnx"
	case "gguf", "ggml":
		return "gguf"
	case "savedmodel", "tf", "tensorflow", "saved_model", "tensorflow-savedmodel":
		return "tensorflow-savedmodel"
	case "h5", "keras", "keras-h5", "hdf5":
		return "keras-h5"
	case "tflite", "coreml", "pmml":
		return v
	}
	return formatOfFile(v)
}

// addLibrary adds a dependency component for an ML library.
func addLibrary(src *Source, name, version, from string) *Component {
	lib, known := lookupLibrary(name)
	pkg := strings.ToLower(strings.TrimSpace(name))
	if known {
		pkg = lib.pkg
	}
	d := src.add(&Component{Kind: "dependency", Name: pkg, From: from})
	typ := "library"
	if lib.framework {
		typ = "framework"
	}
	d.set("type", typ, from)
	if known && pkg != "gguf" {
		d.set("ecosystem", "pypi", from)
	}
	if lib.loads {
		d.set("loads_models", true, from)
	}
	if version != "" {
		d.set("version", version, from)
	}
	return d
}

func (r *cdxReader) library(c cdx.Component, p string) {
	lib, known := lookupLibrary(c.Name)
	if !known && c.Type != cdx.ComponentTypeFramework {
		r.skip["non-ML "+string(c.Type)]++
		return
	}
	name := c.Name
	if known {
		name = lib.pkg
	}
	d := r.src.add(&Component{Kind: "dependency", Name: name, From: p})
	typ := "library"
	if c.Type == cdx.ComponentTypeFramework || lib.framework {
		typ = "framework"
	}
	d.set("type", typ, p+"/type")
	if eco := purlEcosystem(c.PackageURL); eco != "" {
		d.set("ecosystem", eco, p+"/purl")
	}
	if c.Version != "" {
		d.set("version", c.Version, p+"/version")
	}
	if lib.loads {
		d.set("loads_models", true, p+"/name")
	}
	r.remember(c.BOMRef, d, p)
}

// dataset maps a data component; its first data entry describes it.
func (r *cdxReader) dataset(c cdx.Component, p string) *Component {
	if c.Data != nil && len(*c.Data) > 0 {
		d := (*c.Data)[0]
		if d.Name == "" {
			d.Name = c.Name
		}
		ds := r.componentData(d, p+"/data/0")
		r.remember(c.BOMRef, ds, p)
		return ds
	}
	ds := r.src.add(&Component{Kind: "dataset", Name: fullName(c), Description: clip(c.Description), From: p})
	r.remember(c.BOMRef, ds, p)
	return ds
}

func (r *cdxReader) componentData(d cdx.ComponentData, p string) *Component {
	name := d.Name
	url := ""
	if d.Contents != nil {
		url = d.Contents.URL
	}
	if name == "" {
		name = url
	}
	if name == "" {
		name = "dataset"
	}
	ds := r.src.add(&Component{Kind: "dataset", Name: name, Description: clip(d.Description), From: p})
	switch strings.ToLower(d.Classification) {
	case "public":
		ds.set("origin", "public", p+"/classification")
	}
	if url != "" && isHubURL(url) {
		ds.set("origin", "public", p+"/contents/url")
	}
	if d.SensitiveData != nil && len(*d.SensitiveData) > 0 {
		ds.set("pii", true, p+"/sensitiveData")
	}
	if c := dataClass(d.Classification); c != "" {
		r.src.Data = append(r.src.Data, &DataItem{ID: ds.Key, Name: name, Classification: c, From: p + "/classification"})
	}
	return ds
}

// dataClass maps a CycloneDX data classification onto the model's.
func dataClass(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "public":
		return "public"
	case "internal", "private":
		return "internal"
	case "confidential", "sensitive":
		return "confidential"
	case "restricted", "secret":
		return "restricted"
	}
	return ""
}

// services become inference APIs when the dependency graph says they serve
// a model of the BOM.
func (r *cdxReader) services(ss []cdx.Service, deps *[]cdx.Dependency) {
	serves := map[string]string{}
	if deps != nil {
		for _, d := range *deps {
			if d.Dependencies == nil {
				continue
			}
			for _, on := range *d.Dependencies {
				if c := r.byRef[on]; c != nil && c.Kind == "model" {
					serves[d.Ref] = on
				}
			}
		}
	}
	for i, s := range ss {
		p := ptr("/services", i)
		ref, ok := serves[s.BOMRef]
		if !ok || s.BOMRef == "" {
			r.skip["service"]++
			continue
		}
		api := r.src.add(&Component{Kind: "inference-api", Name: s.Name, Description: clip(s.Description), From: p})
		if s.Authenticated != nil && !*s.Authenticated {
			api.set("auth", "none", p+"/authenticated")
		}
		if s.Version != "" {
			api.set("version", s.Version, p+"/version")
		}
		m := r.byRef[ref]
		r.src.flow(api, m, "Prediction requests", "request")
		r.src.flow(m, api, "Predictions", "prediction")
		r.src.data("request", "Prediction request")
		r.src.data("prediction", "Prediction")
	}
}

// jsonError words a JSON decoding error with its position.
func jsonError(name string, b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(b, int(se.Offset)-1)
		return &Error{File: name, Line: l, Col: c, Msg: "JSON syntax error: " + se.Error()}
	case errors.As(err, &te):
		l, c := lineCol(b, int(te.Offset)-1)
		where := te.Field
		if where == "" {
			where = "a value"
		}
		return &Error{File: name, Line: l, Col: c, Msg: fmt.Sprintf("%s is a JSON %s; the CycloneDX schema wants %s", where, te.Value, te.Type)}
	}
	return &Error{File: name, Msg: "not a valid CycloneDX BOM: " + err.Error()}
}

// jsonDepthOK scans JSON for nesting beyond max, outside strings.
func jsonDepthOK(b []byte, max int) (int, bool) {
	depth, inStr, esc := 0, false, false
	for i, ch := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case ch == '\\':
				esc = true
			case ch == '"':
				inStr = false
			}
			continue
		}
		switch ch {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > max {
				return i, false
			}
		case '}', ']':
			depth--
		}
	}
	return 0, true
}

// clip shortens free text for a description.
func clip(s string) string { return clipN(strings.Join(strings.Fields(s), " "), 300) }

func clipN(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
