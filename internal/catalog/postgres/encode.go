package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/catalog"
)

// storable reports whether PostgreSQL can store s as text: it must be valid
// UTF-8 (the catalog's databases are UTF8) without a NUL byte, which text
// cannot hold at all. SQLite would store either; here such a value is
// refused before anything is written, so that the transaction stays usable,
// and a lookup by such a value finds nothing without asking the server.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// checkText returns an error naming field unless every value is storable.
func checkText(field string, values ...string) error {
	for _, s := range values {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s %q is not valid UTF-8", field, s)
		}
		if strings.ContainsRune(s, 0) {
			return fmt.Errorf("%s %q contains a NUL byte", field, s)
		}
	}
	return nil
}

// maxIndexedText bounds the text of a SOUP entry that goes into the
// (base, version) index: a B-tree entry must fit in a third of a page
// (2,704 bytes). Real purls are a few hundred bytes at most.
const maxIndexedText = 2048

// packageIdent is the unique key of a SOUP package: the SHA-256 of its four
// fields, each prefixed with its length so that no two packages collide by
// shifting bytes from one field to the next.
func packageIdent(p catalog.SOUP) []byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{p.PURL, p.Name, p.Version, p.Base} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}
