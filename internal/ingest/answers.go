package ingest

import "slices"

// Answers are what a person told mlthreat init --interactive. A nil pointer
// or an empty string means the question was not asked or not answered.
type Answers struct {
	Served      *bool
	Exposure    string   // internet, partner, internal, isolated
	Auth        string   // an inference-api auth value
	Callers     []string // values of CallerKinds
	Scores      *bool    // responses carry confidence scores
	Retrains    *bool    // the model learns from user feedback
	Owner       string
	Criticality string
}

// Caller is a kind of party that sends requests, as the form offers it.
type Caller struct {
	Value, Label, Slug, Role, Count string
	Outside                         bool // outsiders choose what it sends
}

// CallerKinds are the answers to "who sends input?".
var CallerKinds = []Caller{
	{"public", "Anyone on the internet, without an account", "public-users", "anonymous", "public", true},
	{"customers", "Signed-in customers", "customers", "customer", "many", true},
	{"partners", "Partner organisations", "partners", "partner", "few", true},
	{"employees", "Employees", "employees", "employee", "many", false},
	{"systems", "Other systems of ours", "other-systems", "service", "few", false},
}

// answer fills the model with what the metadata could not say.
func (b *builder) answer(a *Answers) {
	b.m.Owner, b.m.Criticality = a.Owner, a.Criticality
	apis := b.ofKind("inference-api")
	if len(apis) == 0 && a.Served != nil && *a.Served {
		target := b.serveTarget()
		if target != nil {
			api := b.add(&Component{Kind: "inference-api", Key: "inference-api:api", Name: "Prediction API", Slug: "api"})
			reqData, respData := "request", "prediction"
			if target.Kind == "llm" || target.Kind == "retriever" {
				reqData, respData = "query", "answer"
				b.addData(&DataItem{ID: "query", Name: "User question"})
				b.addData(&DataItem{ID: "answer", Name: "Generated answer"})
			} else {
				b.addData(&DataItem{ID: "request", Name: "Prediction request"})
				b.addData(&DataItem{ID: "prediction", Name: "Prediction"})
			}
			b.addFlow(api.Key, target.Key, "Requests", []string{reqData}, nil)
			b.addFlow(target.Key, api.Key, "Responses", []string{respData}, nil)
			apis = []*Component{api}
		}
	}
	for _, api := range apis {
		if a.Exposure != "" && api.Exposure == "" {
			api.Exposure = a.Exposure
		}
		if a.Auth != "" {
			api.set("auth", a.Auth, "")
		}
		if a.Scores != nil {
			switch {
			case *a.Scores:
				api.set("output", "scores", "")
			case b.generative():
				api.set("output", "text", "")
			default:
				api.set("output", "label", "")
			}
		}
		outside := false
		for _, ck := range CallerKinds {
			if !slices.Contains(a.Callers, ck.Value) {
				continue
			}
			outside = outside || ck.Outside
			actor := b.add(&Component{Kind: "actor", Key: "actor:" + ck.Value, Name: ck.Label, Slug: ck.Slug})
			actor.set("role", ck.Role, "")
			actor.set("count", ck.Count, "")
			switch ck.Value {
			case "public":
				actor.set("authenticated", false, "")
				actor.Exposure = "internet"
			case "partners":
				actor.Exposure = "partner"
			}
			b.addFlow(actor.Key, api.Key, "Requests and responses", []string{b.requestData(api)}, nil)
			b.markBidirectional(actor.Key, api.Key)
		}
		if len(a.Callers) > 0 {
			api.set("user_controlled_input", outside, "")
		}
	}
	if a.Retrains != nil && *a.Retrains {
		b.feedbackLoop(a.Callers)
	}
}

// serveTarget is what an added API serves: the described model, else an LLM.
func (b *builder) serveTarget() *Component {
	if b.primary != nil {
		return b.primary
	}
	for _, k := range []string{"retriever", "llm", "model"} {
		if cs := b.ofKind(k); len(cs) > 0 {
			return cs[0]
		}
	}
	return nil
}

func (b *builder) generative() bool {
	if len(b.ofKind("llm")) > 0 {
		return true
	}
	return b.primary != nil && b.primary.Props["task"].Value == "generation"
}

func (b *builder) requestData(api *Component) string {
	for _, f := range b.flows {
		if f.From == api.Key && len(f.Data) > 0 {
			return f.Data[0]
		}
	}
	b.addData(&DataItem{ID: "request", Name: "Request"})
	return "request"
}

func (b *builder) markBidirectional(from, to string) {
	if f := b.flowIdx[[2]string{from, to}]; f != nil {
		f.Bidirectional = true
	}
}

// feedbackLoop adds user feedback flowing into retraining of the model.
func (b *builder) feedbackLoop(callers []string) {
	target := b.serveTarget()
	if target == nil {
		return
	}
	fb := b.add(&Component{Kind: "feedback", Key: "feedback:feedback", Name: "User feedback", Slug: "feedback"})
	src := "unknown"
	switch {
	case slices.Contains(callers, "public") || slices.Contains(callers, "customers") || slices.Contains(callers, "partners"):
		src = "end-users"
	case slices.Contains(callers, "employees"):
		src = "employees"
	}
	fb.set("source", src, "")
	fb.set("used_for", []string{"retraining"}, "")
	tr := b.add(&Component{Kind: "training", Key: "training:retraining", Name: "Retraining on feedback", Slug: "retraining"})
	tr.set("data_sources", []string{"user-feedback"}, "")
	b.addData(&DataItem{ID: "feedback", Name: "User feedback"})
	b.addData(&DataItem{ID: "model-weights", Name: "Retrained model weights"})
	for _, c := range b.ofKind("actor") {
		b.addFlow(c.Key, fb.Key, "Ratings and corrections", []string{"feedback"}, nil)
	}
	b.addFlow(fb.Key, tr.Key, "Feedback used as training data", []string{"feedback"}, nil)
	b.addFlow(tr.Key, target.Key, "Retrained weights", []string{"model-weights"}, nil)
}
