package threagile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/mlthreat/mlthreat/internal/model"
)

// technologyOf is the Threagile technology written for each kind. Each
// asset also carries the tag mlthreat:KIND, so a round trip keeps the kind.
var technologyOf = map[string]string{
	"actor": "browser", "data-source": "web-service-rest", "dataset": "data-lake", "data-pipeline": "batch-processing",
	"labeling": "tool", "feature-store": "database", "training": "batch-processing", "notebook": "devops-client",
	"experiment-tracking": "web-application", "model-registry": "artifact-registry", "model": "ai", "inference-api": "ai",
	"preprocessing": "function", "postprocessing": "function", "llm": "ai", "prompt": "library", "guardrail": "waf",
	"vector-store": "search-index", "retriever": "search-engine", "agent": "ai", "tool": "function",
	"mcp-server": "web-service-rest", "memory": "database", "feedback": "web-application", "datastore": "database",
	"monitoring": "monitoring", "application": "web-application", "ci-cd": "build-pipeline", "dependency": "library",
	"compute": "container-platform", "sensor": "iot-device", "edge-device": "iot-device",
}

var storeKinds = map[string]bool{"dataset": true, "feature-store": true, "model-registry": true, "vector-store": true, "memory": true, "datastore": true}

var confidentialityOf = map[string]string{"public": "public", "internal": "internal", "confidential": "confidential", "restricted": "strictly-confidential"}

var criticalityOf = map[string]string{"low": "operational", "medium": "important", "high": "critical", "critical": "mission-critical"}

var threagileProtocols = map[string]bool{}

func init() {
	for p := range encryptedProtocols {
		threagileProtocols[p] = true
	}
	for p := range plainProtocols {
		threagileProtocols[p] = true
	}
}

// Write writes s as a Threagile model (threagile_version 1.0.0) that
// Threagile itself can analyse: zones become trust boundaries (untrusted
// zones stay outside, on the internet), components technical assets,
// flows communication links and data items data assets.
func Write(w io.Writer, s *model.System) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	trust := map[string]string{}
	for _, z := range s.Zones {
		trust[z.ID] = z.Trust
	}
	tags := map[string]bool{}
	for _, c := range s.Components {
		tags[KindTag+c.Kind] = true
		for _, t := range c.Tags {
			tags[tagOf(t)] = true
		}
	}
	crit := criticalityOf[s.Info.Criticality]
	if crit == "" {
		crit = "important"
	}
	p("threagile_version: 1.0.0\ntitle: %s\ndate: 2026-01-01\nauthor:\n  name: %s\nbusiness_criticality: %s\n", q(s.Info.Name), q(orDefault(s.Info.Owner, "mlthreat")), crit)
	p("business_overview:\n  description: %s\n  images: []\ntechnical_overview:\n  description: %s\n  images: []\n", q(s.Info.Description), q("Written by mlthreat gen"))
	p("questions: {}\nabuse_cases: {}\nsecurity_requirements: {}\n")
	p("tags_available:\n")
	for _, t := range sortedSet(tags) {
		p("  - %s\n", q(t))
	}
	p("data_assets:\n")
	for _, d := range s.Data {
		conf := confidentialityOf[d.Classification]
		if conf == "" {
			conf = "internal"
		}
		p("  %s:\n    id: %s\n    description: %s\n    usage: business\n    tags: []\n    origin: \"\"\n    owner: \"\"\n    quantity: many\n    confidentiality: %s\n    integrity: important\n    availability: important\n    justification_cia_rating: \"\"\n",
			q(orDefault(d.Name, d.ID)+" ("+d.ID+")"), d.ID, q(d.Description), conf)
	}
	out := map[string][]*model.Flow{}
	for _, f := range s.Flows {
		out[f.From] = append(out[f.From], f)
	}
	stored := map[string][]string{}
	processed := map[string][]string{}
	byID := make(map[string]*model.Component, len(s.Components))
	for _, c := range s.Components {
		if byID[c.ID] == nil {
			byID[c.ID] = c // the first, as s.Component gives it
		}
	}
	for _, f := range s.Flows {
		for _, d := range f.Data {
			processed[f.From] = appendUnique(processed[f.From], d)
			processed[f.To] = appendUnique(processed[f.To], d)
			if to := byID[f.To]; to != nil && storeKinds[to.Kind] {
				stored[f.To] = appendUnique(stored[f.To], d)
			}
		}
	}
	p("technical_assets:\n")
	for _, c := range s.Components {
		outside := trust[c.Zone] == "untrusted" || trust[c.Zone] == "partner"
		typ := "process"
		switch {
		case c.Kind == "actor" || (outside && c.Kind == "data-source"):
			typ = "external-entity"
		case storeKinds[c.Kind]:
			typ = "datastore"
		}
		internet := c.Exposure == "internet" || trust[c.Zone] == "untrusted"
		enc := "none"
		if v, _ := c.Props["encryption_at_rest"].(bool); v {
			enc = "transparent"
		}
		ctags := []string{KindTag + c.Kind}
		for _, t := range c.Tags {
			ctags = append(ctags, tagOf(t))
		}
		p("  %s:\n    id: %s\n    description: %s\n    type: %s\n    usage: business\n    used_as_client_by_human: %t\n    out_of_scope: false\n    justification_out_of_scope: \"\"\n    size: component\n    technology: %s\n    tags: [%s]\n    internet: %t\n    machine: virtual\n    encryption: %s\n    owner: %s\n    confidentiality: internal\n    integrity: important\n    availability: important\n    justification_cia_rating: \"\"\n    multi_tenant: false\n    redundant: false\n    custom_developed_parts: true\n    data_assets_processed: [%s]\n    data_assets_stored: [%s]\n    data_formats_accepted: [json]\n",
			q(orDefault(c.Name, c.ID)+" ("+c.ID+")"), c.ID, q(c.Description), typ, c.Kind == "actor", technologyOf[c.Kind], joinQ(ctags), internet, enc,
			q(c.Owner), strings.Join(processed[c.ID], ", "), strings.Join(stored[c.ID], ", "))
		if len(out[c.ID]) == 0 {
			p("    communication_links: {}\n")
			continue
		}
		p("    communication_links:\n")
		for _, f := range out[c.ID] {
			proto := strings.ToLower(f.Protocol)
			if !threagileProtocols[proto] {
				switch {
				case proto == "grpc" || proto == "http2" || proto == "h2":
					proto = "binary-encrypted"
				case f.Encrypted != nil && *f.Encrypted:
					proto = "binary-encrypted"
				case f.Encrypted != nil:
					proto = "binary"
				default:
					proto = "unknown-protocol"
				}
			}
			auth, authz := "none", "none"
			if f.Authenticated != nil && *f.Authenticated {
				auth, authz = "token", "technical-user"
			}
			received := ""
			if f.Bidirectional {
				received = strings.Join(f.Data, ", ")
			}
			p("      %s:\n        target: %s\n        description: %s\n        protocol: %s\n        authentication: %s\n        authorization: %s\n        tags: []\n        vpn: false\n        ip_filtered: false\n        readonly: false\n        usage: business\n        data_assets_sent: [%s]\n        data_assets_received: [%s]\n",
				q(f.ID), f.To, q(f.Description), proto, auth, authz, strings.Join(f.Data, ", "), received)
		}
	}
	p("trust_boundaries:\n")
	n := 0
	for _, z := range s.Zones {
		if z.Trust == "untrusted" {
			continue
		}
		var inside []string
		for _, c := range s.Components {
			if c.Zone == z.ID {
				inside = append(inside, c.ID)
			}
		}
		typ := "network-cloud-security-group"
		if z.Trust == "restricted" {
			typ = "execution-environment"
		}
		p("  %s:\n    id: %s\n    description: %s\n    type: %s\n    tags: []\n    technical_assets_inside: [%s]\n    trust_boundaries_nested: []\n",
			q(orDefault(z.Name, z.ID)+" ("+z.ID+")"), z.ID, q(orDefault(z.Description, z.Trust+" zone")), typ, strings.Join(inside, ", "))
		n++
	}
	if n == 0 {
		p("  {}\n")
	}
	p("shared_runtimes: {}\nindividual_risk_categories: {}\nrisk_tracking: {}\n")
	return bw.Flush()
}

// tagOf makes a tag Threagile accepts: lower case, no spaces.
func tagOf(t string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(t)), " ", "-")
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func joinQ(l []string) string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func appendUnique(l []string, v string) []string {
	if slices.Contains(l, v) {
		return l
	}
	return append(l, v)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
