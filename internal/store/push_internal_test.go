package store

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
)

// techniqueDigest is the technique digest as the store first computed it,
// from the rows; pushTechniqueDigest must keep giving the same.
func techniqueDigest(rows [][]any) string {
	h := sha256.New()
	for _, r := range rows {
		for i, v := range r {
			if techniqueColumns[i] == "version" {
				continue
			}
			fmt.Fprintf(h, "%v\x1f", v)
		}
		h.Write([]byte{0x1e})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestPushTechniqueDigest: the digest a push computes without building the
// technique rows is the digest of those rows.
func TestPushTechniqueDigest(t *testing.T) {
	p := &Push{System: "s1", Name: "Sys <1>", Owner: "team\x1fa"}
	rows := []*threatRow{
		{Threat: Threat{ID: "T1", Title: "a", Element: "llm", Technique: "AML.T0051", Related: []string{"AML.T0054", "", "AML.T0051", "AML.T0054", "AML.T0043"}, Residual: "high", Status: "open"}},
		{Threat: Threat{ID: "T2", Technique: "AML.T0051"}, resolvedAt: sql.NullInt64{Int64: 1, Valid: true}},
		{Threat: Threat{ID: "T3", Title: "é", Related: []string{"AML.T0010", "AML.T0010"}, Status: "accepted"}},
		{Threat: Threat{ID: "T4"}},
	}
	for n := range len(rows) + 1 {
		want := techniqueDigest(techniqueRows(p, 7, rows[:n]))
		if got := pushTechniqueDigest(p, rows[:n]); got != want {
			t.Errorf("%d rows: digest %s, want %s", n, got, want)
		}
	}
	if len(techniqueRows(p, 7, rows)) != 4 {
		t.Errorf("rows %v", techniqueRows(p, 7, rows))
	}
}

// TestJSONList: jsonList writes what json.Marshal writes.
func TestJSONList(t *testing.T) {
	for _, l := range [][]string{nil, {}, {""}, {"aws", "gcp"}, {"a\"b"}, {"<x>&"}, {"é"}, {"\x7f", "\x1f"}, {"\xff"}, {"\u2028"}, {"a b", "c\\d"}} {
		want := "[]"
		if len(l) > 0 {
			b, _ := json.Marshal(l)
			want = string(b)
		}
		if got := jsonList(l); got != want {
			t.Errorf("jsonList(%q) = %s, want %s", l, got, want)
		}
	}
}
