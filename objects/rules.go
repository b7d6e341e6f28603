package objects

import (
	"encoding/hex"
	"io"
	"time"

	"github.com/arcakv/arca"
)

// Limits Azure applies to every kind of object.
const (
	MaxTags           = 15
	MaxTagNameLen     = 512
	MaxTagValueLen    = 256
	MaxBackupVersions = 500
)

// Sealer seals standalone blobs (backups) under the deployment's keys.
type Sealer interface {
	Seal(aad, plain []byte) ([]byte, error)
	Unseal(aad, blob []byte) ([]byte, error)
}

func badParam(format string, args ...any) error {
	return arca.Errorf(arca.KindInvalid, "BadParameter", format, args...)
}

// CheckTags validates tags against Azure's limits.
func CheckTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return badParam("Property tags has invalid value: a maximum of %d tags is allowed.", MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagNameLen {
			return badParam("Property tags has invalid value: tag names must be 1 to %d characters.", MaxTagNameLen)
		}
		if len(v) > MaxTagValueLen {
			return badParam("Property tags has invalid value: tag values must be at most %d characters.", MaxTagValueLen)
		}
	}
	return nil
}

// NewVersion returns a 32-hex-digit version id: 48 bits of the creation
// time in milliseconds, then 80 random bits. Ids look like Key Vault's, and
// because they grow with time a new version lands at the end of its
// object's key range in the store instead of at a random page.
func NewVersion(now time.Time, r io.Reader) (string, error) {
	b := make([]byte, 16)
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", arca.Internal(err)
	}
	return hex.EncodeToString(b), nil
}
