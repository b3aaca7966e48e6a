package rules_test

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/rules"
)

func BenchmarkLoadBuiltin(b *testing.B) {
	cat := catalog.Default()
	for b.Loop() {
		if _, err := rules.Load(cat); err != nil {
			b.Fatal(err)
		}
	}
}
