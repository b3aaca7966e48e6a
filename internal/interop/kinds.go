package interop

import (
	"slices"
	"strings"

	"github.com/mlthreat/mlthreat/internal/model"
)

// IsKind reports whether k is an mlthreat component kind.
func IsKind(k string) bool { return model.Kinds().Kind(k) != nil }

// SetProp adds a prop when the kind knows it and, for enums, the value is
// allowed; it reports whether it did. Importers never write a prop the
// validator would warn about.
func SetProp(props *Fields, kind, name string, v any) bool {
	spec, canon := model.Kinds().Prop(kind, name)
	if spec == nil || props.Get(canon) != nil {
		return false
	}
	switch spec.Type {
	case model.TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(spec.Values, s) {
			return false
		}
	case model.TypeEnumList:
		l, ok := v.([]string)
		if !ok || len(l) == 0 {
			return false
		}
		for _, s := range l {
			if !slices.Contains(spec.Values, s) {
				return false
			}
		}
	case model.TypeBool:
		if _, ok := v.(bool); !ok {
			return false
		}
	case model.TypeString:
		if s, ok := v.(string); !ok || s == "" {
			return false
		}
	default:
		return false
	}
	props.Add(canon, v)
	return true
}

// keyword maps words found in a foreign name or type to a kind. Order
// matters: the first rule that matches wins, so specific words come first.
var keywords = []struct {
	words []string
	kind  string
}{
	{[]string{"mcp"}, "mcp-server"},
	{[]string{"llm", "gpt", "chatgpt", "chatbot", "language model", "openai", "anthropic", "claude", "gemini", "bedrock", "genai", "copilot"}, "llm"},
	{[]string{"agent", "agentic", "assistant"}, "agent"},
	{[]string{"vector", "embeddings", "pinecone", "qdrant", "weaviate", "chroma", "faiss", "milvus", "pgvector"}, "vector-store"},
	{[]string{"retriever", "retrieval", "rag"}, "retriever"},
	{[]string{"prompt", "prompts", "system prompt"}, "prompt"},
	{[]string{"guardrail", "guardrails", "moderation", "content filter"}, "guardrail"},
	{[]string{"feature store", "feature-store", "features"}, "feature-store"},
	{[]string{"model registry", "model-registry", "registry"}, "model-registry"},
	{[]string{"notebook", "notebooks", "jupyter", "colab"}, "notebook"},
	{[]string{"experiment", "experiments", "mlflow", "wandb", "tensorboard"}, "experiment-tracking"},
	{[]string{"labeling", "labelling", "annotation", "labels", "labeler"}, "labeling"},
	{[]string{"training", "train", "fine-tuning", "finetuning", "trainer"}, "training"},
	{[]string{"dataset", "datasets", "data set", "training data", "corpus"}, "dataset"},
	{[]string{"feedback", "ratings"}, "feedback"},
	{[]string{"build", "ci", "cd", "ci-cd", "cicd", "jenkins", "github actions", "gitlab", "deploy", "deployment pipeline", "build pipeline"}, "ci-cd"},
	{[]string{"etl", "ingest", "ingestion", "pipeline", "stream", "streaming", "batch", "spark", "airflow", "scraper"}, "data-pipeline"},
	{[]string{"data source", "data-source", "feed", "upstream"}, "data-source"},
	{[]string{"inference", "predict", "prediction", "serving", "model api", "model endpoint", "scoring"}, "inference-api"},
	{[]string{"preprocessing", "pre-processing", "tokenizer", "feature extraction"}, "preprocessing"},
	{[]string{"postprocessing", "post-processing"}, "postprocessing"},
	{[]string{"model", "models", "classifier", "ml", "ai", "neural", "cnn", "transformer", "detector"}, "model"},
	{[]string{"monitoring", "monitor", "logging", "siem", "observability", "alerting", "ids"}, "monitoring"},
	{[]string{"memory"}, "memory"},
	{[]string{"database", "db", "sql", "mysql", "postgres", "postgresql", "mongo", "mongodb", "store", "storage", "bucket", "s3", "blob", "file server", "filesystem", "queue", "cache", "redis", "vault", "ldap", "data lake", "datastore", "data store", "warehouse", "repository", "log", "logs"}, "datastore"},
	{[]string{"sensor", "camera", "microphone", "lidar"}, "sensor"},
	{[]string{"iot", "device", "edge", "embedded"}, "edge-device"},
	{[]string{"library", "package", "sdk", "framework", "dependency", "image"}, "dependency"},
	{[]string{"kubernetes", "k8s", "cluster", "vm", "gpu", "host", "compute", "container platform", "virtualization"}, "compute"},
	{[]string{"browser", "user", "users", "customer", "customers", "admin", "administrator", "actor", "person", "human", "client", "operator", "engineer", "developer", "attacker", "partner"}, "actor"},
	{[]string{"web", "api", "service", "app", "application", "gateway", "frontend", "backend", "portal", "server", "website"}, "application"},
}

// GuessKind maps free text (a foreign type, a name) to a kind. exact is
// true when the text is itself an mlthreat kind; otherwise the kind is a
// guess, "application" when no word matched.
func GuessKind(texts ...string) (kind string, exact bool) {
	for _, t := range texts {
		if k := strings.ToLower(strings.TrimSpace(t)); IsKind(k) {
			return k, true
		}
	}
	for _, t := range texts {
		if k := matchKeywords(t); k != "" {
			return k, false
		}
	}
	return "application", false
}

// matchKeywords returns the first kind whose words occur in text as whole
// words, or "".
func matchKeywords(text string) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	if len(words) == 0 {
		return ""
	}
	joined := " " + strings.Join(words, " ") + " "
	for _, k := range keywords {
		for _, w := range k.words {
			w = strings.ReplaceAll(w, "-", " ")
			if strings.Contains(joined, " "+w+" ") {
				return k.kind
			}
		}
	}
	return ""
}

// SetNumberProp adds an int or number prop within its bounds.
func SetNumberProp(props *Fields, kind, name string, v any) bool {
	spec, canon := model.Kinds().Prop(kind, name)
	if spec == nil || props.Get(canon) != nil {
		return false
	}
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case float64:
		f = x
	default:
		return false
	}
	switch spec.Type {
	case model.TypeInt:
		if f != float64(int(f)) {
			return false
		}
		v = int(f)
	case model.TypeNumber:
	default:
		return false
	}
	if (spec.Min != nil && f < *spec.Min) || (spec.Max != nil && f > *spec.Max) {
		return false
	}
	props.Add(canon, v)
	return true
}
