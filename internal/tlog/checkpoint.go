package tlog

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): the log's origin, a tree size and the
// RFC 6962 root of that many leaves, as "<origin>\n<size>\n<base64 root>\n".
// Extension lines are neither written nor accepted.
//
// A checkpoint is signed as a note (https://c2sp.org/signed-note) by a key
// whose name is the origin.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Marshal returns the checkpoint body. It does not validate c; SignCheckpoint
// does.
func (c Checkpoint) Marshal() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// validate checks what Marshal cannot express or a reader would reject.
func (c Checkpoint) validate() error {
	if err := checkOrigin(c.Origin); err != nil {
		return err
	}
	if len(c.Root) != HashSize {
		return errorf(ErrMalformed, "checkpoint root has %d bytes, want %d", len(c.Root), HashSize)
	}
	if c.Size == 0 && !bytes.Equal(c.Root, EmptyRoot()) {
		return errorf(ErrMalformed, "checkpoint of the empty tree has root %x, want %x", c.Root, EmptyRoot())
	}
	return nil
}

// SignCheckpoint returns c as a note signed by s. The signer's name must be
// c.Origin: that is how a verifier knows which log a checkpoint is for.
func SignCheckpoint(c Checkpoint, s note.Signer) (string, error) {
	if s == nil {
		return "", errors.New("sign checkpoint: no signer")
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("sign checkpoint: %w", err)
	}
	if s.Name() != c.Origin {
		return "", fmt.Errorf("sign checkpoint: key %q cannot sign for log %q: the key name must be the origin", s.Name(), c.Origin)
	}
	b, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s)
	if err != nil {
		return "", fmt.Errorf("sign checkpoint: %w", err)
	}
	return string(b), nil
}

// OpenCheckpoint verifies that signed is a note signed by v (other
// signatures are allowed and ignored) and parses its text strictly: exactly
// the three lines Marshal writes, a decimal size without leading zeros, a
// canonical base64 root of HashSize bytes, and an origin equal to v.Name().
//
// A note without a signature by v, or with a bad one: an error wrapping
// ErrVerification. Bytes that are not a checkpoint note: ErrMalformed.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, errors.New("open checkpoint: no verifier")
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return Checkpoint{}, errorf(ErrVerification, "checkpoint is not signed by log key %s+%08x%s", v.Name(), v.KeyHash(), signedBy(unverified.Note))
		case errors.As(err, &invalid):
			return Checkpoint{}, errorf(ErrVerification, "checkpoint has an invalid signature by log key %s+%08x", invalid.Name, invalid.Hash)
		default:
			return Checkpoint{}, errorf(ErrMalformed, "checkpoint is not a signed note (text, a blank line, then \"— <key name> <signature>\" lines): %w", err)
		}
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		// Unreachable with note.Open, which only accepts a signature by a key
		// of that name, but the origin is what a checkpoint is about.
		return Checkpoint{}, errorf(ErrVerification, "checkpoint is for log %q, want %q", c.Origin, v.Name())
	}
	return c, nil
}

// signedBy describes the signatures a note carries that were not checked.
func signedBy(n *note.Note) string {
	if n == nil || len(n.UnverifiedSigs) == 0 {
		return ""
	}
	names := make([]string, len(n.UnverifiedSigs))
	for i, s := range n.UnverifiedSigs {
		names[i] = fmt.Sprintf("%s+%08x", s.Name, s.Hash)
	}
	return " (signed by " + strings.Join(names, ", ") + ")"
}

// parseCheckpoint parses a checkpoint body strictly.
func parseCheckpoint(text string) (Checkpoint, error) {
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return Checkpoint{}, errorf(ErrMalformed, "checkpoint does not end with a newline")
	}
	lines := strings.Split(body, "\n")
	if len(lines) != 3 {
		return Checkpoint{}, errorf(ErrMalformed, "checkpoint has %d lines, want 3 (origin, size, root; extension lines are not accepted)", len(lines))
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if err := checkOrigin(origin); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint line 1: %w", err)
	}
	size, err := strconv.ParseUint(sizeText, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeText {
		return Checkpoint{}, errorf(ErrMalformed, "checkpoint line 2: tree size %q is not a decimal number without sign or leading zeros", sizeText)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(rootText)
	if err != nil || base64.StdEncoding.EncodeToString(root) != rootText {
		return Checkpoint{}, errorf(ErrMalformed, "checkpoint line 3: root %q is not canonical base64", rootText)
	}
	c := Checkpoint{Origin: origin, Size: size, Root: root}
	if err := c.validate(); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint line 3: %w", err)
	}
	return c, nil
}

// checkOrigin accepts a log origin that is also a valid note key name:
// non-empty UTF-8 without spaces, control characters or "+". C2SP asks for a
// schema-less URL such as "evident.example.com/log"; that is not enforced.
func checkOrigin(origin string) error {
	if origin == "" {
		return errorf(ErrMalformed, "log origin is empty")
	}
	if !utf8.ValidString(origin) {
		return errorf(ErrMalformed, "log origin %q is not valid UTF-8", origin)
	}
	for _, r := range origin {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '+' {
			return errorf(ErrMalformed, "log origin %q contains %q; it must not contain spaces, control characters or '+'", origin, r)
		}
	}
	return nil
}

// GenerateKey returns a new Ed25519 note key pair for the log origin, in the
// text forms NewSigner and NewVerifier read:
// "PRIVATE+KEY+<origin>+<hash>+<base64>" and "<origin>+<hash>+<base64>".
func GenerateKey(origin string) (signerKey, verifierKey string, err error) {
	if err := checkOrigin(origin); err != nil {
		return "", "", fmt.Errorf("generate log key: %w", err)
	}
	return note.GenerateKey(rand.Reader, origin)
}

// NewSigner parses a signer key made by GenerateKey. Surrounding white space
// (a trailing newline in a key file) is ignored. The error never contains the
// key.
func NewSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, errorf(ErrMalformed, "log signing key: %s; want PRIVATE+KEY+<origin>+<hash>+<base64>, as made by GenerateKey", keyProblem(err))
	}
	if err := checkOrigin(s.Name()); err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	return s, nil
}

// NewVerifier parses a verifier key made by GenerateKey. Surrounding white
// space is ignored.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		name, _, _ := strings.Cut(strings.TrimSpace(vkey), "+")
		return nil, errorf(ErrMalformed, "log verifier key %q: %s; want <origin>+<hash>+<base64>, as made by GenerateKey", name, keyProblem(err))
	}
	if err := checkOrigin(v.Name()); err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	return v, nil
}

// keyProblem rewords note's key parsing errors, which call every key a
// "verifier".
func keyProblem(err error) string {
	switch err.Error() {
	case "malformed verifier id":
		return "malformed"
	case "unknown verifier algorithm":
		return "unsupported algorithm, only Ed25519 keys are supported"
	case "invalid verifier hash":
		return "the key hash does not match the name and key"
	}
	return err.Error()
}
