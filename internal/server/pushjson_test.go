package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/server/api"
)

// stdPush decodes a body the way the server did before the fast path.
func stdPush(body []byte, limit int64) (api.PushRequest, int, string) {
	var req api.PushRequest
	r := httptest.NewRequest("POST", "/api/v1/push", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	code, msg := statusOf(decodeJSON(httptest.NewRecorder(), r, limit, &req))
	return req, code, msg
}

func fastPush(body []byte, limit int64) (api.PushRequest, pushParts, int, string) {
	var req api.PushRequest
	var parts pushParts
	r := httptest.NewRequest("POST", "/api/v1/push", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	code, msg := statusOf(decodePush(httptest.NewRecorder(), r, limit, &req, &parts))
	return req, parts, code, msg
}

func statusOf(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	code, msg, _ := status(err)
	return code, msg
}

// comparePush checks that decodePush answers a body exactly as decodeJSON
// does: the same request, or the same status and message; and that the
// parts it read are what encoding/json reads from the raw members.
func comparePush(t *testing.T, body []byte, limit int64) pushParts {
	t.Helper()
	want, wcode, wmsg := stdPush(body, limit)
	got, parts, gcode, gmsg := fastPush(body, limit)
	if gcode != wcode || gmsg != wmsg {
		t.Fatalf("body %.200q:\nfast: %d %q\nstd:  %d %q", body, gcode, gmsg, wcode, wmsg)
	}
	if wcode == 0 && !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("body %.200q:\nfast: %+v\nstd:  %+v", body, got, want)
	}
	if a := parts.analysis; a != nil {
		var sa analysisDoc
		if err := decodePart("analysis", got.Analysis, &sa); err != nil || !reflect.DeepEqual(*a, sa) {
			t.Fatalf("analysis %.200q:\nfast: %+v\nstd:  %+v (%v)", got.Analysis, *a, sa, err)
		}
	}
	if g := parts.gap; g != nil {
		var sg gapDoc
		err := decodeLeading("gap", got.Gap, map[string]any{"system": &sg.System, "functions": &sg.Functions})
		if err != nil || !reflect.DeepEqual(*g, sg) {
			t.Fatalf("gap %.200q:\nfast: %+v\nstd:  %+v (%v)", got.Gap, *g, sg, err)
		}
	}
	if g := parts.gate; g != nil {
		var sg gateDoc
		if err := decodePart("gate", got.Gate, &sg); err != nil || !reflect.DeepEqual(*g, sg) {
			t.Fatalf("gate %.200q:\nfast: %+v\nstd:  %+v (%v)", got.Gate, *g, sg, err)
		}
	}
	return parts
}

// normalize makes empty raw members comparable (nil and empty are both
// absent).
func normalize(r api.PushRequest) api.PushRequest {
	for _, m := range []*json.RawMessage{&r.Analysis, &r.Gap, &r.Gate, &r.Review} {
		if len(*m) == 0 {
			*m = nil
		}
	}
	return r
}

// compareParts checks the analysis, gap and gate readers against
// encoding/json on one document.
func compareParts(t *testing.T, raw []byte) {
	t.Helper()
	var fa, sa analysisDoc
	if fastAnalysis(raw, &fa) {
		if err := json.Unmarshal(raw, &sa); err != nil {
			t.Fatalf("analysis %.200q: fast path accepts what encoding/json refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(fa, sa) {
			t.Fatalf("analysis %.200q:\nfast: %+v\nstd:  %+v", raw, fa, sa)
		}
	}
	var fg, sg gapDoc
	if fastGap(raw, &fg) && json.Valid(raw) {
		// decodeLeading relies on the body's validation, as fastGap may.
		if err := decodeLeading("gap", raw, map[string]any{"system": &sg.System, "functions": &sg.Functions}); err != nil {
			t.Fatalf("gap %.200q: fast path accepts what encoding/json refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(fg, sg) {
			t.Fatalf("gap %.200q:\nfast: %+v\nstd:  %+v", raw, fg, sg)
		}
	}
	var ft, st gateDoc
	if fastGate(raw, &ft) {
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("gate %.200q: fast path accepts what encoding/json refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(ft, st) {
			t.Fatalf("gate %.200q:\nfast: %+v\nstd:  %+v", raw, ft, st)
		}
	}
}

func exampleBodies(t testing.TB) [][]byte {
	std := policy(t, "standard")
	var out [][]byte
	for _, name := range exampleNames(t) {
		b, err := json.Marshal(buildPush(t, "system.yaml", exampleModel(t, name), std))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestFastPathTaken: what mlthreat pushes takes the fast path, and reads
// as encoding/json reads it.
func TestFastPathTaken(t *testing.T) {
	for _, body := range exampleBodies(t) {
		var req api.PushRequest
		if !fastPushRequest(body, &req, nil) {
			t.Fatalf("the fast path refuses %.100s", body)
		}
		if parts := comparePush(t, body, 8<<20); parts.analysis == nil || parts.gap == nil || parts.gate == nil {
			t.Fatalf("the fast path did not read the parts: %+v", parts)
		}
		var a analysisDoc
		var g gapDoc
		var gt gateDoc
		if !fastAnalysis(req.Analysis, &a) || !fastGap(req.Gap, &g) || !fastGate(req.Gate, &gt) {
			t.Fatal("the fast path refuses an example's analysis, gap or gate")
		}
		if len(a.Threats) == 0 || len(g.Functions) != 4 || gt.Verdict == "" {
			t.Errorf("fast path read %d threats, %d functions, verdict %q", len(a.Threats), len(g.Functions), gt.Verdict)
		}
		compareParts(t, req.Analysis)
		compareParts(t, req.Gap)
		compareParts(t, req.Gate)
	}
}

// TestPushBodyErrors: bad bodies get encoding/json's 400 (or 413), word
// for word, and odd but valid ones decode as before.
func TestPushBodyErrors(t *testing.T) {
	good := exampleBodies(t)[0]
	swap := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("the body has no %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	cases := []struct {
		name, body string
		code       int
		says       string
	}{
		{"empty", "", 400, "empty"},
		{"white space", " \n\t", 400, "empty"},
		{"truncated", string(good[:len(good)/2]), 400, "ends too early"},
		{"not an object", "[1]", 400, "invalid JSON"},
		{"null", "null", 0, ""},
		{"trailing data", string(good) + " {}", 400, "after the object"},
		{"trailing comma", `{"file":"a",}`, 400, "invalid JSON at byte"},
		{"missing colon", `{"file" "a"}`, 400, "invalid JSON at byte"},
		{"single quotes", `{'file':'a'}`, 400, "invalid JSON at byte"},
		{"control character", "{\"file\":\"a\x01\"}", 400, "invalid JSON at byte"},
		{"bad escape", `{"file":"a\q"}`, 400, "invalid JSON at byte"},
		{"short \\u", `{"file":"a\u12"}`, 400, "invalid JSON at byte"},
		{"leading zero", `{"base_version":01}`, 400, "invalid JSON at byte"},
		{"bare minus", `{"base_version":-}`, 400, "invalid JSON at byte"},
		{"fraction", `{"base_version":1.5}`, 400, "base_version must be int"},
		{"exponent", `{"base_version":1e3}`, 400, "base_version must be int"},
		{"overflow", `{"base_version":99999999999999999999}`, 400, "base_version must be int"},
		{"string for a number", `{"base_version":"1"}`, 400, "base_version must be int"},
		{"number for a string", `{"model":1}`, 400, "model must be string"},
		{"unknown field", `{"file":"a","admin":true}`, 400, `unknown field "admin"`},
		{"bad value in a raw member", `{"analysis":{"a":tru}}`, 400, "invalid JSON at byte"},
		{"deep nesting", `{"gap":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, 400, "exceeded max depth"},
		{"nesting at the limit", `{"gap":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, 0, ""},
		{"nesting past the limit", `{"gap":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, 400, "exceeded max depth"},
		{"nesting of 1000", `{"gap":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, 0, ""},
		{"key given twice", `{"file":"a","file":"b","model":"m","model":null}`, 0, ""},
		{"raw member twice", `{"gap":{"a":1},"gap":null}`, 0, ""},
		{"key in capitals", `{"FILE":"a","Base_Version":3}`, 0, ""},
		{"key with an escape", `{"fil\u0065":"a"}`, 0, ""},
		{"key folding to ASCII", `{"tool_verſion":"x"}`, 0, ""},
		{"escapes", `{"model":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800\udc00x\ud800y\udc00"}`, 0, ""},
		{"invalid UTF-8", "{\"model\":\"a\xff\xfeb\xed\xa0\x80c\"}", 0, ""},
		{"nulls", `{"file":null,"analysis":null,"base_version":null}`, 0, ""},
		{"white space everywhere", " { \"file\" : \"a\" , \"gap\" : [ 1 , { } , [ ] ] } \n", 0, ""},
		{"a real body with a key twice", string(swap(`"file":"system.yaml"`, `"file":"x.yaml","file":"system.yaml"`)), 0, ""},
		{"a real body with a bad analysis", string(swap(`"analysis":{`, `"analysis":{"x":[1,2,]],`)), 400, "invalid JSON at byte"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comparePush(t, []byte(c.body), 8<<20)
			_, _, code, msg := fastPush([]byte(c.body), 8<<20)
			if code != c.code || !strings.Contains(msg, c.says) {
				t.Errorf("%d %q, want %d with %q", code, msg, c.code, c.says)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		for _, limit := range []int64{1 << 10, int64(len(good) / 2), int64(len(good) - 1)} {
			comparePush(t, good, limit)
			if _, _, code, msg := fastPush(good, limit); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "limit") {
				t.Errorf("limit %d: %d %q", limit, code, msg)
			}
		}
		comparePush(t, good, int64(len(good)))
		// A bad body is a 400 when the error comes before the limit.
		comparePush(t, append([]byte(`{"x":`), good...), 1<<10)
	})
}

// TestFastPathOdd: valid but unusual bodies the fast path reads itself.
func TestFastPathOdd(t *testing.T) {
	for _, body := range []string{
		`{"model":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800\udc00x\ud800y\udc00z\uDBFF\uDFFF"}`,
		"{\"model\":\"a\xff\xfeb\xed\xa0\x80c\u00e9\"}",
		`{"file":null,"analysis":null,"base_version":null,"GAP":null}`,
		" { \"file\" : \"a\" , \"gap\" : [ 1 , { } , [ ] , -0.5e+3 , true , false ] } \n",
		`{"gap":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`,
	} {
		var req api.PushRequest
		if !fastPushRequest([]byte(body), &req, &pushParts{}) {
			t.Errorf("the fast path refuses %.100q", body)
		}
		comparePush(t, []byte(body), 8<<20)
	}
}

// TestPushPartsOdd: the analysis, gap and gate readers on odd documents.
func TestPushPartsOdd(t *testing.T) {
	for _, doc := range []string{
		`{}`, `{"system":null,"threats":null}`, `{"threats":[]}`, `{"threats":[null]}`,
		`{"System":{"ID":"a"},"Threats":[{"ID":"t","Decision":null,"atlas":{"tactics":[],"related":null}}]}`,
		`{"threats":[{"residual":{"score":-0,"severity":"low"},"decision":{"until":"2026-01-01"}}]}`,
		`{"threats":[{"residual":{"score":1.5}}]}`, `{"threats":[{"id":"a","id":"b"}]}`,
		`{"system":{"id":"a"},"system":{"id":"b"},"functions":[{"id":"MAP","coverage":0.5}]}`,
		`{"functions":[{"id":"MAP","coverage":1e400}]}`, `{"functions":[null,{"coverage":-0.0}]}`,
		`{"Functions":[{"id":"MAP"}],"system":{"id":"x"},"functions":[]}`,
		`{"verdict":"pass","findings":[{"check":"stale"},null],"checks":[{"x":1}]}`,
		`{"findings":{}}`, `{"policy":"a\u0000b"}`, `[]`, `"x"`, `{"threats":{}}`,
	} {
		compareParts(t, []byte(doc))
	}
}

// Small seeds in the shape of a real push: the fuzzer works poorly on
// bodies of 200 KB.
const (
	seedAnalysis = `{"tool":{"name":"mlthreat"},"system":{"id":"sentiment-api","name":"S"},"threats":[{"id":"T-abaab2ab",` +
		`"rule":"llm.direct","title":"Direct \u003cprompt\u003e injection","target":{"component":"llm"},` +
		`"atlas":{"technique":"AML.T0051.000","tactics":["AML.TA0005"],"related":["AML.T0051"]},"likelihood":{"score":5},` +
		`"risk":{"score":25,"severity":"critical"},"mitigations":[{"id":"M","control":null}],"residual":{"score":25,` +
		`"severity":"critical","likelihood":5},"status":"accepted","decision":{"until":"2026-12-01"},"line":35}]}`
	seedGap = `{"tool":{},"system":{"file":"s.yaml","id":"sentiment-api"},"functions":[{"id":"GOVERN","met":0,` +
		`"coverage":0.02631578947368421},{"id":"MAP","coverage":0}],"categories":[{"id":"GOVERN 1"}]}`
	seedGate = `{"file":"s.yaml","system":"sentiment-api","policy":"standard","verdict":"fail","findings":[{"check":"severity",` +
		`"verdict":"fail","message":"open \"x\"","line":35},{"check":"stale","verdict":"escalate"}],"threat_set":"1dcf89adc574cb9b","escalated":false}`
)

func FuzzPushBody(f *testing.F) {
	f.Add([]byte(`{"file":"system.yaml","model":"mlthreat: 1\nsystem:\n  id: sentiment-api\n  name: \"\u00e9\"\n","analysis":` +
		seedAnalysis + `,"gap":` + seedGap + `,"gate":` + seedGate + `,"tool_version":"0.1.0","base_version":2}`))
	for _, s := range []string{`{}`, `{"file":"a","model":"b\n\u00e9","base_version":3,"gap":[1,{"a":null}]}`,
		`{"analysis":{"threats":[]},"FILE":"x"}`, `{"model":"\ud800"}`, ` null `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		comparePush(t, body, 8<<20)
		comparePush(t, body, int64(max(1, len(body)/2)))
	})
}

func FuzzPushParts(f *testing.F) {
	for _, s := range []string{seedAnalysis, seedGap, seedGate, `{"threats":[{"id":"a","residual":{"score":3}}]}`,
		`{"functions":[{"id":"MAP","coverage":0.5}]}`, `{"findings":[{"check":"stale"}],"verdict":"pass"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		compareParts(t, raw)
	})
}

// BenchmarkPushDecode is the JSON work of a push: the body, then the
// analysis, gap and gate, by encoding/json and by the fast path.
func BenchmarkPushDecode(b *testing.B) {
	body := exampleBodies(b)[1]
	run := func(b *testing.B, decode func(*http.Request, *api.PushRequest) error, parts func(*api.PushRequest)) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r := httptest.NewRequest("POST", "/api/v1/push", bytes.NewReader(body))
			var req api.PushRequest
			if err := decode(r, &req); err != nil {
				b.Fatal(err)
			}
			parts(&req)
		}
	}
	b.Run("encoding-json", func(b *testing.B) {
		run(b, func(r *http.Request, req *api.PushRequest) error {
			return decodeJSON(httptest.NewRecorder(), r, 8<<20, req)
		}, func(req *api.PushRequest) {
			var a analysisDoc
			var g gapDoc
			var gt gateDoc
			if decodePart("analysis", req.Analysis, &a) != nil ||
				decodeLeading("gap", req.Gap, map[string]any{"system": &g.System, "functions": &g.Functions}) != nil ||
				decodePart("gate", req.Gate, &gt) != nil {
				b.Fatal("decode")
			}
		})
	})
	b.Run("fast", func(b *testing.B) {
		run(b, func(r *http.Request, req *api.PushRequest) error {
			var parts pushParts
			if err := decodePush(httptest.NewRecorder(), r, 8<<20, req, &parts); err != nil {
				return err
			}
			if parts.analysis == nil || parts.gap == nil || parts.gate == nil {
				b.Fatal("the fast path did not read the parts")
			}
			return nil
		}, func(req *api.PushRequest) {})
	})
}
