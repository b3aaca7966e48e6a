// Package threatdragon reads OWASP Threat Dragon models (version 2 files,
// and the version 1 files Threat Dragon still opens) into mlthreat's
// system model, and writes a report as a Threat Dragon 2 model so the
// diagram can be drawn and edited there. What Threat Dragon has no field
// for travels in each cell's data under "mlthreat". The mapping is in
// docs/interop.md.
package threatdragon

// Version is the Threat Dragon file version written.
const Version = "2.3.0"

// storeKinds are drawn as Threat Dragon stores; actors as actors; every
// other kind as a process.
var storeKinds = map[string]bool{"datastore": true, "dataset": true, "feature-store": true, "vector-store": true, "memory": true, "model-registry": true}

// strideTypes are Threat Dragon's STRIDE threat types by letter.
var strideTypes = map[string]string{"S": "Spoofing", "T": "Tampering", "R": "Repudiation", "I": "Information disclosure", "D": "Denial of service", "E": "Elevation of privilege"}

var severities = map[string]string{"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
