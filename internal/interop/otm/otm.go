// Package otm reads and writes the Open Threat Model (OTM 0.2.0) JSON that
// IriusRisk, threatcl and other tools exchange. The writer exports a system
// with its derived threats and mitigations; what OTM has no field for is
// kept in "attributes" under mlthreat- keys, so the reader restores it and a
// model survives a round trip. The mapping is in docs/interop.md.
package otm

// Version is the OTM version written.
const Version = "0.2.0"

// Attribute keys the writer sets and the reader understands.
const (
	attrKind       = "mlthreat-kind"
	attrTrust      = "mlthreat-trust"
	attrExposure   = "mlthreat-exposure"
	attrOwner      = "mlthreat-owner"
	attrProps      = "mlthreat-props"
	attrClass      = "mlthreat-classification"
	attrPII        = "mlthreat-pii"
	attrProtocol   = "mlthreat-protocol"
	attrEncrypted  = "mlthreat-encrypted"
	attrAuth       = "mlthreat-authenticated"
	attrDerived    = "mlthreat-derived"  // a threat mlthreat derives; re-derived on import
	attrRecorded   = "mlthreat-recorded" // a threat written in the model's threats:
	attrControl    = "mlthreat-control"  // a control of the model
	attrCatalogue  = "mlthreat-catalogue"
	attrSynthetic  = "mlthreat-synthetic" // the zone holding components without one
	attrSystem     = "mlthreat-system"
	attrDecisions  = "mlthreat-risk-tracking"
	unzonedID      = "mlthreat-unzoned"
	trustUntrusted = 10
)

// Trust ratings the writer gives each trust level; the reader maps ratings
// back by the nearest level.
var trustRating = map[string]int{"untrusted": trustUntrusted, "partner": 40, "internal": 70, "restricted": 100}

// Confidentiality the writer gives each classification.
var confidentiality = map[string]int{"public": 0, "internal": 33, "confidential": 67, "restricted": 100}

// strideNames are the OTM category names of STRIDE letters.
var strideNames = map[string]string{"S": "Spoofing", "T": "Tampering", "R": "Repudiation", "I": "Information Disclosure", "D": "Denial of Service", "E": "Elevation of Privilege"}

// states maps mlthreat threat statuses to OTM threat states and back.
var threatState = map[string]string{"open": "exposed", "in-progress": "partly-mitigated", "mitigated": "mitigated", "accepted": "accepted", "false-positive": "not-applicable"}

var stateStatus = map[string]string{
	"exposed": "open", "expose": "open", "open": "open", "required": "open",
	"partly-mitigated": "in-progress", "partly-mitigate": "in-progress", "in-progress": "in-progress",
	"mitigated": "mitigated", "mitigate": "mitigated", "accepted": "accepted", "accept": "accepted",
	"not-applicable": "false-positive", "hidden": "false-positive", "false-positive": "false-positive",
}

// mitigationState maps a mitigation's status to the OTM state and back.
var mitigationState = map[string]string{"implemented": "implemented", "partial": "partly-implemented", "planned": "required", "missing": "recommended", "none": "rejected"}

var stateControl = map[string]string{
	"implemented": "implemented", "partly-implemented": "partial", "required": "planned", "recommended": "planned",
	"proposed": "planned", "rejected": "none", "not-applicable": "none",
}
