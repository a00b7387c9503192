package main

import (
	"os"
	"testing"
)

// TestMain lets tests run this test binary as the duesight command itself
// (DUESIGHT_TEST_MAIN=1), so that process-level tests need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("DUESIGHT_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
