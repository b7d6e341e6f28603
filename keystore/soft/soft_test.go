package soft_test

import (
	"testing"

	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/keystore/keystoretest"
	"github.com/arcakv/arca/keystore/soft"
)

func TestConformance(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) keystore.Keystore { return soft.New(nil) })
}
