package ingest

import (
	"bytes"
	"path/filepath"
	"strings"
)

// frontMatter splits a Markdown file into its YAML front matter, the line the
// YAML starts after, and the body.
func frontMatter(name string, b []byte) (fm []byte, line int, body []byte, err error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	lines := bytes.SplitAfter(b, []byte("\n"))
	i := 0
	for i < len(lines) && len(bytes.TrimSpace(lines[i])) == 0 {
		i++
	}
	if i == len(lines) || string(bytes.TrimRight(lines[i], " \t\r\n")) != "---" {
		return nil, 0, nil, &Error{File: name, Line: i + 1, Col: 1, Msg: "no YAML front matter: a model card keeps its metadata between '---' lines at the top"}
	}
	open := i
	for j := open + 1; j < len(lines); j++ {
		t := string(bytes.TrimRight(lines[j], " \t\r\n"))
		if t == "---" || t == "..." {
			return bytes.Join(lines[open+1:j], nil), open + 1, bytes.Join(lines[j+1:], nil), nil
		}
	}
	return nil, 0, nil, &Error{File: name, Line: open + 1, Col: 1, Msg: "front matter opened here is never closed with '---'"}
}

func parseModelCard(name string, b []byte, lim Limits) (*Source, error) {
	fm, line, body, err := frontMatter(name, b)
	if err != nil {
		return nil, err
	}
	card, err := parseYAML(name, fm, line, lim)
	if err != nil {
		return nil, err
	}
	if card.node() != nil && !card.isMap() {
		n := card.node()
		return nil, &Error{File: name, Line: n.Line + line, Col: n.Column, Msg: "front matter is not a map of metadata keys"}
	}
	src := &Source{}
	m := &Component{Kind: "model", Primary: true, From: ""}
	// The card's title, or failing that the model it was tuned from.
	fromName := ""
	switch {
	case card.get("model_name").str() != "":
		m.Name, fromName = card.get("model_name").str(), "/model_name"
	case card.get("model-index").items(1) != nil && card.get("model-index").items(1)[0].get("name").str() != "":
		m.Name, fromName = card.get("model-index").items(1)[0].get("name").str(), "/model-index/0/name"
	default:
		if t := cardTitle(body); t != "" {
			m.Name = t
		}
	}
	bases := card.get("base_model").strs(lim.MaxItems)
	if m.Name == "" && len(bases) > 0 {
		short := bases[0][strings.LastIndexByte(bases[0], '/')+1:]
		m.Name = short + "-finetune"
		fromName = "/base_model"
	}
	if m.Name == "" {
		m.Name = cardFileName(name)
	}
	m.Name = clipN(m.Name, 120)
	src.add(m)
	if fromName != "" {
		src.System.Name = Fact{Value: m.Name, From: fromName}
	} else {
		src.System.Name = Fact{Value: m.Name}
	}

	if t := card.get("pipeline_tag").str(); t != "" {
		if ti, ok := lookupTask(t); ok {
			m.set("task", ti.task, "/pipeline_tag")
			if ti.modality != "" {
				m.set("modality", ti.modality, "/pipeline_tag")
			}
		} else {
			src.note("%s#/pipeline_tag: %q is not a task mlthreat knows", name, clipN(t, 60))
		}
	}
	tags := card.get("tags").strs(lim.MaxItems)
	for i, t := range tags {
		if ti, ok := lookupTask(t); ok && ti.task != "other" {
			m.set("task", ti.task, ptr("/tags", i))
			if ti.modality != "" {
				m.set("modality", ti.modality, ptr("/tags", i))
			}
		}
	}
	if f, i := formatOfTags(tags); f != "" {
		m.set("artifact_format", f, ptr("/tags", i))
	}

	relation := strings.ToLower(card.get("base_model_relation").str())
	for i, base := range bases {
		from := "/base_model"
		if card.get("base_model").isSeq() {
			from = ptr("/base_model", i)
		}
		if i == 0 {
			m.set("base_model", base, from)
			switch relation {
			case "", "adapter", "finetune", "fine-tune":
				m.set("origin", "fine-tuned", from)
			}
		}
		bm := src.add(&Component{Kind: "model", Name: base, From: from})
		if isHubID(base) {
			bm.set("origin", "open-weights", from)
			bm.set("artifact_source", "public-hub", from)
			bm.set("weights_public", true, from)
		}
		src.flow(bm, m, "Base weights the model was tuned from", "base-weights")
		src.data("base-weights", "Base model weights")
	}

	if lib := card.get("library_name").str(); lib != "" {
		addLibrary(src, lib, "", "/library_name")
	}

	for i, d := range card.get("datasets").strs(lim.MaxItems) {
		from := ptr("/datasets", i)
		if !card.get("datasets").isSeq() {
			from = "/datasets"
		}
		ds := cardDataset(src, d, from)
		ds.set("purpose", []string{"training"}, from)
		src.flow(ds, m, "Records the model was trained on", ds.Key)
	}

	for i, entry := range card.get("model-index").items(lim.MaxItems) {
		for j, res := range entry.get("results").items(lim.MaxItems) {
			rp := ptr("/model-index", i, "results", j)
			if t := res.get("task").get("type").str(); t != "" {
				if ti, ok := lookupTask(t); ok {
					m.set("task", ti.task, rp+"/task/type")
					if ti.modality != "" {
						m.set("modality", ti.modality, rp+"/task/type")
					}
				}
			}
			dn := res.get("dataset")
			id := dn.get("type").str()
			if id == "" {
				id = dn.get("name").str()
			}
			if id == "" {
				src.note("%s#%s: evaluation result names no dataset; skipped", name, rp)
				continue
			}
			ds := cardDataset(src, id, rp+"/dataset")
			if n := dn.get("name").str(); n != "" && ds.Description == "" && n != id {
				ds.Description = clip(n)
			}
			ds.set("purpose", []string{"evaluation"}, rp+"/dataset")
		}
	}
	return src, nil
}

// cardDataset adds a dataset named by a Hub id or a URL.
func cardDataset(src *Source, ref, from string) *Component {
	name := strings.TrimSpace(ref)
	if strings.Contains(name, "://") {
		if i := strings.IndexAny(name, " ("); i > 0 {
			name = name[:i]
		}
	}
	ds := src.add(&Component{Kind: "dataset", Name: clipN(name, 120), From: from})
	switch {
	case strings.HasPrefix(name, "https://") || strings.HasPrefix(name, "http://"):
		ds.set("origin", "public", from)
	case isHubID(name):
		// A Hub id is public unless the repository is private.
		ds.set("origin", "public", from)
		if f, ok := ds.Props["origin"]; ok && f.From == from {
			f.Weak = true
			ds.Props["origin"] = f
		}
	}
	return ds
}

// cardTitle is the first level-1 heading outside code, unless it is the
// stock template's placeholder.
func cardTitle(body []byte) string {
	fence := false
	for n, l := range bytes.Split(body, []byte("\n")) {
		if n > 2000 {
			break
		}
		t := strings.TrimSpace(string(l))
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = !fence
			continue
		}
		if fence || !strings.HasPrefix(t, "# ") {
			continue
		}
		t = strings.TrimSpace(strings.TrimPrefix(t, "# "))
		t = strings.TrimSpace(strings.TrimPrefix(t, "Model Card for "))
		if t == "" || t == "Model ID" || strings.Contains(t, "{{") {
			return ""
		}
		return t
	}
	return ""
}

// cardFileName names a card by its folder when the file is README.md.
func cardFileName(name string) string {
	base := filepath.Base(name)
	if strings.EqualFold(base, "README.md") {
		if d := filepath.Base(filepath.Dir(name)); d != "." && d != "/" {
			return d
		}
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}
