package ingest

import (
	"encoding/json"
	"path/filepath"
	"strings"
)

// flavorInfo says what an MLflow flavor tells about the model: the library
// behind it, the key holding the library's version, and the artifact format.
type flavorInfo struct {
	lib, versionKey, format string
}

var flavors = map[string]flavorInfo{
	"sklearn":               {"sklearn", "sklearn_version", ""},
	"pytorch":               {"pytorch", "pytorch_version", "pytorch"},
	"tensorflow":            {"tensorflow", "tensorflow_version", "tensorflow-savedmodel"},
	"keras":                 {"keras", "keras_version", ""},
	"onnx":                  {"onnx", "onnx_version", "onnx"},
	"xgboost":               {"xgboost", "xgb_version", ""},
	"lightgbm":              {"lightgbm", "lgb_version", ""},
	"catboost":              {"catboost", "catboost_version", ""},
	"transformers":          {"transformers", "transformers_version", ""},
	"sentence_transformers": {"sentence-transformers", "sentence_transformers_version", ""},
	"spacy":                 {"spacy", "spacy_version", ""},
	"statsmodels":           {"statsmodels", "statsmodels_version", "pickle"},
	"prophet":               {"prophet", "prophet_version", ""},
	"h2o":                   {"h2o", "h2o_version", ""},
	"langchain":             {"langchain", "langchain_version", ""},
	"llama_index":           {"llama-index", "llama_index_version", ""},
	"dspy":                  {"dspy", "dspy_version", ""},
	"openai":                {"openai", "openai_version", ""},
}

type mlflowReader struct {
	src  *Source
	name string
	lim  Limits
	doc  ynode
}

func parseMLmodel(name string, b []byte, lim Limits) (*Source, error) {
	doc, err := parseYAML(name, b, 0, lim)
	if err != nil {
		return nil, err
	}
	if !doc.isMap() || !doc.get("flavors").isMap() {
		line := 1
		if n := doc.node(); n != nil {
			line = n.Line
		}
		return nil, &Error{File: name, Line: line, Col: 1, Msg: "no flavors: map at the top level; an MLmodel file lists the flavors the model can be loaded with"}
	}
	r := &mlflowReader{src: &Source{}, name: name, lim: lim, doc: doc}
	r.read()
	sortNotes(r.src.Notes)
	return r.src, nil
}

func (r *mlflowReader) read() {
	modelName := mlmodelName(r.name, r.doc.get("artifact_path").str())
	r.src.System.Name = Fact{Value: modelName}
	fl := r.doc.get("flavors")
	names := fl.keys()
	if len(names) > r.lim.MaxItems {
		names = names[:r.lim.MaxItems]
	}
	isChain := firstChain(names) != ""
	var m *Component // the logged model, unless the flavor is a chain
	if !isChain {
		m = r.src.add(&Component{Kind: "model", Name: modelName, Primary: true})
	}
	target := m
	for _, fname := range names {
		f := fl.get(fname)
		fp := ptr("/flavors", fname)
		switch fname {
		case "python_function":
			continue
		case "langchain", "llama_index", "dspy":
			target = r.chain(fname, f, fp)
		case "openai":
			target = r.openai(f, fp)
		}
		info, ok := flavors[fname]
		if !ok {
			r.src.note("%s#%s: flavor %q not modelled", r.name, fp, fname)
			continue
		}
		dep := addLibrary(r.src, info.lib, "", fp)
		if v := f.get(info.versionKey).str(); v != "" {
			dep.Props["version"] = Fact{Value: v, From: fp + "/" + info.versionKey}
		}
		if m == nil {
			continue
		}
		if info.format != "" {
			m.set("artifact_format", info.format, fp)
		}
		r.flavorFormat(m, fname, f, fp)
	}
	if pf := fl.get("python_function"); pf.isMap() {
		fp := "/flavors/python_function"
		if m != nil {
			for _, k := range []string{"python_model", "model_path", "data"} {
				if f := formatOfFile(pf.get(k).str()); f != "" {
					m.set("artifact_format", f, fp+"/"+k)
				}
			}
		}
		if p := pf.get("model_code_path").str(); p != "" {
			r.src.note("%s#%s/model_code_path: the model is Python code run when it loads (%s)", r.name, fp, clipN(p, 80))
		}
	}
	if v := r.doc.get("mlflow_version").str(); v != "" {
		d := addLibrary(r.src, "mlflow", "", "/mlflow_version")
		d.Props["version"] = Fact{Value: v, From: "/mlflow_version"}
	}
	if target != nil {
		r.signature(target)
	}
	if r.doc.get("run_id").str() != "" {
		t := r.src.add(&Component{Kind: "experiment-tracking", Name: "MLflow tracking server", From: "/run_id", Slug: "mlflow-tracking"})
		t.set("stores_artifacts", true, "/run_id")
		if r.doc.get("saved_input_example_info").isMap() {
			t.set("logs_data_samples", true, "/saved_input_example_info")
		}
		if r.doc.get("databricks_runtime").str() != "" {
			t.set("vendor", "Databricks", "/databricks_runtime")
			t.set("hosting", "managed", "/databricks_runtime")
		}
		if m != nil {
			r.src.flow(t, m, "The logged model artifact is loaded from the run", "model-artifact")
			r.src.data("model-artifact", "Model artifact")
		}
	}
}

func firstChain(names []string) string {
	for _, n := range names {
		switch n {
		case "langchain", "llama_index", "dspy", "openai":
			return n
		}
	}
	return ""
}

// mlmodelName names the model after its folder, the way MLflow lays it out.
func mlmodelName(file, artifactPath string) string {
	if strings.EqualFold(filepath.Base(file), "MLmodel") {
		if d := filepath.Base(filepath.Dir(file)); d != "." && d != "/" && d != "" {
			return d
		}
	}
	if artifactPath != "" {
		return clipN(artifactPath, 80)
	}
	return "mlflow-model"
}

func (r *mlflowReader) flavorFormat(m *Component, fname string, f ynode, fp string) {
	switch fname {
	case "sklearn":
		if v := artifactFormat(f.get("serialization_format").str()); v != "" {
			m.set("artifact_format", v, fp+"/serialization_format")
		}
		if v := formatOfFile(f.get("pickled_model").str()); v != "" {
			m.set("artifact_format", v, fp+"/pickled_model")
		}
	case "keras":
		switch f.get("save_format").str() {
		case "tf":
			m.set("artifact_format", "tensorflow-savedmodel", fp+"/save_format")
		case "h5":
			m.set("artifact_format", "keras-h5", fp+"/save_format")
		}
	case "transformers":
		if t := f.get("task").str(); t != "" {
			if ti, ok := lookupTask(t); ok {
				m.set("task", ti.task, fp+"/task")
				if ti.modality != "" {
					m.set("modality", ti.modality, fp+"/task")
				}
			}
		}
		if src := f.get("source_model_name").str(); src != "" && isHubID(src) && !strings.HasPrefix(src, ".") {
			m.set("origin", "open-weights", fp+"/source_model_name")
		}
	}
}

// chain models a LangChain (or similar) flavor: the LLM it calls, and the
// retriever, vector index and embedding model of a RAG chain.
func (r *mlflowReader) chain(fname string, f ynode, fp string) *Component {
	dd := f.get("databricks_dependency")
	res := r.doc.get("resources").get("databricks")
	chats := dd.get("databricks_chat_endpoint_name").strs(r.lim.MaxItems)
	chats = append(chats, dd.get("databricks_llm_endpoint_name").strs(r.lim.MaxItems)...)
	embeds := dd.get("databricks_embeddings_endpoint_name").strs(r.lim.MaxItems)
	type named struct{ name, from string }
	var indexes []named
	for i, n := range dd.get("databricks_vector_search_index_name").strs(r.lim.MaxItems) {
		indexes = append(indexes, named{n, ptr(fp+"/databricks_dependency/databricks_vector_search_index_name", i)})
	}
	known := map[string]bool{}
	for _, n := range append(append([]string{}, chats...), embeds...) {
		known[n] = true
	}
	for i, e := range res.get("serving_endpoint").items(r.lim.MaxItems) {
		if n := e.get("name").str(); n != "" && !known[n] {
			r.src.note("%s#%s: serving endpoint %q is used by the chain; model it as an llm or model", r.name, ptr("/resources/databricks/serving_endpoint", i, "name"), clipN(n, 80))
		}
	}
	for i, e := range res.get("vector_search_index").items(r.lim.MaxItems) {
		n := e.get("name").str()
		dup := false
		for _, x := range indexes {
			dup = dup || x.name == n
		}
		if n != "" && !dup {
			indexes = append(indexes, named{n, ptr("/resources/databricks/vector_search_index", i, "name")})
		}
	}
	for _, k := range []string{"function", "genie_space", "sql_warehouse", "table", "uc_connection"} {
		if n := len(res.get(k).items(r.lim.MaxItems)); n > 0 {
			r.src.note("%s#/resources/databricks/%s: %d resource(s) not modelled", r.name, k, n)
		}
	}
	var llm *Component
	for i, n := range chats {
		from := ptr(fp+"/databricks_dependency/databricks_chat_endpoint_name", i)
		c := r.src.add(&Component{Kind: "llm", Name: n, From: from})
		c.set("provider", "other-api", from)
		c.set("vendor", "Databricks", from)
		c.set("hosting", "managed", from)
		if llm == nil {
			llm = c
		}
	}
	if llm == nil {
		llm = r.src.add(&Component{Kind: "llm", Name: "LLM called by the " + fname + " chain", From: fp, Slug: "llm"})
		llm.TODO = append(llm.TODO, "props.provider: which LLM does the chain call (self-hosted, openai, anthropic, google, azure-openai, aws-bedrock, mistral, cohere, other-api)?")
	}
	if len(indexes) == 0 {
		return llm
	}
	ret := r.src.add(&Component{Kind: "retriever", Name: "Retrieval step of the " + fname + " chain", From: fp, Slug: "retriever"})
	ret.set("sources", []string{"vector-store"}, indexes[0].from)
	for _, ix := range indexes {
		from := ix.from
		vs := r.src.add(&Component{Kind: "vector-store", Name: ix.name, From: from})
		vs.set("vendor", "Databricks", from)
		vs.set("hosting", "managed", from)
		vs.set("stores_source_text", true, from)
		r.src.flow(ret, vs, "Similarity search", "query")
		r.src.flow(vs, ret, "Retrieved chunks", "chunks")
	}
	for i, n := range embeds {
		from := ptr(fp+"/databricks_dependency/databricks_embeddings_endpoint_name", i)
		em := r.src.add(&Component{Kind: "model", Name: n, From: from})
		em.set("task", "embedding", from)
		em.set("modality", "text", from)
		em.set("vendor", "Databricks", from)
		em.set("hosting", "managed", from)
		r.src.flow(ret, em, "Query text to embed", "query")
	}
	llm.set("context_sources", []string{"user-input", "retrieved-documents"}, fp+"/databricks_dependency")
	r.src.flow(ret, llm, "Question with retrieved context", "query", "chunks")
	r.src.data("query", "User question")
	r.src.data("chunks", "Retrieved document chunks")
	return ret
}

// openai models the MLflow openai flavor: a vendor API call.
func (r *mlflowReader) openai(f ynode, fp string) *Component {
	name := f.get("model").str()
	if name == "" {
		name = "OpenAI model"
	}
	c := r.src.add(&Component{Kind: "llm", Name: name, From: fp})
	c.set("provider", "openai", fp)
	c.set("origin", "vendor-api", fp)
	return c
}

// signature reads the input schema; with a python_function flavor it also
// means the model is packaged to be served behind a REST endpoint.
func (r *mlflowReader) signature(target *Component) {
	sig := r.doc.get("signature")
	in := sig.get("inputs").str()
	if in == "" {
		return
	}
	var cols []struct {
		Type       string          `json:"type"`
		Name       string          `json:"name"`
		Items      json.RawMessage `json:"items"`
		TensorSpec *struct {
			Shape []int `json:"shape"`
		} `json:"tensor-spec"`
	}
	if len(in) > 1<<20 || json.Unmarshal([]byte(in), &cols) != nil || len(cols) == 0 {
		r.src.note("%s#/signature/inputs: not a JSON list of columns; ignored", r.name)
		return
	}
	mod := ""
	numeric, text := 0, 0
	for _, c := range cols {
		switch c.Type {
		case "string":
			text++
		case "double", "float", "long", "integer", "boolean", "datetime":
			numeric++
		case "array", "object":
			if c.Name == "messages" || strings.Contains(string(c.Items), `"content"`) {
				text++
			}
		case "tensor":
			if c.TensorSpec != nil && len(c.TensorSpec.Shape) == 4 {
				mod = "image"
			}
		}
	}
	switch {
	case mod != "":
	case numeric > 0:
		mod = "tabular"
	case text > 0:
		mod = "text"
	}
	if mod != "" && target.Kind == "model" {
		target.set("modality", mod, "/signature/inputs")
	}
	if !r.doc.get("flavors").get("python_function").isMap() {
		return
	}
	api := r.src.add(&Component{Kind: "inference-api", Name: "Model serving endpoint", From: "/signature", Slug: "api"})
	if out := sig.get("outputs").str(); strings.Contains(out, `"type": "string"`) || strings.Contains(out, `"type":"string"`) {
		api.set("output", "text", "/signature/outputs")
	}
	switch target.Kind {
	case "retriever":
		r.src.flow(api, target, "User question", "query")
		for _, f := range r.src.Flows {
			if f.From == target.Key {
				if c := r.byKey(f.To); c != nil && c.Kind == "llm" {
					r.src.flow(c, api, "Generated answer", "answer")
				}
			}
		}
		r.src.data("answer", "Generated answer")
	case "llm":
		r.src.flow(api, target, "User question", "query")
		r.src.flow(target, api, "Generated answer", "answer")
		r.src.data("query", "User question")
		r.src.data("answer", "Generated answer")
	default:
		r.src.flow(api, target, "Prediction requests", "request")
		r.src.flow(target, api, "Predictions", "prediction")
		r.src.data("request", "Prediction request")
		r.src.data("prediction", "Prediction")
	}
}

func (r *mlflowReader) byKey(k string) *Component {
	for _, c := range r.src.Components {
		if c.Key == k {
			return c
		}
	}
	return nil
}
