package audit

import (
	"errors"
	"os"
	"syscall"
)

// errNoAllocate: the filesystem cannot reserve space ahead of a file.
var errNoAllocate = errors.New("audit: space reservation not supported")

const fallocKeepSize = 0x1 // FALLOC_FL_KEEP_SIZE: allocate without changing the file's size

// allocate reserves n bytes from off in f without changing its size.
func allocate(f *os.File, off, n int64) error {
	err := syscall.Fallocate(int(f.Fd()), fallocKeepSize, off, n)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return errNoAllocate
	}
	return err
}
