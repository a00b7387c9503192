package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duesight/duesight/data/csvio"
)

// TestReadmeMappingExamplesParse keeps the README's mapping examples valid.
func TestReadmeMappingExamplesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, part := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if !strings.Contains(block, "sources:") {
			continue
		}
		blocks++
		if _, err := csvio.ParseMapping("README.md", []byte(block)); err != nil {
			t.Errorf("README mapping example does not parse: %v\n%s", err, block)
		}
	}
	if blocks == 0 {
		t.Fatal("README has no mapping example")
	}
}
