package interop

// For the tests of the fast reader: both of ParseYAML's paths.
var (
	ParseFast = parseFast
	ParseSlow = parseSlow
)
