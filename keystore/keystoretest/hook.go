package keystoretest

import (
	"context"

	"github.com/arcakv/arca/keystore"
)

// BeforeCreate is a Keystore whose first Create runs Before first: tests
// use it to stop a service between deciding to create a key version and
// writing it (and to let another node act in between).
type BeforeCreate struct {
	keystore.Keystore
	Before func()
}

// Create runs Before once (the first time), then the wrapped Create.
func (h *BeforeCreate) Create(ctx context.Context, spec keystore.Spec) (*keystore.Key, error) {
	if f := h.Before; f != nil {
		h.Before = nil
		f()
	}
	return h.Keystore.Create(ctx, spec)
}
