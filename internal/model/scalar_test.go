package model

import (
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The fast scalar readers give exactly what the YAML decoder gives.
func TestScalarReadersMatchYAML(t *testing.T) {
	ints := []string{"0", "7", "-3", "+12", "017", "0x1F", "0o17", "0b101", "9223372036854775807", "9223372036854775808", "-0", "1_000", "08"}
	for _, v := range ints {
		var want int64
		wantErr := yaml.Unmarshal([]byte(v), &want)
		got, ok := scalarInt(v)
		if ok != (wantErr == nil) || (ok && got != want) {
			t.Errorf("int %q: got %d %v, yaml %d %v", v, got, ok, want, wantErr)
		}
	}
	floats := []string{"1.5", "-0.25", "+3.", ".5", "1e3", "1E-3", "2.5e+10", "01.5", "1e", ".", "-.5e2", ".inf", "-.Inf", ".nan", "1_0.5", "0x1p-2", "3", "1.7976931348623157e309"}
	for _, v := range floats {
		var want float64
		wantErr := yaml.Unmarshal([]byte(v), &want)
		got, ok := scalarFloat(v)
		same := got == want || (got != got && want != want)
		if ok != (wantErr == nil) || (ok && !same) {
			t.Errorf("float %q: got %g %v, yaml %g %v", v, got, ok, want, wantErr)
		}
	}
	for _, v := range []string{"true", "True", "TRUE", "false", "False", "FALSE", "yes", "on", "tRUE"} {
		var want bool
		wantErr := yaml.Unmarshal([]byte(v), &want)
		got, ok := scalarBool(v)
		if ok != (wantErr == nil) || (ok && got != want) {
			t.Errorf("bool %q: got %v %v, yaml %v %v", v, got, ok, want, wantErr)
		}
	}
}

// validID and validSlug agree with the patterns they stand for.
func TestIDMatchers(t *testing.T) {
	reID, reSlug := regexp.MustCompile(patternID), regexp.MustCompile(patternSlug)
	cases := []string{"", "a", "A", "0", "-a", ".a", "_a", "a-b.c_d", "aB", "ab ", "a/b", "é", "aé", "a\n", "a-",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129)}
	for c := 0; c < 256; c++ {
		cases = append(cases, string(rune(c)), "a"+string(rune(c)), "a"+string([]byte{byte(c)}))
	}
	for _, s := range cases {
		if got, want := validID(s), reID.MatchString(s); got != want {
			t.Errorf("validID(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := validSlug(s), reSlug.MatchString(s); got != want {
			t.Errorf("validSlug(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
