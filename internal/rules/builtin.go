package rules

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	builtin "github.com/mlthreat/mlthreat/rules"
)

// packsJSON is the built-in packs converted by go generate: decoding it is
// several times faster than parsing the YAML. It carries a hash of the YAML
// it came from; when the packs changed since, the YAML is parsed instead.
//
//go:embed packs.json
var packsJSON []byte

type jsonPacks struct {
	Source string     `json:"source"` // sha256 of the YAML packs
	Packs  []jsonPack `json:"packs"`
}

type jsonPack struct {
	File  string     `json:"file"`
	Pack  string     `json:"pack"`
	Rules []jsonRule `json:"rules"`
}

type jsonRule struct {
	Line int     `json:"line"`
	Rule rawRule `json:"rule"`
}

// builtinSource hashes the embedded YAML packs, in name order.
func builtinSource() (string, []string, error) {
	names, err := fs.Glob(builtin.Packs, "*.yaml")
	if err != nil {
		return "", nil, err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(builtin.Packs, n)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), names, nil
}

var (
	jsonOnce     sync.Once
	decodedPacks []jsonPack
	jsonOK       bool
)

// fromJSON returns the pre-converted packs when they match the YAML. The
// result is shared and only read.
func fromJSON() ([]jsonPack, bool) {
	jsonOnce.Do(func() {
		src, _, err := builtinSource()
		if err != nil {
			return
		}
		var p jsonPacks
		if err := json.Unmarshal(packsJSON, &p); err != nil || p.Source != src {
			return
		}
		decodedPacks, jsonOK = p.Packs, true
	})
	return decodedPacks, jsonOK
}

// PacksJSON converts the built-in YAML packs to the embedded JSON form. It
// rejects unknown keys, which the JSON path no longer sees.
func PacksJSON() ([]byte, error) {
	src, names, err := builtinSource()
	if err != nil {
		return nil, err
	}
	out := jsonPacks{Source: src}
	for _, n := range names {
		b, err := fs.ReadFile(builtin.Packs, n)
		if err != nil {
			return nil, err
		}
		raw, err := decodePack(b)
		if err != nil {
			return nil, fmt.Errorf("rules/%s: %v", n, err)
		}
		p := jsonPack{File: "rules/" + n, Pack: raw.Pack}
		for i := range raw.Rules {
			node := &raw.Rules[i]
			for j := 0; j+1 < len(node.Content); j += 2 {
				if k := node.Content[j].Value; !knownRuleKeys[k] && !strings.HasPrefix(k, "x-") {
					return nil, fmt.Errorf("rules/%s:%d: unknown key %q", n, node.Content[j].Line, k)
				}
			}
			var r rawRule
			if err := node.Decode(&r); err != nil {
				return nil, fmt.Errorf("rules/%s:%d: %v", n, node.Line, err)
			}
			p.Rules = append(p.Rules, jsonRule{Line: node.Line, Rule: r})
		}
		out.Packs = append(out.Packs, p)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
