package catalog

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestGobFormMatchesJSON(t *testing.T) {
	fromJSON, err := Decode(embedded)
	if err != nil {
		t.Fatal(err)
	}
	fromGob, err := DecodeGob(embeddedGob)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromGob)
	if !bytes.Equal(a, b) {
		t.Fatal("catalog.gob is out of date with catalog.json; run go generate ./internal/catalog")
	}
	again, err := EncodeGob(fromJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, embeddedGob) {
		t.Fatal("catalog.gob is not byte-stable; run go generate ./internal/catalog")
	}
}
