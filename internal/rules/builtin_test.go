package rules

import "testing"

func TestBuiltinLoadsFromJSON(t *testing.T) {
	if _, ok := fromJSON(); !ok {
		t.Fatal("packs.json does not match the YAML packs: run go generate ./internal/rules")
	}
}
