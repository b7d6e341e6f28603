//go:build !linux

package audit

import (
	"errors"
	"os"
)

var errNoAllocate = errors.New("audit: space reservation not supported")

func allocate(*os.File, int64, int64) error { return errNoAllocate }
