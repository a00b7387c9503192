package datatest_test

import (
	"testing"

	"github.com/duesight/duesight/data"
	"github.com/duesight/duesight/data/datatest"
)

func TestMemStoreConformance(t *testing.T) {
	datatest.Run(t, datatest.Harness{Open: func(t *testing.T) data.Store { return datatest.NewMemStore() }})
}
