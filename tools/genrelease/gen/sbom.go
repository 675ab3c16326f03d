package gen

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
)

// CycloneDX 1.6 JSON, written one component at a time in the indented style
// of cdxgen. Every component has what the class C policy asks of SOUP:
// name, version, purl and hashes (designator), a supplier (manufacturer),
// licences, and evident's support-level and end-of-support properties.

type cdxEntity struct {
	Name string   `json:"name"`
	URL  []string `json:"url,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxLicense struct {
	License    *cdxLicenseID `json:"license,omitempty"`
	Expression string        `json:"expression,omitempty"`
}

type cdxLicenseID struct {
	ID string `json:"id"`
}

type cdxRef struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxComponent struct {
	Type               string        `json:"type"`
	BOMRef             string        `json:"bom-ref"`
	Supplier           *cdxEntity    `json:"supplier,omitempty"`
	Group              string        `json:"group,omitempty"`
	Name               string        `json:"name"`
	Version            string        `json:"version"`
	Description        string        `json:"description,omitempty"`
	Scope              string        `json:"scope,omitempty"`
	Hashes             []cdxHash     `json:"hashes,omitempty"`
	Licenses           []cdxLicense  `json:"licenses,omitempty"`
	Purl               string        `json:"purl,omitempty"`
	ExternalReferences []cdxRef      `json:"externalReferences,omitempty"`
	Properties         []cdxProperty `json:"properties,omitempty"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn,omitempty"`
}

var (
	licenseIDs  = []string{"MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "MPL-2.0", "Zlib", "LGPL-2.1-only", "EPL-2.0", "Unlicense"}
	expressions = []string{"Apache-2.0 OR MIT", "MIT OR Apache-2.0", "Apache-2.0 OR GPL-2.0-or-later", "BSD-3-Clause AND MIT"}
	suppliers   = []string{"Acme Embedded GmbH", "Nordic Tooling AS", "Open Source Community", "Example Labs Inc.", "Blue Harbor Software", "Kestrel Systems Ltd", "Fennec Data SARL", "Arm Limited", "Trusted Firmware (Linaro)", "The Apache Software Foundation"}
	words       = []string{"core", "io", "json", "http", "ble", "crypto", "log", "cbor", "flash", "time", "math", "dsp", "ui", "net", "codec", "util", "cache", "queue", "fmt", "test"}
	support     = []string{"vendor LTS", "community maintained", "commercial support contract", "community LTS; security fixes until end of support"}
)

func (g *generator) sboms() error {
	for i, c := range components {
		n := c.sbomSize
		if n == 0 {
			n = g.opts.SBOMComponents
		}
		rel := "sbom/" + c.short + ".cdx.json"
		w, closeFn, path, err := g.create(rel)
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(g.opts.Seed, 0x5b0+uint64(i)))
		if err := writeSBOM(w, rng, c, n); err != nil {
			closeFn()
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := closeFn(); err != nil {
			return err
		}
		g.p.SBOMs = append(g.p.SBOMs, path)
		g.p.SBOMComponents += n
	}
	return nil
}

func writeSBOM(w *bufio.Writer, rng *rand.Rand, c component, n int) error {
	uuid := make([]byte, 16)
	for i := range uuid {
		uuid[i] = byte(rng.Uint32())
	}
	uuid[6] = uuid[6]&0x0f | 0x40
	uuid[8] = uuid[8]&0x3f | 0x80
	h := hex.EncodeToString(uuid)
	meta := map[string]any{
		"timestamp":  "2026-11-20T09:14:02Z",
		"lifecycles": []map[string]string{{"phase": "build"}},
		"tools": map[string]any{"components": []map[string]string{
			{"type": "application", "name": "cdxgen", "version": "10.11.0"},
		}},
		"component": map[string]string{"type": "application", "bom-ref": "root", "name": c.name, "version": c.version},
		"supplier":  cdxEntity{Name: "Bench Medical Devices Inc.", URL: []string{"https://bench.example.com"}},
	}
	mb, err := json.MarshalIndent(meta, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.6\",\n  \"serialNumber\": \"urn:uuid:%s-%s-%s-%s-%s\",\n  \"version\": 1,\n",
		h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
	fmt.Fprintf(w, "  \"metadata\": %s,\n  \"components\": [", mb)

	refs := make([]string, n) // bom-refs, for the dependency graph
	hash := make([]byte, 32)
	for i := range n {
		comp := soupComponent(rng, c.ecosystem, i, hash)
		refs[i] = comp.BOMRef
		b, err := json.MarshalIndent(comp, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n    ")
		w.Write(b)
	}
	w.WriteString("\n  ],\n  \"dependencies\": [")
	// The dependency graph: the root depends on the first components, and
	// each component on up to three earlier ones (from disjoint ranges, so
	// no edge repeats). Written in batches, to keep memory flat.
	deps := []cdxDependency{{Ref: "root", DependsOn: refs[:min(n, 200)]}}
	written := 0
	for i, r := range refs {
		d := cdxDependency{Ref: r}
		for k := range rng.IntN(4) {
			if j := i - 1 - k*7 - rng.IntN(5); j >= 0 {
				d.DependsOn = append(d.DependsOn, refs[j])
			}
		}
		deps = append(deps, d)
		if len(deps) >= 1024 || i == n-1 {
			if err := writeDeps(w, deps, written == 0); err != nil {
				return err
			}
			written += len(deps)
			deps = deps[:0]
		}
	}
	w.WriteString("\n  ],\n  \"compositions\": [\n    {\n      \"aggregate\": \"complete\",\n      \"assemblies\": [\n        \"root\"\n      ]\n    }\n  ]\n}\n")
	return nil
}

// writeDeps writes a batch of dependency objects; first is true for the
// batch that opens the array.
func writeDeps(w *bufio.Writer, deps []cdxDependency, first bool) error {
	for i, d := range deps {
		b, err := json.MarshalIndent(d, "    ", "  ")
		if err != nil {
			return err
		}
		if !(first && i == 0) {
			w.WriteByte(',')
		}
		w.WriteString("\n    ")
		w.Write(b)
	}
	return nil
}

// soupComponent returns SOUP item i of an ecosystem, with every field the
// policy looks for. Names are unique (i is part of them), so bom-refs are.
func soupComponent(rng *rand.Rand, eco string, i int, hash []byte) cdxComponent {
	w1, w2 := words[rng.IntN(len(words))], words[rng.IntN(len(words))]
	name := fmt.Sprintf("%s-%s-%d", w1, w2, i)
	version := fmt.Sprintf("%d.%d.%d", rng.IntN(6), rng.IntN(30), rng.IntN(20))
	supplier := suppliers[rng.IntN(len(suppliers))]
	var group, purl, typ string
	switch eco {
	case "maven":
		group = "com." + w1 + "." + w2
		purl = fmt.Sprintf("pkg:maven/%s/%s@%s", group, name, version)
		typ = "library"
	case "npm":
		group = "@" + w1
		purl = fmt.Sprintf("pkg:npm/%s/%s@%s", url.PathEscape(group), name, version)
		typ = "library"
	default:
		group = w1
		purl = fmt.Sprintf("pkg:github/%s/%s@v%s", w1, name, version)
		typ = "library"
		if i%50 == 0 {
			typ = "framework"
		}
	}
	for k := range hash {
		hash[k] = byte(rng.Uint32())
	}
	c := cdxComponent{
		Type:        typ,
		BOMRef:      purl,
		Supplier:    &cdxEntity{Name: supplier, URL: []string{"https://" + w1 + ".example.org"}},
		Group:       group,
		Name:        name,
		Version:     version,
		Description: fmt.Sprintf("%s support for %s", w2, w1),
		Scope:       "required",
		Hashes:      []cdxHash{{Alg: "SHA-256", Content: hex.EncodeToString(hash)}},
		Purl:        purl,
		ExternalReferences: []cdxRef{
			{Type: "vcs", URL: fmt.Sprintf("https://github.com/%s/%s", w1, name)},
			{Type: "website", URL: fmt.Sprintf("https://%s.example.org/%s", w1, name)},
		},
		Properties: []cdxProperty{
			{Name: "cdx:lifecycle:milestone:endOfSupport", Value: fmt.Sprintf("20%d-%02d-%02d", 27+rng.IntN(6), 1+rng.IntN(12), 1+rng.IntN(28))},
			{Name: "evident:soup:supportLevel", Value: support[rng.IntN(len(support))]},
			{Name: "bench:index", Value: fmt.Sprint(i)},
		},
	}
	if i%10 == 0 {
		c.Hashes = append(c.Hashes, cdxHash{Alg: "SHA-512", Content: hex.EncodeToString(append(hash, hash...))})
	}
	if i%8 == 0 {
		c.Licenses = []cdxLicense{{Expression: expressions[rng.IntN(len(expressions))]}}
	} else {
		c.Licenses = []cdxLicense{{License: &cdxLicenseID{ID: licenseIDs[rng.IntN(len(licenseIDs))]}}}
	}
	return c
}
