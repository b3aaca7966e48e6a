package threagile

// technologies maps Threagile's technology values to mlthreat kinds. sure
// is false where the kind is a judgement call; the importer says so in a
// warning. Technologies not listed fall back to a guess from the words in
// the technology, the title and the description.
var technologies = map[string]struct {
	kind string
	sure bool
}{
	"unknown-technology":       {"application", false},
	"client-system":            {"actor", true},
	"browser":                  {"actor", true},
	"desktop":                  {"actor", true},
	"mobile-app":               {"application", false},
	"devops-client":            {"actor", true},
	"web-server":               {"application", true},
	"web-application":          {"application", true},
	"application-server":       {"application", true},
	"database":                 {"datastore", true},
	"file-server":              {"datastore", true},
	"local-file-system":        {"datastore", true},
	"erp":                      {"application", true},
	"cms":                      {"application", true},
	"web-service-rest":         {"application", true},
	"web-service-soap":         {"application", true},
	"ejb":                      {"application", true},
	"search-index":             {"datastore", true},
	"search-engine":            {"application", false},
	"service-registry":         {"application", true},
	"reverse-proxy":            {"application", true},
	"load-balancer":            {"application", true},
	"build-pipeline":           {"ci-cd", true},
	"sourcecode-repository":    {"ci-cd", false},
	"artifact-registry":        {"datastore", false},
	"code-inspection-platform": {"ci-cd", false},
	"monitoring":               {"monitoring", true},
	"ldap-server":              {"datastore", true},
	"container-platform":       {"compute", true},
	"batch-processing":         {"data-pipeline", false},
	"event-listener":           {"application", true},
	"identity-provider":        {"application", false},
	"identity-store-ldap":      {"datastore", true},
	"identity-store-database":  {"datastore", true},
	"tool":                     {"application", false},
	"cli":                      {"application", false},
	"task":                     {"application", false},
	"function":                 {"application", true},
	"gateway":                  {"application", true},
	"iot-device":               {"edge-device", true},
	"message-queue":            {"datastore", false},
	"stream-processing":        {"data-pipeline", true},
	"service-mesh":             {"application", false},
	"data-lake":                {"datastore", true},
	"big-data-platform":        {"data-pipeline", false},
	"report-engine":            {"application", true},
	"ai":                       {"model", false}, // decided per asset: model, inference-api or llm
	"mail-server":              {"application", true},
	"vault":                    {"datastore", true},
	"hsm":                      {"datastore", true},
	"waf":                      {"application", false},
	"ids":                      {"monitoring", false},
	"ips":                      {"application", false},
	"scheduler":                {"ci-cd", false},
	"mainframe":                {"compute", false},
	"block-storage":            {"datastore", true},
	"library":                  {"dependency", true},
}

// credentialStores hold secrets or identities: stores: [credentials].
var credentialStores = map[string]bool{"vault": true, "hsm": true, "identity-store-ldap": true, "identity-store-database": true, "ldap-server": true}

// encryptedProtocols and plainProtocols decide a flow's encrypted flag;
// protocols in neither leave it unset.
var encryptedProtocols = map[string]bool{
	"https": true, "wss": true, "reverse-proxy-web-protocol-encrypted": true, "jdbc-encrypted": true, "odbc-encrypted": true,
	"sql-access-protocol-encrypted": true, "nosql-access-protocol-encrypted": true, "binary-encrypted": true, "text-encrypted": true,
	"ssh": true, "ssh-tunnel": true, "smtp-encrypted": true, "pop3-encrypted": true, "imap-encrypted": true, "ftps": true, "sftp": true,
	"scp": true, "ldaps": true, "smb-encrypted": true, "iiop-encrypted": true, "jrmp-encrypted": true,
}

var plainProtocols = map[string]bool{
	"http": true, "ws": true, "reverse-proxy-web-protocol": true, "mqtt": true, "jdbc": true, "odbc": true, "sql-access-protocol": true,
	"nosql-access-protocol": true, "binary": true, "text": true, "smtp": true, "pop3": true, "imap": true, "ftp": true, "ldap": true,
	"jms": true, "nfs": true, "smb": true, "nrpe": true, "xmpp": true, "iiop": true, "jrmp": true,
}

// confidentiality maps Threagile's five levels onto mlthreat's four.
// Threagile ranks restricted below confidential; mlthreat's restricted is
// its highest level, so Threagile's restricted becomes confidential and
// strictly-confidential becomes restricted.
var confidentiality = map[string]string{
	"public": "public", "internal": "internal", "restricted": "confidential",
	"confidential": "confidential", "strictly-confidential": "restricted",
}

// criticality maps business_criticality onto system.criticality.
var criticality = map[string]string{
	"archive": "low", "operational": "low", "important": "medium", "critical": "high", "mission-critical": "critical",
}

var strideLetters = map[string]string{
	"spoofing": "S", "tampering": "T", "repudiation": "R", "information-disclosure": "I",
	"denial-of-service": "D", "elevation-of-privilege": "E",
}

var likelihoods = map[string]int{"unlikely": 2, "likely": 3, "very-likely": 4, "frequent": 5}
var impacts = map[string]int{"low": 2, "medium": 3, "high": 4, "very-high": 5}
