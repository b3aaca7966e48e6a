package server

import (
	"testing"

	"github.com/mlthreat/mlthreat/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
