package rules

import (
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
)

// Facts are the graph facts every element carries in `ctx`. Rules may use
// exactly these; docs/rules.md explains each.
var Facts = []string{
	"internet_facing",                      // exposed to the internet (explicitly or by its zone)
	"reachable_from_untrusted",             // data from an untrusted or partner zone reaches it through flows
	"reachable_from_internet",              // data from an internet-facing element reaches it
	"feeds_training",                       // data from it ends up in training, a dataset or a feedback loop
	"untrusted_content_into_llm_context",   // an LLM or agent that reads content outsiders can write
	"llm_can_reach_tool_with_side_effects", // an LLM or agent that can drive a tool or MCP server that changes things
	"secrets_reachable_from_llm",           // an LLM or agent that can reach credentials or secret-holding components
	"crosses_boundary",                     // a flow between zones of different trust, or an element with such a flow
	"receives_llm_output",                  // takes output of an LLM or agent as input
	"has_inbound",                          // any flow arrives here
	"has_outbound",                         // any flow leaves from here
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// Env is the CEL environment rule conditions are compiled in.
func Env() (*cel.Env, error) {
	envOnce.Do(func() {
		strList := cel.ListType(cel.StringType)
		dynMap := cel.MapType(cel.StringType, cel.DynType)
		env, envErr = cel.NewEnv(
			cel.Variable("id", cel.StringType),
			cel.Variable("name", cel.StringType),
			cel.Variable("kind", cel.StringType),
			cel.Variable("exposure", cel.StringType),
			cel.Variable("zone", cel.StringType),
			cel.Variable("trust", cel.StringType),
			cel.Variable("props", dynMap),
			cel.Variable("set", strList),
			cel.Variable("ctx", cel.MapType(cel.StringType, cel.BoolType)),
			cel.Variable("system", dynMap),
			cel.Variable("data", cel.ListType(dynMap)),
			cel.Variable("pii", cel.BoolType),
			cel.Variable("classification", cel.StringType),
			cel.Variable("in_kinds", strList),
			cel.Variable("out_kinds", strList),
			cel.Variable("from", dynMap),
			cel.Variable("to", dynMap),
			cel.Variable("protocol", cel.StringType),
			cel.Variable("encrypted", cel.BoolType),
			cel.Variable("authenticated", cel.BoolType),
		)
	})
	return env, envErr
}

// Compile checks a condition and returns its program.
func Compile(expr string) (cel.Program, error) {
	e, err := Env()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("condition must be true or false, not %s", ast.OutputType())
	}
	return e.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

// Eval runs a compiled condition on an element's variables.
func Eval(p cel.Program, vars map[string]any) (bool, error) {
	out, _, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %v, not true or false", out.Value())
	}
	return b, nil
}

// Matches evaluates the rule's condition on an element.
func (r *Rule) Matches(vars map[string]any) (bool, error) {
	p, err := r.cond.program()
	if err != nil {
		return false, fmt.Errorf("condition does not compile: %v", err)
	}
	if p == nil {
		return true, nil
	}
	return Eval(p, vars)
}

// Holds evaluates a factor's condition on an element.
func (f *Factor) Holds(vars map[string]any) (bool, error) {
	p, err := f.cond.program()
	if err != nil {
		return false, fmt.Errorf("condition does not compile: %v", err)
	}
	if p == nil {
		return true, nil
	}
	return Eval(p, vars)
}
