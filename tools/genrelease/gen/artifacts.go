package gen

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// artifactChunk is the buffer artifacts are streamed through.
const artifactChunk = 1 << 20

// artifacts writes Options.Artifacts files of pseudo-random content,
// assigned to the components in turn, totalling Options.ArtifactBytes.
func (g *generator) artifacts() error {
	n := g.opts.Artifacts
	each := g.opts.ArtifactBytes / int64(n)
	first := each + g.opts.ArtifactBytes%int64(n)
	buf := make([]byte, artifactChunk)
	perComp := make([]int, len(components))
	for i := range n {
		ci := i % len(components)
		c := components[ci]
		k := perComp[ci]
		perComp[ci]++
		ext := c.artifactExts[k%len(c.artifactExts)]
		name := c.artifactStem + ext
		if k >= len(c.artifactExts) {
			name = fmt.Sprintf("%s-%d%s", c.artifactStem, k/len(c.artifactExts)+1, ext)
		}
		size := each
		if i == 0 {
			size = first
		}
		rel := "build/" + c.short + "/" + name
		w, closeFn, path, err := g.create(rel)
		if err != nil {
			return err
		}
		if _, err := io.CopyBuffer(w, io.LimitReader(g.stream(uint64(i)), size), buf); err != nil {
			closeFn()
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := closeFn(); err != nil {
			return err
		}
		g.p.Artifacts = append(g.p.Artifacts, path)
		g.p.ArtifactBytes += size
	}
	return nil
}

// stream returns the endless pseudo-random byte stream of artifact i.
func (g *generator) stream(i uint64) io.Reader {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], g.opts.Seed)
	binary.LittleEndian.PutUint64(seed[8:], i)
	copy(seed[16:], "evident-artifact")
	return rand.NewChaCha8(seed)
}
