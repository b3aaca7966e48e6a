package model

// For the tests of the fast reader: both of parse's paths.
var (
	ParseFast   = parseFast
	ParseYAMLv3 = parseYAMLv3
)
