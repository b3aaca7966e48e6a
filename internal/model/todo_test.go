package model_test

import (
	"strings"
	"testing"
)

// Every x-todo entry is a warning at its own line and column; the model
// stays valid.
func TestTodoWarnings(t *testing.T) {
	src := `mlthreat: 1
system:
  id: demo
  name: Demo
  x-todo:
    - 'owner: who owns it?'
components:
  - id: m
    kind: model
    x-todo: ['props.task: what does it do?', "props.origin: where from?"]
    props:
      x-todo: inside props too
  - {id: d, kind: dataset, x-todo: [{not: text}, '   ']}
flows:
  - {id: f1, from: d, to: m, x-todo: [null]}
`
	s, ds := load(t, src)
	if s == nil || ds.Errors() != 0 {
		t.Fatalf("errors: %v", ds)
	}
	want := []string{
		"m.yaml:6:7: warning: TODO: owner: who owns it?",
		"m.yaml:10:14: warning: TODO: props.task: what does it do?",
		"m.yaml:10:46: warning: TODO: props.origin: where from?",
		"m.yaml:12:15: warning: TODO: inside props too",
		"m.yaml:13:37: warning: x-todo entries should be text: the question to answer",
		"m.yaml:15:39: warning: x-todo entries should be text: the question to answer",
	}
	var got []string
	for _, d := range ds {
		if d.Code == "todo" {
			got = append(got, d.String())
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ds.Warnings() != len(want) {
		t.Errorf("other warnings: %v", ds)
	}
	for _, d := range ds {
		if d.Code == "todo" && !strings.Contains(d.Path, "x-todo") {
			t.Errorf("path %q does not point into x-todo", d.Path)
		}
	}
}
