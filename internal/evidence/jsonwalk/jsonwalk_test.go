package jsonwalk_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mlthreat/mlthreat/internal/evidence/jsonwalk"
)

func TestWalk(t *testing.T) {
	w := jsonwalk.New(strings.NewReader(`{"skip": {"a": [1, {"b": null}], "c": "d"}, "keep": [1, 2], "end": true}`), 1<<10)
	if err := w.Expect('{', "doc"); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for {
		k, ok, err := w.Key()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		keys = append(keys, k)
		if k == "keep" {
			var v []int
			if err := w.Decode(&v); err != nil || len(v) != 2 {
				t.Fatal(v, err)
			}
			continue
		}
		if err := w.Skip(); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(keys, ",") != "skip,keep,end" {
		t.Errorf("keys %v", keys)
	}
}

// No single value may be larger than the limit, however it arrives.
func TestLimit(t *testing.T) {
	big := `{"a": "` + strings.Repeat("x", 1<<16) + `"}`
	w := jsonwalk.New(strings.NewReader(big), 1<<10)
	w.Expect('{', "doc")
	w.Key()
	var s string
	if err := w.Decode(&s); !errors.Is(err, jsonwalk.ErrTooLarge) {
		t.Errorf("got %v", err)
	}
	w = jsonwalk.New(strings.NewReader(big), 1<<10)
	if err := w.Skip(); !errors.Is(err, jsonwalk.ErrTooLarge) {
		t.Errorf("skip: %v", err)
	}
}

func TestClean(t *testing.T) {
	var v struct{ N int }
	err := json.Unmarshal([]byte(`{"N": "x"}`), &v)
	if got := jsonwalk.Clean(err); got != "N: expected a number, found a JSON string" {
		t.Error(got)
	}
	err = json.Unmarshal([]byte(`{"N": `), &v)
	if got := jsonwalk.Clean(err); !strings.Contains(got, "truncated") {
		t.Error(got)
	}
	if got := jsonwalk.Describe(json.Delim('[')); got != "an array" {
		t.Error(got)
	}
	w := jsonwalk.New(strings.NewReader(`[1]`), 100)
	if err := w.Expect('{', "the file"); err == nil || err.Error() != "the file: expected an object, found an array" {
		t.Error(err)
	}
}
