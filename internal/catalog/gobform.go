package catalog

import (
	"bytes"
	"encoding/gob"
	"sort"
)

// The binary decodes the catalogue from a gob form, several times faster
// than JSON; catalog.json stays the reviewable source. Maps are stored as
// sorted pairs so the file is byte-stable from one generation to the next.

type pair struct{ K, V string }

type gobCatalog struct {
	Versions    []pair
	OWASPLatest []pair
	C           Catalog // with the maps cleared
}

func sortedPairs(m map[string]string) []pair {
	out := make([]pair, 0, len(m))
	for k, v := range m {
		out = append(out, pair{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// EncodeGob writes the gob form of a catalogue.
func EncodeGob(c *Catalog) ([]byte, error) {
	g := gobCatalog{Versions: sortedPairs(c.Versions), OWASPLatest: sortedPairs(c.OWASPLatest), C: *c}
	g.C.Versions, g.C.OWASPLatest, g.C.idx = nil, nil, nil
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&g); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeGob reads the gob form.
func DecodeGob(b []byte) (*Catalog, error) {
	var g gobCatalog
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&g); err != nil {
		return nil, err
	}
	c := g.C
	c.Versions, c.OWASPLatest = map[string]string{}, map[string]string{}
	for _, p := range g.Versions {
		c.Versions[p.K] = p.V
	}
	for _, p := range g.OWASPLatest {
		c.OWASPLatest[p.K] = p.V
	}
	c.Reindex()
	return &c, nil
}
