package analysis

import (
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/mlthreat/mlthreat/internal/catalog"
	"github.com/mlthreat/mlthreat/internal/rules"
)

// regexMentions is the plain regular-expression definition of what a
// condition reads; mentionsOf must agree with it.
func regexMentions(cond string) (props, vars []string) {
	reProp := regexp.MustCompile(`\bprops\.([A-Za-z_][A-Za-z0-9_]*)`)
	for _, x := range reProp.FindAllStringSubmatch(cond, -1) {
		if !slices.Contains(props, x[1]) {
			props = append(props, x[1])
		}
	}
	sort.Strings(props)
	for _, v := range plainVars {
		if regexp.MustCompile(`(^|[^.\w])` + v + `\b`).MatchString(cond) {
			vars = append(vars, v)
		}
	}
	return props, vars
}

func TestMentionsMatchRegexDefinition(t *testing.T) {
	set, err := rules.Load(catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	conds := []string{
		"props.auth == 'none' && exposure == 'internet'",
		"x.props.a && _props.b || xprops.c || props.1x || props._y",
		"f().exposure == 'x' || trust.size() > 0 || pii",
		"'props.inside_string' + classification",
		"props. trust exposure_level piiX",
	}
	for _, r := range set.Rules {
		conds = append(conds, r.When)
		for _, f := range r.Likelihood.Factors {
			conds = append(conds, f.When)
		}
	}
	withProps := 0
	for _, c := range conds {
		m := mentionsOf(c)
		props, vars := regexMentions(c)
		if !slices.Equal(m.props, props) || !slices.Equal(m.vars, vars) {
			t.Errorf("%q: props %v vars %v, want %v %v", c, m.props, m.vars, props, vars)
		}
		if len(props) > 0 {
			withProps++
		}
	}
	if withProps < 20 {
		t.Fatalf("only %d conditions read props; the comparison is too weak", withProps)
	}
}
