//go:build race

package threagile_test

func init() { raceEnabled = true }
