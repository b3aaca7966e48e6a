package rules

import (
	"bytes"
	_ "embed"
	"encoding/gob"
	"fmt"
	"sort"
	"sync"

	"github.com/google/cel-go/cel"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/proto"
)

//go:generate go run ./gen -out precompiled.bin -packs packs.json

// precompiled holds the type-checked CEL of every built-in condition, so the
// binary skips parsing and checking them at start-up. Conditions not found
// here (user packs, or a stale file) are compiled as usual.
//
//go:embed precompiled.bin
var precompiledBin []byte

// precompiledEntry is one condition; the file holds them sorted by Expr so
// that it is byte-identical from one generation to the next.
type precompiledEntry struct {
	Expr string
	AST  []byte // a google.api.expr.v1alpha1.CheckedExpr
}

var (
	precompiledOnce sync.Once
	precompiledMap  map[string][]byte
)

func precompiledAST(expr string) *cel.Ast {
	precompiledOnce.Do(func() {
		var entries []precompiledEntry
		if err := gob.NewDecoder(bytes.NewReader(precompiledBin)).Decode(&entries); err == nil {
			precompiledMap = make(map[string][]byte, len(entries))
			for _, e := range entries {
				precompiledMap[e.Expr] = e.AST
			}
		}
	})
	b, ok := precompiledMap[expr]
	if !ok {
		return nil
	}
	var ce exprpb.CheckedExpr
	if err := proto.Unmarshal(b, &ce); err != nil {
		return nil
	}
	return cel.CheckedExprToAst(&ce)
}

// programFor builds a program from the precompiled AST when there is one.
func programFor(expr string) (cel.Program, error) {
	if ast := precompiledAST(expr); ast != nil {
		e, err := Env()
		if err != nil {
			return nil, err
		}
		return e.Program(ast, cel.EvalOptions(cel.OptOptimize))
	}
	return Compile(expr)
}

// Precompiled type-checks every condition of the set and encodes them in the
// form go generate embeds.
func Precompiled(s *Set) ([]byte, error) {
	e, err := Env()
	if err != nil {
		return nil, err
	}
	exprs := map[string]bool{}
	for _, r := range s.Rules {
		if r.When != "" {
			exprs[r.When] = true
		}
		for _, f := range append(append([]Factor{}, r.Likelihood.Factors...), r.Impact.Factors...) {
			if f.When != "" {
				exprs[f.When] = true
			}
		}
	}
	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []precompiledEntry
	for _, k := range keys {
		ast, iss := e.Compile(k)
		if iss != nil && iss.Err() != nil {
			return nil, fmt.Errorf("%q: %v", k, iss.Err())
		}
		ce, err := cel.AstToCheckedExpr(ast)
		if err != nil {
			return nil, err
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ce)
		if err != nil {
			return nil, err
		}
		out = append(out, precompiledEntry{Expr: k, AST: b})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
