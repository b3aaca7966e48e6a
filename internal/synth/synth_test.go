package synth_test

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/model"
	"github.com/mlthreat/mlthreat/internal/synth"
)

func TestModelsAreValid(t *testing.T) {
	for _, n := range []int{1, 18, 100} {
		s, ds := model.Load("synthetic.yaml", synth.Model(n), model.DefaultLimits)
		if ds.Errors() != 0 {
			t.Fatalf("n=%d: %v", n, ds)
		}
		if len(s.Components) != n {
			t.Errorf("n=%d: %d components", n, len(s.Components))
		}
	}
}
