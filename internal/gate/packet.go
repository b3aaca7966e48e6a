package gate

import (
	"fmt"

	"github.com/mlthreat/mlthreat/internal/analysis"
	"github.com/mlthreat/mlthreat/internal/gap"
)

// Packet is what the review board needs to decide on an escalation.
type Packet struct {
	System     PacketSystem      `json:"system"`
	Policy     string            `json:"policy"`
	Date       string            `json:"date"`
	Requested  string            `json:"decision_requested"`
	Reasons    []string          `json:"reasons"`
	ThreatSet  string            `json:"threat_set"`
	Approval   *ApprovalStatus   `json:"previous_decision,omitempty"`
	TopRisks   []PacketRisk      `json:"top_risks"`
	Precedents []PacketPrecedent `json:"precedents"`
	RMFGaps    []PacketGap       `json:"rmf_gaps"`
	Snippet    string            `json:"approval_snippet"`
}

// PacketSystem summarises the system.
type PacketSystem struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	File        string   `json:"file"`
	Owner       string   `json:"owner,omitempty"`
	Criticality string   `json:"criticality,omitempty"`
	Platforms   []string `json:"platforms"`
	Components  int      `json:"components"`
	Flows       int      `json:"flows"`
	OpenThreats int      `json:"open_threats"`
}

// PacketRisk is one top risk with its explanation.
type PacketRisk struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Target      string   `json:"target"`
	Technique   string   `json:"technique"`
	Severity    string   `json:"residual_severity"`
	Score       int      `json:"residual_score"`
	Likelihood  []string `json:"likelihood_factors"`
	Impact      []string `json:"impact_factors"`
	Residual    []string `json:"residual_factors"`
	Missing     []string `json:"missing_mitigations"`
	CaseStudies []string `json:"case_studies"`
	Rationale   string   `json:"rationale"`
}

// PacketPrecedent is an ATLAS case study that used the system's techniques.
type PacketPrecedent struct {
	ID         string   `json:"case_study"`
	Name       string   `json:"name"`
	Overlap    int      `json:"overlap"`
	Techniques []string `json:"techniques"`
}

// PacketGap is an RMF subcategory the system does not meet.
type PacketGap struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Title  string `json:"title"`
}

// BuildPacket assembles the review packet of an escalated result.
func BuildPacket(res *Result, r *analysis.Report, g *gap.Report) *Packet {
	s := r.System
	p := &Packet{
		System: PacketSystem{ID: s.Info.ID, Name: s.Info.Name, File: res.File, Owner: s.Info.Owner, Criticality: s.Info.Criticality,
			Platforms: append([]string{}, s.Info.Platforms...), Components: len(s.Components), Flows: len(s.Flows), OpenThreats: res.Threats},
		Policy: res.Policy, Date: r.Date, ThreatSet: res.ThreatSet, Approval: res.Approval,
		Requested:  "Approve (with conditions and an expiry), reject, or ask for changes to the system before it ships.",
		Reasons:    []string{},
		TopRisks:   []PacketRisk{},
		Precedents: []PacketPrecedent{},
		RMFGaps:    []PacketGap{},
	}
	for _, f := range res.Findings {
		if f.Verdict == Escalate {
			p.Reasons = append(p.Reasons, f.Message)
		}
	}
	for _, t := range r.Threats {
		if !isOpen(t) || len(p.TopRisks) == 10 {
			continue
		}
		risk := PacketRisk{ID: t.ID, Title: t.Rule.Title, Target: t.Target.ID(), Technique: t.Technique, Severity: t.Residual.Severity, Score: t.Residual.Score,
			Likelihood: nonNil(t.Likelihood.Factors), Impact: nonNil(t.Impact.Factors), Residual: nonNil(t.Residual.Factors), Missing: []string{},
			CaseStudies: nonNil(t.CaseStudies), Rationale: t.Rule.Rationale}
		for _, m := range t.Mitigations {
			if m.Status == "missing" || m.Status == "planned" {
				risk.Missing = append(risk.Missing, m.ID)
			}
		}
		p.TopRisks = append(p.TopRisks, risk)
	}
	for _, pr := range r.Precedent {
		if len(p.Precedents) == 5 {
			break
		}
		name := pr.CaseStudy
		if cs := r.Catalog.CaseStudy(pr.CaseStudy); cs != nil {
			name = cs.Name
		}
		p.Precedents = append(p.Precedents, PacketPrecedent{ID: pr.CaseStudy, Name: name, Overlap: pr.Overlap, Techniques: nonNil(pr.Techniques)})
	}
	if g != nil {
		for _, sc := range g.Subcategories {
			if sc.BelowTarget {
				p.RMFGaps = append(p.RMFGaps, PacketGap{ID: sc.ID, Status: sc.Status, Title: sc.Summary})
			}
		}
	}
	p.Snippet = fmt.Sprintf("approvals:\n  - by: NAME\n    decision: approved   # or rejected, changes-requested\n    date: %s\n    until: YYYY-MM-DD\n    threat_set: %s\n    conditions: []\n", r.Date, res.ThreatSet)
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
