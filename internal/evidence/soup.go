package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// SOUPEntry is one item of software of unknown provenance, normalised from a
// component of an SBOM (REGULATORY.md: SOUP record). A SOUP list is a JSON
// Lines file of entries, written by the collector and indexed by the archive,
// which thereby never parses a third-party SBOM format itself.
type SOUPEntry struct {
	BOMRef       string   `json:"bomRef,omitempty"`
	Type         string   `json:"type,omitempty"` // library, framework, operating-system, firmware, ...
	Group        string   `json:"group,omitempty"`
	Name         string   `json:"name"`
	Version      string   `json:"version,omitempty"`
	Manufacturer string   `json:"manufacturer,omitempty"` // manufacturer, else supplier, else author
	PURL         string   `json:"purl,omitempty"`
	CPE          string   `json:"cpe,omitempty"`
	Hashes       []Hash   `json:"hashes,omitempty"`
	Licenses     []string `json:"licenses,omitempty"`
	EndOfSupport string   `json:"endOfSupport,omitempty"` // cdx:lifecycle:milestone:endOfSupport
	SupportLevel string   `json:"supportLevel,omitempty"` // evident:soup:supportLevel
}

// Hash is an algorithm and a hex value as the SBOM states it.
type Hash struct {
	Alg   string `json:"alg"`
	Value string `json:"value"`
}

// Title returns "group/name" or the name alone.
func (e SOUPEntry) Title() string {
	if e.Group == "" {
		return e.Name
	}
	return e.Group + "/" + e.Name
}

// Label returns "title@version" for reports.
func (e SOUPEntry) Label() string {
	if e.Version == "" {
		return e.Title()
	}
	return e.Title() + "@" + e.Version
}

// HasDesignator reports whether the entry is uniquely identified: a version
// plus a purl, a cpe or a hash (IEC 62304 8.1.2 "unique designator").
func (e SOUPEntry) HasDesignator() bool {
	return e.Version != "" && (e.PURL != "" || e.CPE != "" || len(e.Hashes) > 0)
}

// WriteSOUPLine writes one entry as a JSON line.
func WriteSOUPLine(w io.Writer, e SOUPEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// MaxSOUPLine bounds one line of a SOUP list.
const MaxSOUPLine = 1 << 20

// ReadSOUP streams a SOUP list, calling fn for every entry. Lines are decoded
// strictly; an error names the line. An entry may lack any field, the name
// included: an SBOM may say that little, and the policy reports the gap.
func ReadSOUP(r io.Reader, fn func(SOUPEntry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxSOUPLine)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e SOUPEntry
		if err := DecodeStrictJSON(bytes.NewReader(sc.Bytes()), &e, MaxSOUPLine); err != nil {
			return Errorf(KindInvalid, "SOUP list line %d: %v", line, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return Errorf(KindInvalid, "SOUP list line %d: %v", line+1, err)
	}
	return nil
}
