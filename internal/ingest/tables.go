package ingest

import (
	"path"
	"regexp"
	"strings"
)

// taskInfo maps a metadata task name (Hugging Face pipeline tags, MLflow
// transformers tasks) onto the model kind's task and modality props. An
// empty field means the name says nothing about it.
type taskInfo struct{ task, modality string }

var tasks = map[string]taskInfo{
	"text-classification":            {"classification", "text"},
	"sentiment-analysis":             {"classification", "text"},
	"token-classification":           {"classification", "text"},
	"ner":                            {"classification", "text"},
	"zero-shot-classification":       {"classification", "text"},
	"image-classification":           {"classification", "image"},
	"zero-shot-image-classification": {"classification", "multimodal"},
	"audio-classification":           {"classification", "audio"},
	"video-classification":           {"classification", "video"},
	"tabular-classification":         {"classification", "tabular"},
	"tabular-regression":             {"regression", "tabular"},
	"object-detection":               {"detection", "image"},
	"zero-shot-object-detection":     {"detection", "multimodal"},
	"image-segmentation":             {"segmentation", "image"},
	"mask-generation":                {"segmentation", "image"},
	"text-generation":                {"generation", "text"},
	"text2text-generation":           {"generation", "text"},
	"conversational":                 {"generation", "text"},
	"summarization":                  {"generation", "text"},
	"question-answering":             {"other", "text"},
	"fill-mask":                      {"other", "text"},
	"text-to-image":                  {"generation", "text"},
	"text-to-speech":                 {"generation", "text"},
	"text-to-audio":                  {"generation", "text"},
	"text-to-video":                  {"generation", "text"},
	"image-to-text":                  {"generation", "image"},
	"image-to-image":                 {"generation", "image"},
	"image-text-to-text":             {"generation", "multimodal"},
	"visual-question-answering":      {"generation", "multimodal"},
	"document-question-answering":    {"generation", "multimodal"},
	"translation":                    {"translation", "text"},
	"automatic-speech-recognition":   {"speech-recognition", "audio"},
	"feature-extraction":             {"embedding", ""},
	"sentence-similarity":            {"embedding", "text"},
	"image-feature-extraction":       {"embedding", "image"},
	"time-series-forecasting":        {"forecasting", "time-series"},
	"depth-estimation":               {"other", "image"},
	"graph-ml":                       {"other", "graph"},
	"reinforcement-learning":         {"other", ""},
	"classification":                 {"classification", ""},
	"regression":                     {"regression", ""},
	"clustering":                     {"clustering", ""},
	"anomaly-detection":              {"anomaly-detection", ""},
	"forecasting":                    {"forecasting", ""},
	"recommendation":                 {"recommendation", ""},
	"ranking":                        {"ranking", ""},
	"embedding":                      {"embedding", ""},
	"detection":                      {"detection", ""},
	"segmentation":                   {"segmentation", ""},
	"generation":                     {"generation", ""},
	"speech-recognition":             {"speech-recognition", "audio"},
	"llm/v1/chat":                    {"generation", "text"},
	"llm/v1/completions":             {"generation", "text"},
	"llm/v1/embeddings":              {"embedding", "text"},
}

// lookupTask normalises spacing and case ("Text Classification").
func lookupTask(s string) (taskInfo, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.NewReplacer(" ", "-", "_", "-").Replace(k)
	if strings.HasPrefix(k, "translation-") { // transformers: translation_en_to_de
		k = "translation"
	}
	t, ok := tasks[k]
	if !ok {
		t, ok = tasks[strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "-")]
	}
	return t, ok
}

// ioModality reads a modality from an input format such as a CycloneDX
// modelParameters.inputs[].format or an MLflow signature column type.
func ioModality(format string) string {
	f := strings.ToLower(strings.TrimSpace(format))
	switch {
	case f == "string" || f == "text" || f == "str" || strings.HasPrefix(f, "text/"):
		return "text"
	case f == "image" || strings.HasPrefix(f, "image/"):
		return "image"
	case f == "audio" || strings.HasPrefix(f, "audio/"):
		return "audio"
	case f == "video" || strings.HasPrefix(f, "video/"):
		return "video"
	case f == "tabular" || f == "dataframe" || f == "text/csv" || f == "csv":
		return "tabular"
	case f == "time-series" || f == "timeseries":
		return "time-series"
	}
	return ""
}

// library describes an ML library or framework: its package, whether it
// deserialises model files, and whether it is a framework.
type library struct {
	pkg       string
	loads     bool
	framework bool
}

// libraries are keyed by the names model cards, MLflow flavors and BOMs use.
var libraries = map[string]library{
	"transformers":          {"transformers", true, true},
	"peft":                  {"peft", true, false},
	"diffusers":             {"diffusers", true, true},
	"timm":                  {"timm", true, false},
	"sentence-transformers": {"sentence-transformers", true, false},
	"sentence_transformers": {"sentence-transformers", true, false},
	"sklearn":               {"scikit-learn", true, false},
	"scikit-learn":          {"scikit-learn", true, false},
	"keras":                 {"keras", true, true},
	"tf-keras":              {"keras", true, true},
	"tensorflow":            {"tensorflow", true, true},
	"tf":                    {"tensorflow", true, true},
	"pytorch":               {"torch", true, true},
	"torch":                 {"torch", true, true},
	"onnx":                  {"onnxruntime", true, false},
	"onnxruntime":           {"onnxruntime", true, false},
	"xgboost":               {"xgboost", true, false},
	"lightgbm":              {"lightgbm", true, false},
	"catboost":              {"catboost", true, false},
	"joblib":                {"joblib", true, false},
	"cloudpickle":           {"cloudpickle", true, false},
	"spacy":                 {"spacy", true, true},
	"fastai":                {"fastai", true, true},
	"flair":                 {"flair", true, false},
	"jax":                   {"jax", false, true},
	"flax":                  {"flax", true, true},
	"mlx":                   {"mlx", true, true},
	"gguf":                  {"gguf", true, false},
	"llama.cpp":             {"llama-cpp-python", true, false},
	"llama-cpp-python":      {"llama-cpp-python", true, false},
	"vllm":                  {"vllm", true, true},
	"adapter-transformers":  {"adapters", true, false},
	"setfit":                {"setfit", true, false},
	"span-marker":           {"span-marker", true, false},
	"stable-baselines3":     {"stable-baselines3", true, false},
	"ml-agents":             {"mlagents", true, false},
	"open_clip":             {"open-clip-torch", true, false},
	"open-clip":             {"open-clip-torch", true, false},
	"espnet":                {"espnet", true, true},
	"nemo":                  {"nemo-toolkit", true, true},
	"paddlenlp":             {"paddlenlp", true, true},
	"statsmodels":           {"statsmodels", true, false},
	"prophet":               {"prophet", true, false},
	"h2o":                   {"h2o", true, true},
	"langchain":             {"langchain", true, true},
	"llama_index":           {"llama-index", true, true},
	"llama-index":           {"llama-index", true, true},
	"dspy":                  {"dspy", true, true},
	"openai":                {"openai", false, false},
	"mlflow":                {"mlflow", true, true},
	"safetensors":           {"safetensors", false, false},
	"tokenizers":            {"tokenizers", false, false},
	"accelerate":            {"accelerate", false, false},
	"bitsandbytes":          {"bitsandbytes", false, false},
	"trl":                   {"trl", true, false},
	"numpy":                 {"numpy", true, false},
	"pandas":                {"pandas", true, false},
}

func lookupLibrary(name string) (library, bool) {
	l, ok := libraries[strings.ToLower(strings.TrimSpace(name))]
	return l, ok
}

// formatOfFile tells an artifact format from a file name or URL.
func formatOfFile(name string) string {
	base := strings.ToLower(path.Base(strings.SplitN(name, "?", 2)[0]))
	switch path.Ext(base) {
	case ".pkl", ".pickle", ".cloudpickle", ".dill":
		return "pickle"
	case ".joblib":
		return "joblib"
	case ".pt", ".pth", ".bin", ".ckpt":
		return "pytorch"
	case ".safetensors":
		return "safetensors"
	case ".onnx":
		return "onnx"
	case ".gguf", ".ggml":
		return "gguf"
	case ".h5", ".hdf5":
		return "keras-h5"
	case ".tflite":
		return "tflite"
	case ".mlmodel", ".mlpackage":
		return "coreml"
	case ".pmml":
		return "pmml"
	case ".pb":
		return "tensorflow-savedmodel"
	}
	return ""
}

// formatOfTags reads the format tags the Hugging Face Hub adds to a card.
// Safetensors wins: libraries load it in preference to pickled weights.
func formatOfTags(tags []string) (string, int) {
	order := []struct{ tag, format string }{
		{"safetensors", "safetensors"}, {"gguf", "gguf"}, {"onnx", "onnx"},
		{"tflite", "tflite"}, {"coreml", "coreml"}, {"pytorch", "pytorch"},
	}
	for _, o := range order {
		for i, t := range tags {
			if strings.EqualFold(t, o.tag) {
				return o.format, i
			}
		}
	}
	return "", -1
}

var reHubID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$`)

// isHubID reports a Hugging Face Hub repository id ("org/name" or "name").
func isHubID(s string) bool { return reHubID.MatchString(s) }

// isHubURL reports a URL on the Hugging Face Hub.
func isHubURL(u string) bool {
	u = strings.ToLower(u)
	for _, p := range []string{"https://huggingface.co/", "http://huggingface.co/", "https://hf.co/", "hf://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// purlEcosystem maps a package URL type onto the dependency ecosystem prop.
func purlEcosystem(purl string) string {
	t, _, ok := strings.Cut(strings.TrimPrefix(purl, "pkg:"), "/")
	if !ok || !strings.HasPrefix(purl, "pkg:") {
		return ""
	}
	switch strings.ToLower(t) {
	case "pypi":
		return "pypi"
	case "conda":
		return "conda"
	case "npm":
		return "npm"
	case "maven":
		return "maven"
	case "golang":
		return "go"
	case "docker", "oci":
		return "container"
	case "huggingface":
		return "huggingface"
	}
	return "other"
}
