package ingest

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mlthreat/mlthreat/internal/model"
)

// propValue converts text into a valid value of a kind's prop, or reports
// that it is not one.
func propValue(kind, prop, text string) (any, bool) {
	spec, _ := model.Kinds().Prop(kind, prop)
	if spec == nil {
		return nil, false
	}
	text = strings.TrimSpace(text)
	switch spec.Type {
	case model.TypeEnum:
		return text, slices.Contains(spec.Values, text)
	case model.TypeEnumList:
		var out []string
		for _, v := range strings.Split(text, ",") {
			v = strings.TrimSpace(v)
			if !slices.Contains(spec.Values, v) {
				return nil, false
			}
			out = append(out, v)
		}
		return out, len(out) > 0
	case model.TypeBool:
		b, err := strconv.ParseBool(text)
		return b, err == nil
	case model.TypeInt:
		n, err := strconv.Atoi(text)
		if err != nil || (spec.Min != nil && float64(n) < *spec.Min) || (spec.Max != nil && float64(n) > *spec.Max) {
			return nil, false
		}
		return n, true
	case model.TypeString:
		return clipN(text, 200), text != ""
	}
	return nil, false
}

func canonicalProp(kind, prop string) string {
	_, name := model.Kinds().Prop(kind, prop)
	if name == "" {
		return prop
	}
	return name
}

// propOrder lists a kind's props in vocabulary order, common props last.
func propOrder(kind string) []string { return model.Kinds().PropNames(kind) }

func sortNotes(n []string) { sort.Strings(n) }
